// KubernetesPodOperator and a worker crash, through the engine: the task process running a pod task is
// SIGKILLed while its pod runs; the scheduler retries the task, and the retry reattaches to the pod the first
// try created instead of starting a second one — exactly one pod, the workload's log and the task's success.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { ConnectionStore } from '../../../src/store/connections.ts';
import { createFernet } from '../../../src/crypto/index.ts';
import { readTaskLog } from '../../../src/logging/taskLogReader.ts';
import { taskLogPath } from '../../../src/logging/taskLog.ts';
import { binariesAvailable, connectTestCluster, podAnnotations, waitFor } from '../../support/k8s/index.ts';
import type { TestCluster } from '../../support/k8s/index.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const available = await binariesAvailable();

void describe('KubernetesPodOperator: worker SIGKILLed mid-pod', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let namespace: string;
  let t: TestEngine;

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    namespace = await cluster.createNamespace('kpocrash');
    const annotations = podAnnotations({ outcome: 'succeed', runMs: 6000, logs: { base: 'crunching numbers\n' } });
    t = await startTestEngine({ dags: { 'crash.ts': `
import { dag, KubernetesPodOperator } from 'capstan';
export default dag({ dagId: 'kpo_crash', schedule: null }, () => {
  new KubernetesPodOperator({ taskId: 'long', image: 'busybox:1.37', kubernetesConnId: 'k8s_test', retries: 1, retryDelay: 0,
    onFinishAction: 'keep_pod', annotations: ${JSON.stringify(annotations)} });
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

  void test('the retry reattaches: one pod, task succeeds', async () => {
    await t.trigger('kpo_crash', { runId: 'c1' });
    const selector = 'capstan.dev/dag-id=kpo_crash,capstan.dev/task-id=long';
    const firstPod = await waitFor('pod running', async () => {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: selector });
      const p = pods.items[0];
      return p?.status?.phase === 'Running' ? p.metadata?.uid : undefined;
    }, 30_000, 100);
    const pid = await waitFor('task process pid', async () => {
      const ti = (await t.taskInstances('kpo_crash', 'c1')).find((x) => x.task_id === 'long');
      return ti?.state === 'running' && ti.pid !== null ? ti.pid : undefined;
    }, 30_000, 100);
    process.kill(pid, 'SIGKILL');

    const finished = await t.waitForRun('kpo_crash', 'c1', { timeoutMs: 90_000 });
    const ti = (await t.taskInstances('kpo_crash', 'c1')).find((x) => x.task_id === 'long');
    assert.equal(finished.state, 'success', ti?.failure_reason ?? '');
    assert.equal(ti?.try_number, 2, 'the killed try was retried');
    const log2 = (await readTaskLog(taskLogPath(t.engine.config.logging.baseLogFolder, { dagId: 'kpo_crash', runId: 'c1', taskId: 'long', mapIndex: -1, tryNumber: 2 }))).text;
    assert.match(log2, /reattached to existing pod/);
    assert.match(log2, /crunching numbers/);
    // keep_pod: the pod stays (labelled checked), so every pod the task ever created is still listed.
    const pods = (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
    assert.deepEqual(pods.map((p) => p.metadata?.uid), [firstPod], 'exactly one pod, the first try\'s');
    assert.equal(pods[0]?.metadata?.labels?.['capstan.dev/already-checked'], 'true');
  });
});
