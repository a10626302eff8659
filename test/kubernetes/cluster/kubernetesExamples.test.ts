// The KubernetesPodOperator examples against the test control plane: every manifest of every example pod
// task is accepted by the API server (server-side dry run: validation and admission, nothing persisted), and
// two example DAGs run green through the scheduler and real task processes. For those runs the DAG folder
// holds one file per example that imports it unchanged and only adds the simulated kubelet's annotations
// (how each pod ends, its logs and XCom output) and the test namespace to its pod tasks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CoreV1Api, SchedulingV1Api } from '@kubernetes/client-node';
import { XCOM_MARKER, XCOM_SIDECAR_NAME } from '../../../src/kubernetes/lifecycle/index.ts';
import { ConnectionStore } from '../../../src/store/connections.ts';
import { createFernet } from '../../../src/crypto/index.ts';
import { pullXCom } from '../../../src/store/xcom.ts';
import { binariesAvailable, connectTestCluster, podAnnotations, waitFor } from '../../support/k8s/index.ts';
import type { TestCluster } from '../../support/k8s/index.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { K8S_EXAMPLES_FOLDER, loadKubernetesExamples, podTasks } from '../../examples/kubernetesExamplesSupport.ts';

const available = await binariesAvailable();

/** Objects the examples name that admission checks exist (referenced ConfigMaps, Secrets, PVCs are only checked by the kubelet). */
const SERVICE_ACCOUNTS = ['capstan-task', 'etl-runner', 'configmap-writer'];
const PRIORITY_CLASSES = ['batch-high', 'batch-low'];

/** A DAG file that imports an example and gives its pod tasks the test namespace and simulated behaviours. */
function exampleRun(file: string, namespace: string, annotations: Record<string, Record<string, string>>, fallback: Record<string, string>, exportName = 'default'): string {
  return `
import * as module from ${JSON.stringify(join(K8S_EXAMPLES_FOLDER, file))};
import { KubernetesPodOperator } from 'capstan';
const example = module[${JSON.stringify(exportName)}];
const perTask = ${JSON.stringify(annotations)};
for (const t of example.tasks.values()) {
  if (!(t instanceof KubernetesPodOperator)) continue;
  const pod = t.podOptions;
  pod.namespace = ${JSON.stringify(namespace)};
  pod.annotations = { ...(pod.annotations ?? {}), ...(perTask[t.taskId] ?? ${JSON.stringify(fallback)}) };
}
export default example;
`;
}

function xcomLogs(value: unknown): Record<string, string> {
  const json = JSON.stringify(value);
  return podAnnotations({ outcome: 'succeed', runMs: 100, logs: { base: 'done\n', [XCOM_SIDECAR_NAME]: `${XCOM_MARKER} begin ${Buffer.byteLength(json)}\n${json}\n${XCOM_MARKER} end\n` } });
}

