// `capstan kubernetes cleanup-pods` against the real control plane: this system's
// worker pods that succeeded, failed, were evicted, or are Pending longer than
// --min-pending-minutes are deleted, and so are KubernetesPodOperator pods kept
// by their finish action (labelled already-checked) or Pending too long; a
// finished operator pod not yet checked (its task, or a retry, still reads it),
// running pods, Job pods and foreign pods are left alone; --dry-run deletes
// nothing; bad input names the flag. And `capstan kubernetes generate-dag-yaml`
// renders every task's worker pod.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { binariesAvailable, connectTestCluster, podAnnotations, waitFor, waitForPod } from '../../support/k8s/index.ts';
import type { PodBehaviour, TestCluster } from '../../support/k8s/index.ts';

const available = await binariesAvailable();
const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

interface CliResult { code: number; stdout: string; stderr: string }

function runCapstan(args: string[], env: Record<string, string>): Promise<CliResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CAPSTAN')));
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...base, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

function workerPod(name: string, behaviour: PodBehaviour, kind = 'worker', labels: Record<string, string> = {}): V1Pod {
  return {
    metadata: {
      name,
      labels: { 'capstan.dev/kind': kind, 'app.kubernetes.io/managed-by': 'capstan', 'capstan.dev/dag-id': 'etl', ...labels },
      annotations: podAnnotations({ runMs: 0, ...behaviour }),
    },
    spec: { restartPolicy: 'Never', containers: [{ name: 'base', image: 'capstan/worker:test' }] },
  };
}

