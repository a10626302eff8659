// The KubernetesExecutor end to end inside a whole Capstan on the real control plane, every worker pod run for
// real by the local kubelet (`capstan tasks run` in a process with a filesystem of its own):
// - a 200-task DAG runs to completion, one pod per task, every pod deleted afterwards, and each task's log,
//   written inside its pod, is in the engine's log store (shipped through the Execution API);
// - while a task runs, its log is served by the public API from the worker pod's pods/log (nothing shipped
//   yet), and after the pod is gone, from the log store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binariesAvailable, connectTestCluster, waitFor } from '../../../support/k8s/index.ts';
import type { TestCluster } from '../../../support/k8s/index.ts';
import { LocalFileTaskLogHandler } from '../../../../src/logging/logHandler.ts';
import { startExecutorHarness, type ExecutorHarness } from '../executorSupport.ts';

const available = await binariesAvailable();
// 200 tasks take ~110 s of CPU (mostly the 200 worker processes starting Node): ~55 s on two free cores, ~100 s
// on a shared, busy machine. CAPSTAN_K8S_E2E_TASKS scales it (at least 3).
const TOTAL = Math.max(3, Number(process.env['CAPSTAN_K8S_E2E_TASKS'] ?? '200'));
const WIDE = TOTAL - 2;

const gateDir = mkdtempSync(join(tmpdir(), 'capstan-gate-'));
const GATE = join(gateDir, 'go');

// start → parallel tasks → end, each in its own pod.
const BIG = `
import { dag, BashOperator, chain } from 'capstan';
export default dag({ dagId: 'big', schedule: null, maxActiveTasks: 64 }, () => {
  const echo = (taskId: string) => new BashOperator({ taskId, bashCommand: 'echo "ran $CAPSTAN_CTX_TASK_ID"' });
  chain(echo('start'), Array.from({ length: ${WIDE} }, (_, i) => echo('w' + i)), echo('end'));
});
`;

// Ships nothing until it ends (interval far beyond the test), so a read while it runs can only come from the pod.
const GATED = `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'gated', schedule: null }, () => {
  new BashOperator({
    taskId: 'wait',
    bashCommand: 'echo "waiting for the gate"; while [ ! -f ${GATE} ]; do sleep 0.1; done; echo "through the gate"',
    executorConfig: { podOverride: { spec: { containers: [{ name: 'base', env: [{ name: 'CAPSTAN__LOGGING__SHIP_INTERVAL_MS', value: '600000' }] }] } } },
  });
});
`;

interface LogBody { content: string; source: string; ended: boolean }

