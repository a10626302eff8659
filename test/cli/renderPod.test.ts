/**
 * `capstan tasks render-pod`: the exact manifest of a pod, Job or Spark task, with identity labels, its templates
 * rendered for a run (or, with --raw, shown as written and labelled so), and clear refusals.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { runCapstan } from './capstan.ts';

const DAG = `
import { dag, KubernetesPodOperator, KubernetesJobOperator, SparkKubernetesOperator, BashOperator } from 'capstan';
export default dag({ dagId: 'pods', schedule: null }, () => {
  new KubernetesPodOperator({
    taskId: 'train',
    image: 'ghcr.io/example/train:1.2',
    cmds: ['python', 'train.py'],
    arguments: ['--epochs', '3', '--date', '{{ ds }}'],
    namespace: 'ml',
    env: { MODE: 'fast' },
    containerResources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { 'nvidia.com/gpu': '1' } },
    labels: { team: 'ml' },
  });
  new BashOperator({ taskId: 'plain', bashCommand: 'true' });
  new KubernetesJobOperator({ taskId: 'shards', image: 'busybox:1.37', cmds: ['echo', '{{ run_id }}'], completions: 3, parallelism: 2, completionMode: 'Indexed' });
  new SparkKubernetesOperator({ taskId: 'pi', image: 'spark:3.5.3', codePath: 'local:///pi.py', templateSpec: { spark: { spec: { type: 'Python', arguments: ['{{ ds }}'] } } } });
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
    const r = await runCapstan(['tasks', 'render-pod', 'pods', 'train', '--logical-date', '2026-01-01T00:00:00Z', '--try', '2'], home, url);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# rendered for run manual__2026-01-01/);
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
    assert.deepEqual(base?.args, ['--epochs', '3', '--date', '2026-01-01']);
    assert.deepEqual(base?.env, [{ name: 'MODE', value: 'fast' }]);
    assert.deepEqual(base?.resources, { requests: { cpu: '500m', memory: '1Gi' }, limits: { 'nvidia.com/gpu': '1' } });
  });

  test('--raw prints the templates as written, and says so', async () => {
    const r = await runCapstan(['tasks', 'render-pod', 'pods', 'train', '--raw'], home, url);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# templates not rendered \(--raw\)/);
    const pod = parse(r.stdout) as { spec: { containers: Array<{ name: string; args: string[] }> } };
    assert.deepEqual(pod.spec.containers.find((c) => c.name === 'base')?.args, ['--epochs', '3', '--date', '{{ ds }}']);
  });

  test('Job and Spark tasks: their manifests, rendered', async () => {
    const job = await runCapstan(['tasks', 'render-pod', 'pods', 'shards', '--logical-date', '2026-02-03T00:00:00Z'], home, url);
    assert.equal(job.code, 0, job.stderr);
    const j = parse(job.stdout) as { kind: string; spec: { completions: number; template: { spec: { containers: Array<{ command: string[] }> } } } };
    assert.equal(j.kind, 'Job');
    assert.equal(j.spec.completions, 3);
    assert.match(j.spec.template.spec.containers[0]?.command[1] ?? '', /^manual__2026-02-03/);
    const spark = await runCapstan(['tasks', 'render-pod', 'pods', 'pi', '--logical-date', '2026-02-03T00:00:00Z'], home, url);
    assert.equal(spark.code, 0, spark.stderr);
    const a = parse(spark.stdout) as { kind: string; spec: { arguments: string[]; mainApplicationFile: string } };
    assert.equal(a.kind, 'SparkApplication');
    assert.deepEqual(a.spec.arguments, ['2026-02-03']);
    assert.equal(a.spec.mainApplicationFile, 'local:///pi.py');
  });

  test('refuses a task that is not a pod task, and a bad --try', async () => {
    const plain = await runCapstan(['tasks', 'render-pod', 'pods', 'plain'], home, url);
    assert.equal(plain.code, 2);
    assert.match(plain.stderr, /task 'plain' is a BashOperator, not a KubernetesPodOperator, KubernetesJobOperator or SparkKubernetesOperator/);
    const noRun = await runCapstan(['tasks', 'render-pod', 'pods', 'train', '--run-id', 'manual__nope'], home, url);
    assert.equal(noRun.code, 2);
    assert.match(noRun.stderr, /DAG 'pods' has no run 'manual__nope'/);
    const badTry = await runCapstan(['tasks', 'render-pod', 'pods', 'train', '--try', '0'], home, url);
    assert.equal(badTry.code, 2);
    assert.match(badTry.stderr, /--try must be a whole number ≥ 1/);
    const missing = await runCapstan(['tasks', 'render-pod', 'pods', 'nope'], home, url);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /has no task 'nope'/);
  });
});