void describe('capstan kubernetes cleanup-pods', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let namespace: string;
  let home: string;
  let env: Record<string, string>;

  const podNames = async (): Promise<string[]> =>
    (await core.listNamespacedPod({ namespace })).items.map((p) => p.metadata?.name ?? '').sort();
  const cleanup = async (...args: string[]): Promise<CliResult> =>
    runCapstan(['-o', 'json', 'kubernetes', 'cleanup-pods', '--namespace', namespace, ...args], env);

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    namespace = await cluster.createNamespace('cleanup');
    home = mkdtempSync(join(tmpdir(), 'capstan-cleanup-'));
    env = { CAPSTAN_HOME: home, KUBECONFIG: cluster.kubeconfigPath, CAPSTAN__CORE__LOAD_EXAMPLES: 'false' };
    const migrated = await runCapstan(['db', 'migrate'], env);
    assert.equal(migrated.code, 0, migrated.stderr);
    const pods: [V1Pod, string][] = [
      [workerPod('ok', { outcome: 'succeed' }), 'Succeeded'],
      [workerPod('bad', { outcome: 'fail', exitCode: 3 }), 'Failed'],
      [workerPod('evicted', { outcome: 'evict' }), 'Failed'],
      [workerPod('stuck', { outcome: 'pending' }), 'Pending'],
      [workerPod('busy', { outcome: 'run-forever' }), 'Running'],
      [workerPod('operator-pod', { outcome: 'succeed' }, 'pod-operator'), 'Succeeded'],
      [workerPod('kept-ok', { outcome: 'succeed' }, 'pod-operator', { 'capstan.dev/already-checked': 'true' }), 'Succeeded'],
      [workerPod('kept-bad', { outcome: 'fail', exitCode: 2 }, 'pod-operator', { 'capstan.dev/already-checked': 'true' }), 'Failed'],
      [workerPod('kpo-stuck', { outcome: 'pending' }, 'pod-operator'), 'Pending'],
      [workerPod('kpo-busy', { outcome: 'run-forever' }, 'pod-operator', { 'capstan.dev/already-checked': 'true' }), 'Running'],
      [workerPod('job-pod', { outcome: 'succeed' }, 'job-operator', { 'capstan.dev/already-checked': 'true' }), 'Succeeded'],
    ];
    for (const [pod] of pods) await core.createNamespacedPod({ namespace, body: pod });
    for (const [pod, phase] of pods) {
      await waitForPod(cluster.kubeConfig, namespace, pod.metadata?.name ?? '', (p) => p.status?.phase === phase && (phase !== 'Pending' || p.status.podIP !== undefined));
    }
  });
  after(async () => {
    await core?.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  void test('deletes finished worker pods and operator pods kept by their finish action; keeps running, young pending, unchecked and foreign pods', async () => {
    const r = await cleanup('--min-pending-minutes', '60');
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { name: string; kind: string; reason: string; action: string }[];
    assert.deepEqual(rows.map((v) => [v.name, v.kind, v.reason, v.action]).sort(), [
      ['bad', 'worker', 'failed', 'deleted'], ['evicted', 'worker', 'evicted', 'deleted'],
      ['kept-bad', 'pod-operator', 'failed', 'deleted'], ['kept-ok', 'pod-operator', 'succeeded', 'deleted'],
      ['ok', 'worker', 'succeeded', 'deleted'],
    ]);
    await waitFor('deleted pods gone', async () => ((await podNames()).join() === 'busy,job-pod,kpo-busy,kpo-stuck,operator-pod,stuck' ? true : undefined));
  });

  void test('--dry-run lists a pending pod older than the limit and deletes nothing', async () => {
    const r = await cleanup('--min-pending-minutes', '0', '--dry-run');
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { name: string; reason: string; action: string }[];
    assert.deepEqual(rows.map((v) => [v.name, v.reason, v.action]).sort(), [['kpo-stuck', 'pending-too-long', 'would delete'], ['stuck', 'pending-too-long', 'would delete']]);
    assert.deepEqual(await podNames(), ['busy', 'job-pod', 'kpo-busy', 'kpo-stuck', 'operator-pod', 'stuck']);
  });

  void test('a pending pod older than --min-pending-minutes is deleted', async () => {
    const r = await cleanup('--min-pending-minutes', '0');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { name: string }[]).map((v) => v.name).sort(), ['kpo-stuck', 'stuck']);
    await waitFor('pending pods gone', async () => ((await podNames()).join() === 'busy,job-pod,kpo-busy,operator-pod' ? true : undefined));
  });

  void test('bad input names the flag', async () => {
    const r = await cleanup('--min-pending-minutes', '-5');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--min-pending-minutes/);
    const ns = await runCapstan(['kubernetes', 'cleanup-pods', '--namespace', 'Not_A_Namespace'], env);
    assert.notEqual(ns.code, 0);
    assert.match(ns.stderr, /--namespace/);
  });

  void test('generate-dag-yaml renders every task worker pod with the executor builder', async () => {
    const dags = join(home, 'dags');
    mkdirSync(dags, { recursive: true });
    writeFileSync(join(dags, 'etl.ts'), `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'etl', schedule: null }, () => {
  const a = new BashOperator({ taskId: 'extract', bashCommand: 'echo a' });
  const b = new BashOperator({ taskId: 'load', bashCommand: 'echo b', executorConfig: { podOverride: { spec: { containers: [{ name: 'base', resources: { limits: { memory: '1Gi' } } }] } } } });
  a.before(b);
});
`);
    const genEnv = { ...env, CAPSTAN__KUBERNETES_EXECUTOR__WORKER_CONTAINER_IMAGE: 'capstan/worker:1.2', CAPSTAN__KUBERNETES_EXECUTOR__NAMESPACE: 'etl-ns' };
    const parsed = await runCapstan(['dag-processor', '--once'], genEnv);
    assert.equal(parsed.code, 0, parsed.stderr);
    const out = join(home, 'yaml');
    const r = await runCapstan(['kubernetes', 'generate-dag-yaml', 'etl', '--output-path', out, '--run-id', 'manual__x'], genEnv);
    assert.equal(r.code, 0, r.stderr);
    const load = parse(readFileSync(join(out, 'etl', 'load.yaml'), 'utf8')) as V1Pod;
    const extract = parse(readFileSync(join(out, 'etl', 'extract.yaml'), 'utf8')) as V1Pod;
    const base = load.spec?.containers.find((c) => c.name === 'base');
    assert.equal(load.metadata?.namespace, 'etl-ns');
    assert.equal(base?.image, 'capstan/worker:1.2');
    assert.deepEqual(base?.command?.slice(0, 4), ['capstan', 'tasks', 'run', '--ti-id']);
    assert.equal(base?.resources?.limits?.['memory'], '1Gi');
    assert.equal(extract.spec?.containers.find((c) => c.name === 'base')?.resources, undefined);
    assert.equal(load.metadata?.labels?.['capstan.dev/kind'], 'worker');
    assert.equal(load.metadata?.labels?.['capstan.dev/task-id'], 'load');
    assert.equal(base?.env?.find((e) => e.name === 'CAPSTAN_TASK_TOKEN')?.value, '<issued per try by the scheduler>', 'no real token is printed');
    const printed = await runCapstan(['kubernetes', 'generate-dag-yaml', 'etl'], genEnv);
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.stdout.split('\n---\n').length, 2);
    const missing = await runCapstan(['kubernetes', 'generate-dag-yaml', 'nope'], genEnv);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /nope/);
  });
});
