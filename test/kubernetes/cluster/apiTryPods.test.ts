// API v2 pod routes of tries on the real test control plane: KubernetesPodOperator tasks (run by the real
// scheduler and a real task process) keep their pods; the API lists each try's pod with its node, phase
// and container state (exit code 0 / OOMKilled), its events, its container log (whole, tail) and a
// followed log over SSE; another try's pod or an unknown container is a 404.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { apiV2Client, type ApiV2Client } from '../../../src/api/public/v2/client/index.ts';
import { ConnectionStore } from '../../../src/store/connections.ts';
import { createFernet } from '../../../src/crypto/index.ts';
import { binariesAvailable, connectTestCluster, podAnnotations } from '../../support/k8s/index.ts';
import type { TestCluster } from '../../support/k8s/index.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { openSse } from '../../support/sse.ts';
import { waitFor } from '../../support/processes.ts';

const available = await binariesAvailable();

function dagSource(annotations: Record<string, Record<string, string>>): string {
  return `
import { dag, KubernetesPodOperator } from 'capstan';
const a = ${JSON.stringify(annotations)};
export default dag({ dagId: 'kpo_api', schedule: null }, () => {
  new KubernetesPodOperator({ taskId: 'ok', image: 'busybox:1.36', kubernetesConnId: 'k8s_test', onFinishAction: 'keep_pod', annotations: a.ok });
  new KubernetesPodOperator({ taskId: 'oom', image: 'busybox:1.36', kubernetesConnId: 'k8s_test', onFinishAction: 'keep_pod', annotations: a.oom });
});
`;
}

const PODS = '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries/{tryNumber}/pods' as const;

