/**
 * A mapped KubernetesPodOperator on the real test control plane: `partial(...).expandKwargs([...])` runs one
 * pod per map index (labelled with its index), each index's log and XCom stay its own, a failing index
 * fails alone, and an all_done reduce receives the successful indexes' results in map-index order.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { createFernet } from '../../src/crypto/index.ts';
import { XCOM_MARKER, XCOM_SIDECAR_NAME } from '../../src/kubernetes/lifecycle/index.ts';
import { readTaskLog } from '../../src/logging/taskLogReader.ts';
import { taskLogPath } from '../../src/logging/taskLog.ts';
import { ConnectionStore } from '../../src/store/connections.ts';
import { pullXCom } from '../../src/store/xcom.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { binariesAvailable, connectTestCluster, podAnnotations, type TestCluster } from '../support/k8s/index.ts';

const available = await binariesAvailable();

function xcom(value: unknown): string {
  const text = JSON.stringify(value);
  return `${XCOM_MARKER} begin ${Buffer.byteLength(text)}\n${text}\n${XCOM_MARKER} end\n`;
}

function dagSource(annotations: Array<Record<string, string>>): string {
  return `
import { dag, task, KubernetesPodOperator, XComArg } from 'capstan';
const a = ${JSON.stringify(annotations)};
const gather = task({ taskId: 'gather', triggerRule: 'all_done' }, (results: Array<{ i: number }>) => results.map((r) => r.i));
export default dag({ dagId: 'kpo_mapped', schedule: null }, () => {
  const pods = KubernetesPodOperator.partial({ taskId: 'pods', image: 'busybox:1.36', cmds: ['sh', '-c'], kubernetesConnId: 'k8s_test', doXcomPush: true, onFinishAction: 'keep_pod' })
    .expandKwargs(a.map((annotations, i) => ({ arguments: ['echo index ' + i], annotations })));
  // A classic operator's return value, typed: a mapped task's is the list of its indexes' values.
  gather(new XComArg<Array<{ i: number }>>(pods));
});
`;
}

void describe('mapped KubernetesPodOperator through the engine', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let namespace: string;
  let t: TestEngine;

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    namespace = await cluster.createNamespace('kpo-mapped');
    t = await startTestEngine({
      dags: {
        'kpo_mapped.ts': dagSource([
          podAnnotations({ outcome: 'succeed', runMs: 100, logs: { base: 'pod of index zero\n', [XCOM_SIDECAR_NAME]: xcom({ i: 0 }) } }),
          podAnnotations({ outcome: 'succeed', runMs: 100, logs: { base: 'pod of index one\n', [XCOM_SIDECAR_NAME]: xcom({ i: 1 }) } }),
          podAnnotations({ outcome: 'fail', exitCode: 3, runMs: 100, logs: { base: 'pod of index two\n' } }),
        ]),
      },
    });
    await new ConnectionStore(t.engine.db, { fernet: createFernet(t.engine.config.core.fernetKey) }).add({
      connId: 'k8s_test',
      connType: 'kubernetes',
      description: 'test control plane',
      host: null,
      schema: null,
      login: null,
      password: null,
      port: null,
      extra: { kubeconfigPath: cluster.kubeconfigPath, namespace },
    });
  });
  after(async () => {
    await t?.stop();
    await core?.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
  });

  void test('one pod per map index; per-index logs and XComs; a failing index fails alone; the reduce gets the results in order', async () => {
    const run = await t.trigger('kpo_mapped', { runId: 'r1' });
    const finished = await t.waitForRun('kpo_mapped', 'r1', { timeoutMs: 120_000 });
    const tis = await t.taskInstances('kpo_mapped', 'r1');
    const pods = tis.filter((x) => x.task_id === 'pods').sort((a, b) => a.map_index - b.map_index);
    assert.deepEqual(pods.map((x) => [x.map_index, x.state]), [[0, 'success'], [1, 'success'], [2, 'failed']], JSON.stringify(pods.map((x) => x.failure_reason)));
    assert.equal(finished.state, 'success', 'the all_done leaf succeeded');
    assert.match(pods[2]?.failure_reason ?? '', /exited with code 3/);
    assert.deepEqual(await pullXCom(t.engine.db, run.id, 'pods', 'return_value', 0), { i: 0 });
    assert.deepEqual(await pullXCom(t.engine.db, run.id, 'pods', 'return_value', 1), { i: 1 });
    assert.deepEqual(await pullXCom(t.engine.db, run.id, 'gather', 'return_value'), [0, 1]);
    for (const [i, word] of ['zero', 'one', 'two'].entries()) {
      const log = await readTaskLog(taskLogPath(t.engine.config.logging.baseLogFolder, { dagId: 'kpo_mapped', runId: 'r1', taskId: 'pods', mapIndex: i, tryNumber: 1 }));
      assert.match(log.text, new RegExp(`pod of index ${word}`));
    }
    const listed = await core.listNamespacedPod({ namespace, labelSelector: 'capstan.dev/dag-id=kpo_mapped' });
    const indexes = listed.items.map((p) => p.metadata?.labels?.['capstan.dev/map-index']).sort();
    assert.deepEqual(indexes, ['0', '1', '2'], 'each pod carries its map index');
  });
});