void describe('KubernetesExecutor end to end', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let namespace: string;
  let h: ExecutorHarness;
  const previousKubeconfig = process.env['KUBECONFIG'];

  before(async () => {
    cluster = await connectTestCluster();
    namespace = await cluster.createNamespace('ke2e');
    // The API server reads running tries' logs from their pods through the executor's cluster settings.
    process.env['KUBECONFIG'] = cluster.kubeconfigPath;
    h = await startExecutorHarness({
      cluster, namespace, dags: { 'big.ts': BIG, 'gated.ts': GATED },
      settings: { deleteWorkerPods: true, deleteWorkerPodsOnFailure: true },
      env: { CAPSTAN__CORE__PARALLELISM: '32', CAPSTAN__KUBERNETES_EXECUTOR__NAMESPACE: namespace },
    });
  });
  after(async () => {
    await h?.stop();
    await h?.core.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
    if (previousKubeconfig === undefined) delete process.env['KUBECONFIG'];
    else process.env['KUBECONFIG'] = previousKubeconfig;
  });

  const readLog = async (dagId: string, runId: string, taskId: string): Promise<{ status: number; body: LogBody }> => {
    const res = await h.t.apiFetch(`/api/v2/dags/${dagId}/dagRuns/${runId}/taskInstances/${taskId}/logs/1`);
    return { status: res.status, body: (await res.json()) as LogBody };
  };

  void test(`a ${WIDE + 2}-task DAG runs to completion, one pod per task, no pod left, every log shipped`, async () => {
    const created = new Set<string>();
    const watcher = setInterval(() => {
      void h.pods().then((pods) => pods.forEach((p) => created.add(`${p.metadata?.annotations?.['capstan.dev/task-id']}#${p.metadata?.name}`)), () => {});
    }, 250);
    try {
      await h.t.trigger('big', { runId: 'r1' });
      const run = await h.t.waitForRun('big', 'r1', { timeoutMs: 240_000 });
      const tis = await h.t.taskInstances('big', 'r1');
      const bad = tis.filter((ti) => ti.state !== 'success' || ti.try_number !== 1);
      const notOk = bad.map((ti) => `${ti.task_id}=${ti.state}#${ti.try_number} ${ti.failure_reason ?? ''}`);
      // On failure, the end of the first few bad tasks' logs tells why (the engine's home is gone afterwards).
      const logTails = await Promise.all(bad.slice(0, 3).map(async (ti) => {
        const log = await readLog('big', 'r1', ti.task_id).catch((err: unknown) => ({ status: 0, body: { content: String(err), source: '', ended: false } }));
        return `--- ${ti.task_id} (${log.status}):\n${log.body.content.split('\n').slice(-15).join('\n')}`;
      }));
      assert.deepEqual(notOk, [], logTails.join('\n'));
      assert.equal(run.state, 'success');
      assert.equal(tis.length, WIDE + 2);
      assert.ok(tis.every((ti) => ti.executor === 'KubernetesExecutor'), 'every try ran through the KubernetesExecutor');
    } finally {
      clearInterval(watcher);
    }
    // Sampled pods never show two for one task (each try has one pod; no try was retried).
    const perTask = new Map<string, number>();
    for (const k of created) perTask.set(k.split('#')[0] ?? '', (perTask.get(k.split('#')[0] ?? '') ?? 0) + 1);
    assert.deepEqual([...perTask].filter(([, n]) => n > 1), []);
    await waitFor('every worker pod deleted', async () => ((await h.pods()).length === 0 ? true : undefined), 60_000, 250);
    const store = new LocalFileTaskLogHandler(h.t.engine.config.logging.baseLogFolder);
    for (const taskId of ['start', 'w0', `w${WIDE - 1}`, 'end']) {
      const log = await store.read({ dagId: 'big', runId: 'r1', taskId, tryNumber: 1 });
      assert.match(log.text, new RegExp(`INFO ran ${taskId}\\n`), `${taskId}'s own output is in the store`);
      assert.ok(log.ended, `${taskId}'s log was shipped to its end`);
    }
  });

  void test("a running task's log comes from its pod; once the pod is gone, from the log store", async () => {
    await h.t.trigger('gated', { runId: 'g1' });
    const live = await waitFor('the live log through the public API', async () => {
      const { status, body } = await readLog('gated', 'g1', 'wait');
      return status === 200 && body.content.includes('waiting for the gate') ? body : undefined;
    }, 60_000, 200);
    assert.equal(live.source, 'live');
    assert.equal(live.ended, false);
    const [ti] = await h.t.taskInstances('gated', 'g1');
    assert.equal(ti?.state, 'running');
    writeFileSync(GATE, '');
    assert.equal((await h.t.waitForRun('gated', 'g1', { timeoutMs: 60_000 })).state, 'success');
    await waitFor('the gated pod deleted', async () => ((await h.pods()).length === 0 ? true : undefined), 30_000, 200);
    const stored = await waitFor('the shipped log', async () => {
      const { status, body } = await readLog('gated', 'g1', 'wait');
      return status === 200 && body.ended ? body : undefined;
    }, 30_000, 200);
    assert.equal(stored.source, 'store');
    assert.match(stored.content, /INFO waiting for the gate\n.*INFO through the gate\n/s);
  });
});