void describe('API v2 pods of tries on a real control plane', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let namespace: string;
  let t: TestEngine;
  let api: ApiV2Client;
  const tryPath = (taskId: string) => ({ dagId: 'kpo_api', dagRunId: 'r1', taskId, tryNumber: 1 });

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    namespace = await cluster.createNamespace('kpoapi');
    t = await startTestEngine({
      triggerer: false,
      env: { CAPSTAN__KUBERNETES_EXECUTOR__KUBERNETES_CONN_ID: 'k8s_test', CAPSTAN__KUBERNETES_EXECUTOR__NAMESPACE: namespace },
      dags: {
        'kpo.ts': dagSource({
          ok: podAnnotations({ outcome: 'succeed', runMs: 200, logs: { base: 'hello\nfrom the pod\n' } }),
          oom: podAnnotations({ outcome: 'oom', runMs: 100, logs: { base: 'allocating\n' } }),
        }),
      },
    });
    const fernet = createFernet(t.engine.config.core.fernetKey);
    await new ConnectionStore(t.engine.db, { fernet }).add({
      connId: 'k8s_test', connType: 'kubernetes', description: 'test control plane', host: null, schema: null, login: null, password: null, port: null,
      extra: { kubeconfigPath: cluster.kubeconfigPath, namespace },
    });
    api = apiV2Client({ baseUrl: t.api.url, token: t.adminToken });
    await t.trigger('kpo_api', { runId: 'r1' });
    await t.waitForRun('kpo_api', 'r1', { timeoutMs: 120_000 });
  });
  after(async () => {
    await t?.stop();
    await core?.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
  });

  void test('pods: node, phase and container states with exit code and OOMKilled', async () => {
    const ok = await api.call('get', PODS, { path: tryPath('ok') });
    assert.equal(ok.status, 200, JSON.stringify(ok.error));
    assert.equal(ok.data?.totalEntries, 1);
    const pod = ok.data?.pods[0];
    assert.deepEqual([pod?.namespace, pod?.kind, pod?.phase], [namespace, 'pod-operator', 'Succeeded']);
    assert.ok(pod?.node, 'scheduled on a node');
    const base = pod?.containers.find((c) => c.name === 'base');
    assert.deepEqual([base?.state, base?.exitCode], ['terminated', 0]);

    const oom = await api.call('get', PODS, { path: tryPath('oom') });
    assert.equal(oom.status, 200, JSON.stringify(oom.error));
    const killed = oom.data?.pods[0]?.containers.find((c) => c.name === 'base');
    assert.deepEqual([killed?.state, killed?.reason], ['terminated', 'OOMKilled']);
    assert.equal(killed?.exitCode, 137);
    assert.notEqual(oom.data?.pods[0]?.name, pod?.name);
  });

  void test('events of the pod, its log whole and by tail, and a followed log over SSE', async () => {
    const listed = await api.call('get', PODS, { path: tryPath('ok') });
    const pod = listed.data?.pods[0];
    assert.ok(pod);
    const podPath = { ...tryPath('ok'), podName: pod.name };
    // An event about the pod as a component would report it (the test kubelet reports none itself).
    const live = await core.readNamespacedPod({ namespace, name: pod.name });
    await core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${pod.name}.`, namespace },
        involvedObject: { kind: 'Pod', name: pod.name, namespace, uid: live.metadata?.uid ?? '', apiVersion: 'v1' },
        reason: 'Pulled', message: 'Container image "busybox:1.36" already present on machine', type: 'Normal', count: 1,
        source: { component: 'kubelet' }, firstTimestamp: new Date(), lastTimestamp: new Date(),
      },
    });
    const events = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries/{tryNumber}/pods/{podName}/events', { path: podPath });
    assert.equal(events.status, 200, JSON.stringify(events.error));
    assert.ok(events.data?.events.some((e) => e.reason === 'Pulled' && e.source === 'kubelet' && /already present/.test(e.message ?? '')), JSON.stringify(events.data));

    const LOG = '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries/{tryNumber}/pods/{podName}/log' as const;
    const whole = await api.call('get', LOG, { path: podPath });
    assert.equal(whole.status, 200, JSON.stringify(whole.error));
    assert.deepEqual([whole.data?.container, whole.data?.namespace], ['base', namespace]);
    assert.match(whole.data?.content ?? '', /hello\nfrom the pod\n/);
    const tail = await api.call('get', LOG, { path: podPath, query: { tailLines: 1 } });
    assert.equal(tail.data?.content, 'from the pod\n');
    const noContainer = await api.call('get', LOG, { path: podPath, query: { container: 'nope' } });
    assert.equal(noContainer.status, 404);

    const sse = await openSse(`${t.api.url}/api/v2/dags/kpo_api/dagRuns/r1/taskInstances/ok/tries/1/pods/${pod.name}/log/stream`, { authorization: `Bearer ${t.adminToken}` });
    assert.equal(sse.status, 200);
    const end = await sse.next((e) => e.event === 'end', 30_000);
    const text = sse.events.filter((e) => e.event === 'log').map((e) => (JSON.parse(e.data) as { content: string }).content).join('');
    assert.match(text, /hello\nfrom the pod\n/);
    assert.equal((JSON.parse(end.data) as { reason: string }).reason, 'end');
    sse.close();
  });

  void test("another try's pod and a try whose pod was deleted are 404s", async () => {
    const oom = await api.call('get', PODS, { path: tryPath('oom') });
    const oomPod = oom.data?.pods[0]?.name ?? '';
    const cross = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries/{tryNumber}/pods/{podName}/log', { path: { ...tryPath('ok'), podName: oomPod } });
    assert.equal(cross.status, 404);
    assert.match(cross.error?.error.message ?? '', /is not a pod of try 1 of task 'ok'/);
    // Once its pod is deleted, the try has no pod to show.
    await core.deleteNamespacedPod({ namespace, name: oomPod, gracePeriodSeconds: 0 });
    await waitFor(async () => (await core.listNamespacedPod({ namespace })).items.every((p) => p.metadata?.name !== oomPod), 'the OOM-killed pod is gone', 60_000);
    const none = await api.call('get', PODS, { path: tryPath('oom') });
    assert.equal(none.status, 404);
    assert.equal(none.error?.error.code, 'not_found');
    assert.match(none.error?.error.message ?? '', /has no pod in the cluster/);
  });
});
