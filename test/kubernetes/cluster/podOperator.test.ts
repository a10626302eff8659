// KubernetesPodOperator end to end: a DAG run by the real scheduler and LocalExecutor (a real task
// process) creates its pod on the real control plane through a `kubernetes` connection; the pod's
// logs reach the task log, its XCom becomes the task's return value, failures carry the exit code and
// termination message, an OOM-killed pod fails with failure kind oomKilled, and a skip exit code skips.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { XCOM_MARKER, XCOM_SIDECAR_NAME } from '../../../src/kubernetes/lifecycle/index.ts';
import { ConnectionStore } from '../../../src/store/connections.ts';
import { createFernet } from '../../../src/crypto/index.ts';
import { pullXCom } from '../../../src/store/xcom.ts';
import { readTaskLog } from '../../../src/logging/taskLogReader.ts';
import { taskLogPath } from '../../../src/logging/taskLog.ts';
import { binariesAvailable, connectTestCluster, podAnnotations } from '../../support/k8s/index.ts';
import type { TestCluster } from '../../support/k8s/index.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const available = await binariesAvailable();

function dagSource(annotations: Record<string, Record<string, string>>): string {
  return `
import { dag, KubernetesPodOperator } from 'capstan';
const a = ${JSON.stringify(annotations)};
export default dag({ dagId: 'kpo', schedule: null }, () => {
  new KubernetesPodOperator({ taskId: 'ok', image: 'busybox:1.36', cmds: ['sh', '-c'], arguments: ['echo hello {{ run_id }}'], env: { RUN_DATE: '{{ ds }}' }, kubernetesConnId: 'k8s_test', doXcomPush: true, annotations: a.ok });
  new KubernetesPodOperator({ taskId: 'fails', image: 'busybox:1.36', kubernetesConnId: 'k8s_test', annotations: a.fails });
  new KubernetesPodOperator({ taskId: 'skips', image: 'busybox:1.36', kubernetesConnId: 'k8s_test', skipOnExitCode: 42, annotations: a.skips });
  new KubernetesPodOperator({ taskId: 'oom', image: 'busybox:1.36', kubernetesConnId: 'k8s_test', annotations: a.oom });
});
`;
}

void describe('KubernetesPodOperator through the engine', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let namespace: string;
  let t: TestEngine;

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    namespace = await cluster.createNamespace('kpo');
    const xcom = `${XCOM_MARKER} begin 12\n{"rows": 42}\n${XCOM_MARKER} end\n`;
    t = await startTestEngine({
      dags: {
        'kpo.ts': dagSource({
          ok: podAnnotations({ outcome: 'succeed', runMs: 200, logs: { base: 'hello\nfrom the pod\n', [XCOM_SIDECAR_NAME]: xcom } }),
          fails: podAnnotations({ outcome: 'fail', exitCode: 3, terminationMessage: 'input bucket is empty', runMs: 100, logs: { base: 'checking input\n' } }),
          skips: podAnnotations({ outcome: 'fail', exitCode: 42, runMs: 100 }),
          oom: podAnnotations({ outcome: 'oom', runMs: 100 }),
        }),
      },
    });
    const fernet = createFernet(t.engine.config.core.fernetKey);
    await new ConnectionStore(t.engine.db, { fernet }).add({
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

  void test('success, failure with exit code and termination message, and skip — logs and XCom in place, pods cleaned up', async () => {
    const run = await t.trigger('kpo', { runId: 'r1' });
    const finished = await t.waitForRun('kpo', 'r1', { timeoutMs: 120_000 });
    assert.equal(finished.state, 'failed');
    const tis = Object.fromEntries((await t.taskInstances('kpo', 'r1')).map((ti) => [ti.task_id, ti]));
    assert.equal(tis.ok?.state, 'success', tis.ok?.failure_reason ?? '');
    assert.deepEqual(await pullXCom(t.engine.db, run.id, 'ok', 'return_value'), { rows: 42 });
    const log = await readTaskLog(taskLogPath(t.engine.config.logging.baseLogFolder, { dagId: 'kpo', runId: 'r1', taskId: 'ok', mapIndex: -1, tryNumber: 1 }));
    assert.match(log.text, /hello/);
    assert.match(log.text, /from the pod/);
    // Templated pod options were rendered with the run's context before the pod was built.
    type PodFields = { arguments?: string[]; env?: Record<string, string> };
    const stored = JSON.parse(tis.ok?.rendered_fields ?? '{}') as PodFields & { podOptions?: PodFields };
    const rendered = stored.podOptions ?? stored;
    assert.deepEqual(rendered.arguments, ['echo hello r1']);
    assert.match(rendered.env?.RUN_DATE ?? '', /^\d{4}-\d{2}-\d{2}$/);

    assert.equal(tis.fails?.state, 'failed');
    assert.match(tis.fails?.failure_reason ?? '', /exited with code 3/);
    assert.match(tis.fails?.failure_reason ?? '', /input bucket is empty/);
    assert.equal(tis.fails?.failure_kind, 'exitCode', 'a failing container is the task’s failure');
    // The pod end decides the failure kind: an OOM-killed pod is recorded as such, not as an exception.
    assert.equal(tis.oom?.state, 'failed');
    assert.match(tis.oom?.failure_reason ?? '', /OOMKilled/);
    assert.equal(tis.oom?.failure_kind, 'oomKilled');

    assert.equal(tis.skips?.state, 'skipped');

    // onFinishAction delete_pod (the default): no pod of this run is left.
    const left = await core.listNamespacedPod({ namespace, labelSelector: 'capstan.dev/dag-id=kpo' });
    assert.deepEqual(left.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata?.name), []);
  });
});
