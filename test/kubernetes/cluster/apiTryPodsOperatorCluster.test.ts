// API v2 pod routes for a KubernetesPodOperator that names its own cluster: the executor (LocalExecutor here)
// reads no cluster, and the task's `kubernetesConnId` points at the test control plane through a kubeconfig
// connection. The API finds the try's pod there — in the namespace the connection names — with its log; a
// connection that was deleted or is not a Kubernetes one is named in a 404 / 409, never its contents.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { apiV2Client, type ApiV2Client } from '../../../src/api/public/v2/client/index.ts';
import { ConnectionStore } from '../../../src/store/index.ts';
import { createFernet } from '../../../src/crypto/index.ts';
import { binariesAvailable, connectTestCluster, podAnnotations } from '../../support/k8s/index.ts';
import type { TestCluster } from '../../support/k8s/index.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const available = await binariesAvailable();

const PODS = '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries/{tryNumber}/pods' as const;
const LOG = '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries/{tryNumber}/pods/{podName}/log' as const;

void describe("API v2 pods of a pod operator's try in the cluster of its own connection", { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let namespace: string;
  let t: TestEngine;
  let api: ApiV2Client;
  let connections: ConnectionStore;
  const tryPath = { dagId: 'kpo_elsewhere', dagRunId: 'r1', taskId: 'ok', tryNumber: 1 };
  const SECRET_TOKEN = 'not-a-real-token-but-secret';

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    namespace = await cluster.createNamespace('kpoother');
    const annotations = podAnnotations({ outcome: 'succeed', runMs: 200, logs: { base: 'from the other cluster\n' } });
    t = await startTestEngine({
      triggerer: false,
      dags: {
        'kpo.ts': `
import { dag, KubernetesPodOperator } from 'capstan';
export default dag({ dagId: 'kpo_elsewhere', schedule: null }, () => {
  new KubernetesPodOperator({ taskId: 'ok', image: 'busybox:1.36', kubernetesConnId: 'other_cluster', onFinishAction: 'keep_pod', annotations: ${JSON.stringify(annotations)} });
});
`,
      },
    });
    assert.equal(t.engine.config.kubernetesExecutor.kubernetesConnId, '', 'the executor names no cluster');
    connections = new ConnectionStore(t.engine.db, { fernet: createFernet(t.engine.config.core.fernetKey) });
    await connections.add({
      connId: 'other_cluster', connType: 'kubernetes', description: 'the test control plane, as another cluster', host: null, schema: null, login: null, password: null, port: null,
      extra: { kubeconfigPath: cluster.kubeconfigPath, namespace },
    });
    api = apiV2Client({ baseUrl: t.api.url, token: t.adminToken });
    await t.trigger('kpo_elsewhere', { runId: 'r1' });
    await t.waitForRun('kpo_elsewhere', 'r1', { timeoutMs: 120_000 });
  });
  after(async () => {
    await t?.stop();
    await core?.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
  });

  void test("the pod is found through the task's connection, in its namespace, with its log", async () => {
    const listed = await api.call('get', PODS, { path: tryPath });
    assert.equal(listed.status, 200, JSON.stringify(listed.error));
    assert.equal(listed.data?.totalEntries, 1);
    const pod = listed.data?.pods[0];
    assert.deepEqual([pod?.namespace, pod?.kind, pod?.phase], [namespace, 'pod-operator', 'Succeeded']);
    const log = await api.call('get', LOG, { path: { ...tryPath, podName: pod?.name ?? '' } });
    assert.equal(log.status, 200, JSON.stringify(log.error));
    assert.match(log.data?.content ?? '', /from the other cluster/);
  });

  void test('a connection that is not a Kubernetes one is a 409 naming it; a deleted one a 404; no secret shown', async () => {
    await connections.delete('other_cluster');
    const gone = await api.call('get', PODS, { path: tryPath });
    assert.equal(gone.status, 404);
    assert.match(gone.error?.error.message ?? '', /Kubernetes connection 'other_cluster' is not defined/);

    await connections.add({ connId: 'other_cluster', connType: 'postgres', description: null, host: 'db', schema: null, login: 'u', password: SECRET_TOKEN, port: 5432, extra: {} });
    const wrong = await api.call('get', PODS, { path: tryPath });
    assert.equal(wrong.status, 409);
    assert.match(wrong.error?.error.message ?? '', /connection 'other_cluster' cannot be used: .*not 'kubernetes'/);
    assert.ok(!JSON.stringify(wrong.error).includes(SECRET_TOKEN));
  });
});
