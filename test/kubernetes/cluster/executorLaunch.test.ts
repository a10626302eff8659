// KubernetesExecutor launching against the real control plane: pod creates are concurrent but bounded by
// podCreationConcurrency; a ResourceQuota on the pod count makes tasks wait (creates retried with backoff)
// and then run; a service account without `create pods` fails the try with the API's RBAC message.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { KubeClients } from '../../../src/kubernetes/index.ts';
import { binariesAvailable, connectTestCluster } from '../../support/k8s/index.ts';
import type { FaultProxy, TestCluster } from '../../support/k8s/index.ts';
import { startExecutorHarness, type ExecutorHarness } from './executorSupport.ts';

const available = await binariesAvailable();

function manyTasks(dagId: string, n: number, command: string): string {
  return `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: '${dagId}', schedule: null }, () => {
  for (let i = 0; i < ${n}; i++) new BashOperator({ taskId: 't' + i, bashCommand: '${command}' });
});
`;
}

/** Counts createNamespacedPod calls in flight on the executor's client. */
function countCreates(clients: KubeClients, seen: { now: number; max: number; total: number }): void {
  const core = clients.core as CoreV1Api & { createNamespacedPod: CoreV1Api['createNamespacedPod'] };
  const original = core.createNamespacedPod.bind(core);
  core.createNamespacedPod = (async (...args: Parameters<CoreV1Api['createNamespacedPod']>) => {
    seen.now++;
    seen.total++;
    seen.max = Math.max(seen.max, seen.now);
    try {
      return await original(...args);
    } finally {
      seen.now--;
    }
  }) as CoreV1Api['createNamespacedPod'];
}

void describe('KubernetesExecutor launching', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let admin: CoreV1Api;
  const namespaces: string[] = [];

  before(async () => {
    cluster = await connectTestCluster();
    admin = cluster.kubeConfig.makeApiClient(CoreV1Api);
  });
  after(async () => {
    for (const name of namespaces) await admin?.deleteNamespace({ name }).catch(() => {});
    await cluster?.stop();
  });

  void test('creates run concurrently, never more than podCreationConcurrency at once', async () => {
    const namespace = await cluster.createNamespace('kexec-burst');
    namespaces.push(namespace);
    const proxy: FaultProxy = await cluster.startFaultProxy();
    // A slow API server: each create takes 300 ms, so serial creation would show max 1.
    proxy.inject({ match: { method: 'POST', path: `/namespaces/${namespace}/pods` }, action: { kind: 'delay', ms: 300 } });
    const seen = { now: 0, max: 0, total: 0 };
    let h: ExecutorHarness | undefined;
    try {
      h = await startExecutorHarness({
        cluster, namespace, kubeConfig: proxy.kubeConfig, dags: { 'burst.ts': manyTasks('burst', 9, 'echo ok') },
        settings: { podCreationConcurrency: 3 }, onClients: (c) => countCreates(c, seen),
      });
      await h.t.trigger('burst', { runId: 'r1' });
      const run = await h.t.waitForRun('burst', 'r1', { timeoutMs: 45_000 });
      assert.equal(run.state, 'success', (await h.t.taskInstances('burst', 'r1')).map((ti) => `${ti.task_id}: ${ti.state} ${ti.failure_reason ?? ''}`).join('\n'));
      assert.equal(seen.total, 9);
      assert.ok(seen.max <= 3, `at most 3 creates in flight, saw ${seen.max}`);
      assert.ok(seen.max >= 2, `creates overlap, saw at most ${seen.max} at once`);
    } finally {
      await h?.stop();
      await proxy.close();
    }
  });

  void test('quota exhausted: creates are refused, retried with backoff, and every task runs', async () => {
    const namespace = await cluster.createNamespace('kexec-quota');
    namespaces.push(namespace);
    await admin.createNamespacedResourceQuota({ namespace, body: { metadata: { name: 'two-pods' }, spec: { hard: { pods: '2' } } } });
    const h = await startExecutorHarness({ cluster, namespace, dags: { 'quota.ts': manyTasks('quota', 5, 'sleep 0.3; echo ok') } });
    try {
      await h.t.trigger('quota', { runId: 'r1' });
      const run = await h.t.waitForRun('quota', 'r1', { timeoutMs: 50_000 });
      assert.equal(run.state, 'success', JSON.stringify(await h.t.taskStates('quota', 'r1')));
      for (const ti of await h.t.taskInstances('quota', 'r1')) assert.equal(ti.try_number, 1, `${ti.task_id} ran on its first try`);
      const metrics = await h.t.engine.metrics.metricsText();
      const refused = Number(/capstan_kubernetes_executor_pod_create_failures_total\{reason="quota_exceeded"\} (\d+)/.exec(metrics)?.[1] ?? 0);
      assert.ok(refused > 0, 'the quota refused creates');
    } finally {
      await h.stop();
    }
  });

  void test('RBAC forbids creating pods: the try fails with the API message and the grant to add', async () => {
    const namespace = await cluster.createNamespace('kexec-rbac');
    namespaces.push(namespace);
    const rbac = cluster.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await admin.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'watcher' } } });
    await rbac.createNamespacedRole({
      namespace,
      body: { metadata: { name: 'watch-only' }, rules: [{ apiGroups: [''], resources: ['pods', 'events'], verbs: ['get', 'list', 'watch', 'patch', 'delete'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: { metadata: { name: 'watch-only' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'watch-only' }, subjects: [{ kind: 'ServiceAccount', name: 'watcher', namespace }] },
    });
    const kubeConfig = await cluster.serviceAccountKubeConfig(namespace, 'watcher');
    const h = await startExecutorHarness({ cluster, namespace, kubeConfig, kubelet: false, dags: { 'rbac.ts': manyTasks('rbac', 1, 'echo never') } });
    try {
      await h.t.trigger('rbac', { runId: 'r1' });
      const run = await h.t.waitForRun('rbac', 'r1', { timeoutMs: 20_000 });
      assert.equal(run.state, 'failed');
      const [ti] = await h.t.taskInstances('rbac', 'r1');
      assert.match(ti?.failure_reason ?? '', /could not start: worker pod create refused: .*forbidden.*create.*pods/is);
      assert.match(ti?.failure_reason ?? '', /Hint: .*kubectl -n \S+ create role/s, 'the hint names the grant');
      assert.doesNotMatch(ti?.failure_reason ?? '', /gave up after/, 'RBAC refusals are not retried');
      assert.equal((await h.pods()).length, 0);
    } finally {
      await h.stop();
    }
  });
});
