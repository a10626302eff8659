/** `capstan tasks render-pod`: the exact manifest of a pod task, with identity labels, and clear refusals. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { runCapstan } from './capstan.ts';

const DAG = `
import { dag, KubernetesPodOperator, BashOperator } from 'capstan';
export default dag({ dagId: 'pods', schedule: null }, () => {
  new KubernetesPodOperator({
    taskId: 'train',
    image: 'ghcr.io/example/train:1.2',
    cmds: ['python', 'train.py'],
    arguments: ['--epochs', '3'],
    namespace: 'ml',
    env: { MODE: 'fast' },
    containerResources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { 'nvidia.com/gpu': '1' } },
    labels: { team: 'ml' },
  });
  new BashOperator({ taskId: 'plain', bashCommand: 'true' });
});
`;

describe('tasks render-pod', () => {
  let home = '';
  let url = '';
  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'capstan-render-pod-'));
    url = `sqlite://${join(home, 'capstan.db')}`;
    mkdirSync(join(home, 'dags'), { recursive: true });
    writeFileSync(join(home, 'dags', 'pods.ts'), DAG);
    assert.equal((await runCapstan(['db', 'migrate'], home, url)).code, 0);
    const parsed = await runCapstan(['dag-processor', '--once'], home, url);
    assert.equal(parsed.code, 0, parsed.stderr);
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  test('prints the manifest with the task identity, image, command, env, resources and labels', async () => {
    const r = await runCapstan(['tasks', 'render-pod', 'pods', 'train', '--run-id', 'manual__2026-01-01', '--try', '2'], home, url);
    assert.equal(r.code, 0, r.stderr);
    const pod = parse(r.stdout) as {
      metadata: { namespace: string; labels: Record<string, string>; name: string };
      spec: { containers: Array<{ name: string; image: string; command: string[]; args: string[]; env: Array<{ name: string; value: string }>; resources: unknown }> };
    };
    assert.equal(pod.metadata.namespace, 'ml');
    assert.equal(pod.metadata.labels['capstan.dev/dag-id'], 'pods');
    assert.equal(pod.metadata.labels['capstan.dev/task-id'], 'train');
    assert.equal(pod.metadata.labels['capstan.dev/try-number'], '2');
    assert.equal(pod.metadata.labels.team, 'ml');
    assert.match(pod.metadata.name, /^train-[a-z0-9]+$/);
    const base = pod.spec.containers.find((c) => c.name === 'base');
    assert.equal(base?.image, 'ghcr.io/example/train:1.2');
    assert.deepEqual(base?.command, ['python', 'train.py']);
    assert.deepEqual(base?.args, ['--epochs', '3']);
    assert.deepEqual(base?.env, [{ name: 'MODE', value: 'fast' }]);
    assert.deepEqual(base?.resources, { requests: { cpu: '500m', memory: '1Gi' }, limits: { 'nvidia.com/gpu': '1' } });
  });

  test('refuses a task that is not a pod task, and a bad --try', async () => {
    const plain = await runCapstan(['tasks', 'render-pod', 'pods', 'plain'], home, url);
    assert.equal(plain.code, 2);
    assert.match(plain.stderr, /task 'plain' is a BashOperator, not a KubernetesPodOperator/);
    const badTry = await runCapstan(['tasks', 'render-pod', 'pods', 'train', '--try', '0'], home, url);
    assert.equal(badTry.code, 2);
    assert.match(badTry.stderr, /--try must be a whole number ≥ 1/);
    const missing = await runCapstan(['tasks', 'render-pod', 'pods', 'nope'], home, url);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /has no task 'nope'/);
  });
});
