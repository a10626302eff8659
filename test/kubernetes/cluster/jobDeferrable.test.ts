// KubernetesJobOperator in deferrable mode, through the engine with its in-process triggerer: the task
// creates its Job and defers; while the Job runs the task instance is `deferred` (its worker slot free) and
// KubernetesJobTrigger watches the Job in the triggerer; when the Job completes the same try resumes on a
// worker, reads the pod's log and XCom, and succeeds. A deferral that cannot see its Job end (trigger
// failure, deferral timeout) deletes the Job.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import { XCOM_MARKER, XCOM_SIDECAR_NAME } from '../../../src/kubernetes/lifecycle/index.ts';
import { ConnectionStore } from '../../../src/store/connections.ts';
import { createFernet } from '../../../src/crypto/index.ts';
import { pullXCom } from '../../../src/store/xcom.ts';
import { readTaskLog } from '../../../src/logging/taskLogReader.ts';
import { taskLogPath } from '../../../src/logging/taskLog.ts';
import { binariesAvailable, connectTestCluster, podAnnotations, waitFor } from '../../support/k8s/index.ts';
import type { TestCluster } from '../../support/k8s/index.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { markTaskInstances } from '../../../src/services/mark.ts';

const available = await binariesAvailable();

const xcomLog = (value: unknown): string => {
  const body = JSON.stringify(value);
  return `${XCOM_MARKER} begin ${Buffer.byteLength(body)}\n${body}\n${XCOM_MARKER} end\n`;
};

void describe('KubernetesJobOperator, deferrable', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let batch: BatchV1Api;
  let namespace: string;
  let t: TestEngine;

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    batch = cluster.kubeConfig.makeApiClient(BatchV1Api);
    namespace = await cluster.createNamespace('kjodefer');
    const a = {
      deferred: podAnnotations({ outcome: 'succeed', runMs: 4000, logs: { base: 'working while deferred\n', [XCOM_SIDECAR_NAME]: xcomLog({ deferred: true }) } }),
      stuck: podAnnotations({ outcome: 'run-forever' }),
    };
    t = await startTestEngine({ dags: { 'defer.ts': `
import { dag, KubernetesJobOperator } from 'capstan';
const a = ${JSON.stringify(a)};
export const ok = dag({ dagId: 'kjo_defer', schedule: null }, () => {
  new KubernetesJobOperator({ taskId: 'deferred', image: 'busybox:1.37', kubernetesConnId: 'k8s_test', deferrable: true, doXcomPush: true, annotations: a.deferred });
});
export const marked = dag({ dagId: 'kjo_defer_mark', schedule: null }, () => {
  new KubernetesJobOperator({ taskId: 'forever', image: 'busybox:1.37', kubernetesConnId: 'k8s_test', deferrable: true, annotations: a.stuck });
});
export const stuck = dag({ dagId: 'kjo_defer_timeout', schedule: null }, () => {
  new KubernetesJobOperator({ taskId: 'stuck', image: 'busybox:1.37', kubernetesConnId: 'k8s_test', deferrable: true, executionTimeout: '5s', annotations: a.stuck });
});
` } });
    const fernet = createFernet(t.engine.config.core.fernetKey);
    await new ConnectionStore(t.engine.db, { fernet }).add({
      connId: 'k8s_test', connType: 'kubernetes', description: 'test control plane',
      host: null, schema: null, login: null, password: null, port: null,
      extra: { kubeconfigPath: cluster.kubeconfigPath, namespace },
    });
  });
  after(async () => {
    await t?.stop();
    await core?.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
  });

  void test('the worker slot is freed while the Job runs; the same try resumes with the log and the XCom', async () => {
    const run = await t.trigger('kjo_defer', { runId: 'd1' });
    // While the Job runs the task instance is deferred: its try left the worker, the triggerer watches the Job.
    await waitFor('task deferred', async () => ((await t.taskInstances('kjo_defer', 'd1'))[0]?.state === 'deferred' ? true : undefined), 30_000, 100);
    assert.equal((await batch.listNamespacedJob({ namespace, labelSelector: 'capstan.dev/dag-id=kjo_defer' })).items.length, 1);
    const finished = await t.waitForRun('kjo_defer', 'd1', { timeoutMs: 60_000 });
    const ti = (await t.taskInstances('kjo_defer', 'd1'))[0];
    assert.equal(finished.state, 'success', ti?.failure_reason ?? '');
    assert.equal(ti?.try_number, 1, 'resumed in the same try');
    assert.deepEqual(await pullXCom(t.engine.db, run.id, 'deferred', 'return_value'), { deferred: true });
    const log = (await readTaskLog(taskLogPath(t.engine.config.logging.baseLogFolder, { dagId: 'kjo_defer', runId: 'd1', taskId: 'deferred', mapIndex: -1, tryNumber: 1 }))).text;
    assert.match(log, /deferring to the triggerer until it ends/);
    assert.match(log, /following job \S+ after the deferral/);
    assert.match(log, /\] working while deferred/);
  });

  void test('a task marked failed while deferred has its Job deleted by the cancelled trigger', async () => {
    await t.trigger('kjo_defer_mark', { runId: 'm1' });
    await waitFor('task deferred', async () => ((await t.taskInstances('kjo_defer_mark', 'm1'))[0]?.state === 'deferred' ? true : undefined), 30_000, 100);
    await waitFor('trigger running', async () => ((t.triggerer?.runningTriggerIds().length ?? 0) > 0 ? true : undefined), 30_000, 100);
    assert.equal((await batch.listNamespacedJob({ namespace, labelSelector: 'capstan.dev/dag-id=kjo_defer_mark' })).items.length, 1);
    await markTaskInstances(t.engine.db, { dagId: 'kjo_defer_mark', runId: 'm1', taskIds: ['forever'], state: 'failed' }, Date.now(), 'test');
    t.scheduler.wake();
    await waitFor('job deleted after mark-failed', async () => ((await batch.listNamespacedJob({ namespace, labelSelector: 'capstan.dev/dag-id=kjo_defer_mark' })).items.length === 0 ? true : undefined), 30_000, 200);
    assert.equal((await t.taskInstances('kjo_defer_mark', 'm1'))[0]?.state, 'failed');
  });

  void test('the execution timeout while deferred deletes the Job', async () => {
    await t.trigger('kjo_defer_timeout', { runId: 'x1' });
    await t.waitForRun('kjo_defer_timeout', 'x1', { timeoutMs: 60_000 });
    const ti = (await t.taskInstances('kjo_defer_timeout', 'x1'))[0];
    assert.equal(ti?.state, 'failed');
    const log = (await readTaskLog(taskLogPath(t.engine.config.logging.baseLogFolder, { dagId: 'kjo_defer_timeout', runId: 'x1', taskId: 'stuck', mapIndex: -1, tryNumber: 1 }))).text;
    assert.match(log, /deferral ended without the Job's end: deleting job \S+ \(propagation Foreground\)/);
    await waitFor('job gone', async () => ((await batch.listNamespacedJob({ namespace, labelSelector: 'capstan.dev/dag-id=kjo_defer_timeout' })).items.length === 0 ? true : undefined), 30_000, 200);
  });
});
