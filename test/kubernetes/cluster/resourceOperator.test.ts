// Generic resource operators end to end on the real control plane: manifests (multi-document YAML, rendered
// with the task context) created or server-side applied; a wait on a condition set by a real controller (a
// Job run by the Job controller to Complete); a failure condition failing the task with its message; deletion
// waiting until the objects are gone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import { ConnectionStore } from '../../../src/store/connections.ts';
import { createFernet } from '../../../src/crypto/index.ts';
import { pullXCom } from '../../../src/store/xcom.ts';
import { binariesAvailable, connectTestCluster, podAnnotations } from '../../support/k8s/index.ts';
import type { TestCluster } from '../../support/k8s/index.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const available = await binariesAvailable();

const job = (name: string, annotations: Record<string, string>) => ({
  apiVersion: 'batch/v1', kind: 'Job', metadata: { name },
  spec: { backoffLimit: 0, template: { metadata: { annotations }, spec: { restartPolicy: 'Never', containers: [{ name: 'base', image: 'busybox:1.37' }] } } },
});

function dagSource(): string {
  const ok = JSON.stringify(job('report-job', podAnnotations({ outcome: 'succeed', runMs: 200 })));
  const bad = JSON.stringify(job('bad-job', podAnnotations({ outcome: 'fail', exitCode: 2, runMs: 100 })));
  return `
import { dag, KubernetesCreateResourceOperator, KubernetesDeleteResourceOperator } from 'capstan';
const conn = { kubernetesConnId: 'k8s_test' };
const configMaps = 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: settings-{{ run_id }}\\ndata:\\n  day: "{{ ds }}"\\n---\\napiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: more-{{ run_id }}\\ndata: {}\\n';
export default dag({ dagId: 'resources', schedule: null }, () => {
  const cm = new KubernetesCreateResourceOperator({ ...conn, taskId: 'config', yamlConf: configMaps, mode: 'apply' });
  const run = new KubernetesCreateResourceOperator({ ...conn, taskId: 'job', yamlConf: ${ok}, waitFor: { condition: 'Complete', failureConditions: ['Failed'] }, waitTimeoutSeconds: 60 });
  new KubernetesCreateResourceOperator({ ...conn, taskId: 'bad', yamlConf: ${bad}, waitFor: { condition: 'Complete', failureConditions: ['Failed'] }, waitTimeoutSeconds: 60 });
  const cleanup = new KubernetesDeleteResourceOperator({ ...conn, taskId: 'cleanup', yamlConf: [${ok}, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings-{{ run_id }}' } }], propagationPolicy: 'Foreground' });
  cm.before(run).before(cleanup);
});
`;
}

void describe('generic resource operators through the engine', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let batch: BatchV1Api;
  let namespace: string;
  let t: TestEngine;

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    batch = cluster.kubeConfig.makeApiClient(BatchV1Api);
    namespace = await cluster.createNamespace('res');
    t = await startTestEngine({ dags: { 'resources.ts': dagSource() } });
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

  void test('apply rendered manifests, wait for a Job to Complete, fail on Failed, delete and wait until gone', async () => {
    const run = await t.trigger('resources', { runId: 'r1' });
    await t.waitForRun('resources', 'r1', { timeoutMs: 90_000 });
    const tis = Object.fromEntries((await t.taskInstances('resources', 'r1')).map((ti) => [ti.task_id, ti]));
    assert.equal(tis.config?.state, 'success', tis.config?.failure_reason ?? '');
    assert.equal(tis.job?.state, 'success', tis.job?.failure_reason ?? '');
    assert.equal(tis.cleanup?.state, 'success', tis.cleanup?.failure_reason ?? '');
    assert.equal(tis.bad?.state, 'failed');
    assert.match(tis.bad?.failure_reason ?? '', /Job .*bad-job: condition Failed is True \(BackoffLimitExceeded\)/);

    assert.deepEqual(await pullXCom(t.engine.db, run.id, 'config', 'return_value'), [
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'settings-r1', namespace },
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'more-r1', namespace },
    ]);
    const more = await core.readNamespacedConfigMap({ namespace, name: 'more-r1' });
    assert.equal(more.metadata?.managedFields?.[0]?.manager, 'capstan', 'server-side applied by capstan');
    assert.equal(await pullXCom(t.engine.db, run.id, 'cleanup', 'return_value'), 2);
    await assert.rejects(core.readNamespacedConfigMap({ namespace, name: 'settings-r1' }), (e: { code?: number }) => e.code === 404);
    await assert.rejects(batch.readNamespacedJob({ namespace, name: 'report-job' }), (e: { code?: number }) => e.code === 404);
  });
});