void describe('Kubernetes example DAGs on the control plane', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let namespace: string;
  const createdPriorityClasses: string[] = [];

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    namespace = await cluster.createNamespace('kex');
    for (const name of SERVICE_ACCOUNTS) await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
    const scheduling = cluster.kubeConfig.makeApiClient(SchedulingV1Api);
    for (const name of PRIORITY_CLASSES) {
      try {
        await scheduling.createPriorityClass({ body: { metadata: { name }, value: name === 'batch-high' ? 1000 : 10 } });
        createdPriorityClasses.push(name);
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
      }
    }
  });
  after(async () => {
    const scheduling = cluster?.kubeConfig.makeApiClient(SchedulingV1Api);
    for (const name of createdPriorityClasses) await scheduling?.deletePriorityClass({ name }).catch(() => {});
    await core?.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
  });

  void test('the API server accepts the manifest of every example pod task (dry run)', async () => {
    // The pod tasks of the k8s_* examples; the Job/Spark/resource examples sharing the folder are dry-run,
    // rendered, by resourceExamples.test.ts.
    const ops = podTasks(await loadKubernetesExamples()).filter((op) => op.dag.dagId.startsWith('k8s_'));
    assert.ok(ops.length >= 50);
    const refused: string[] = [];
    for (const op of ops) {
      const pod = await op.renderPod({ dagId: op.dag.dagId, taskId: op.taskId, runId: 'manual__dry', tryNumber: 1 });
      pod.metadata = { ...pod.metadata, namespace };
      try {
        const created = await core.createNamespacedPod({ namespace, body: pod, dryRun: 'All' });
        assert.equal(created.metadata?.name, pod.metadata.name);
      } catch (err) {
        refused.push(`${op.dag.dagId}.${op.taskId}: ${(err as { body?: string }).body ?? String(err)}`);
      }
    }
    assert.deepEqual(refused, []);
    const left = await core.listNamespacedPod({ namespace });
    assert.equal(left.items.length, 0, 'a dry run creates nothing');
  });

  void describe('example DAGs run through the engine', () => {
    let t: TestEngine;
    let runNamespace: string;
    let pvName = '';

    before(async () => {
      runNamespace = await cluster.createNamespace('kexrun');
      for (const name of SERVICE_ACCOUNTS) await core.createNamespacedServiceAccount({ namespace: runNamespace, body: { metadata: { name } } });
      // k8s_data_exchange shares files through the PVC `pipeline-scratch`: a pod whose claim is not bound is
      // never scheduled, so the claim gets a pre-bound volume (the real PV controller binds them).
      pvName = `${runNamespace}-scratch`;
      await core.createPersistentVolume({ body: {
        metadata: { name: pvName },
        spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], storageClassName: '', hostPath: { path: `/tmp/${pvName}` }, claimRef: { namespace: runNamespace, name: 'pipeline-scratch' } },
      } });
      await core.createNamespacedPersistentVolumeClaim({ namespace: runNamespace, body: {
        metadata: { name: 'pipeline-scratch' },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: '', volumeName: pvName, resources: { requests: { storage: '1Gi' } } },
      } });
      await waitFor('pipeline-scratch bound', async () => ((await core.readNamespacedPersistentVolumeClaim({ namespace: runNamespace, name: 'pipeline-scratch' })).status?.phase === 'Bound' ? true : undefined));
      const quick = podAnnotations({ outcome: 'succeed', runMs: 100, logs: 'working\n' });
      t = await startTestEngine({
        dags: {
          'run_k8s_basics.ts': exampleRun('k8s_basics.ts', runNamespace, { hello: podAnnotations({ outcome: 'succeed', runMs: 100, logs: 'hello from pod hello-x\n' }) }, quick),
          'run_k8s_data_exchange.ts': exampleRun('k8s_data_exchange.ts', runNamespace, { count_rows: xcomLogs({ table: 'orders', rows: 1250 }) }, quick),
          'run_k8s_image_pull_failure.ts': exampleRun('k8s_troubleshooting.ts', runNamespace, {}, podAnnotations({ outcome: 'image-pull-error' }), 'imagePullFailure'),
        },
        env: { CAPSTAN__CORE__PARALLELISM: '8' },
      });
      const connections = new ConnectionStore(t.engine.db, { fernet: createFernet(t.engine.config.core.fernetKey) });
      const none = { description: null, host: null, schema: null, login: null, password: null, port: null };
      await connections.add({ ...none, connId: 'kubernetes_default', connType: 'kubernetes', extra: { kubeconfigPath: cluster.kubeconfigPath, namespace: runNamespace } });
      await connections.add({ ...none, connId: 'warehouse', connType: 'postgres', host: 'warehouse.data.svc.cluster.local', schema: 'dwh', extra: {} });
    });
    after(async () => {
      await t?.stop();
      await core?.deleteNamespace({ name: runNamespace }).catch(() => {});
      if (pvName) await core?.deletePersistentVolume({ name: pvName }).catch(() => {});
    });

    void test('k8s_basics and k8s_data_exchange succeed; the pod XCom reaches the typed TaskFlow consumer; no pod is left', async () => {
      const basics = await t.trigger('k8s_basics', { runId: 'example' });
      const exchange = await t.trigger('k8s_data_exchange', { runId: 'example' });
      for (const dagId of ['k8s_basics', 'k8s_data_exchange']) {
        const run = await t.waitForRun(dagId, 'example', { timeoutMs: 120_000 });
        const why = (await t.taskInstances(dagId, 'example')).map((ti) => `${ti.task_id}: ${ti.state}${ti.failure_reason ? ` (${ti.failure_reason})` : ''}`);
        assert.equal(run.state, 'success', `${dagId}:\n${why.join('\n')}`);
      }
      assert.equal(Object.keys(await t.taskStates('k8s_basics', 'example')).length, 7);
      assert.deepEqual(await pullXCom(t.engine.db, exchange.id, 'count_rows', 'return_value'), { table: 'orders', rows: 1250 });
      assert.equal(await pullXCom(t.engine.db, exchange.id, 'check_count', 'return_value'), 'orders: 1250 rows');
      assert.ok(basics.id !== exchange.id);
      const left = await core.listNamespacedPod({ namespace: runNamespace, labelSelector: 'capstan.dev/run-id=example' });
      assert.deepEqual(left.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata?.name), []);
    });

    void test('k8s_image_pull_failure fails on the image pull, not on the startup timeout', async () => {
      await t.trigger('k8s_image_pull_failure', { runId: 'pull' });
      // startupTimeoutSeconds is 120 by default: a run that ends well before it ended on the pull error.
      const run = await t.waitForRun('k8s_image_pull_failure', 'pull', { timeoutMs: 60_000 });
      assert.equal(run.state, 'failed');
      const [ti] = await t.taskInstances('k8s_image_pull_failure', 'pull');
      assert.equal(ti?.state, 'failed');
      assert.match(ti?.failure_reason ?? '', /ErrImagePull|ImagePullBackOff/);
    });
  });
});
