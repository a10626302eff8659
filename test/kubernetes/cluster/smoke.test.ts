// Proves the Kubernetes test wiring end to end: real API server, scheduler,
// controllers and kwok-simulated pods that succeed or fail as told, logs
// through pods/log, events, RBAC and ResourceQuota denials.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiException, CoreV1Api, RbacAuthorizationV1Api, Watch } from '@kubernetes/client-node';
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { binariesAvailable, connectTestCluster, inPhase, podAnnotations, waitFor, waitForPod } from '../../support/k8s/index.ts';
import type { PodBehaviour, TestCluster } from '../../support/k8s/index.ts';

const available = await binariesAvailable();
if (!available && process.env['CAPSTAN_K8S_REQUIRED'] === '1') {
  throw new Error('CAPSTAN_K8S_REQUIRED=1 but the Kubernetes test binaries are not built');
}

function taskPod(name: string, behaviour: PodBehaviour): V1Pod {
  return {
    metadata: { name, annotations: podAnnotations(behaviour) },
    spec: {
      restartPolicy: 'Never',
      containers: [{ name: 'base', image: 'capstan/task:test', command: ['run-task'] }],
    },
  };
}

async function expectStatus(code: number, call: () => Promise<unknown>): Promise<ApiException<unknown>> {
  try {
    await call();
  } catch (err) {
    assert.ok(err instanceof ApiException, `expected an ApiException, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${String(err.body)}`);
    return err;
  }
  assert.fail(`expected HTTP ${code}, but the call succeeded`);
}

void describe('kubernetes test cluster smoke', { skip: !available && 'binaries not built (bash scripts/k8s-testcluster.sh build)' }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let namespace: string;

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    namespace = await cluster.createNamespace('smoke');
  });
  after(async () => {
    await core?.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
  });

  void test('pods succeed and fail as told, with logs, termination message and events', async () => {
    const events: CoreV1Event[] = [];
    const watching = await new Watch(cluster.kubeConfig).watch(
      `/api/v1/namespaces/${namespace}/events`, {},
      (_type: string, event: CoreV1Event) => void events.push(event),
      () => {},
    );
    try {
      await core.createNamespacedPod({ namespace, body: taskPod('ok', { logs: 'hello from ok\n' }) });
      await core.createNamespacedPod({
        namespace,
        body: taskPod('bad', { outcome: 'fail', exitCode: 3, terminationMessage: 'task exploded', logs: 'about to fail\n' }),
      });

      const ok = await waitForPod(cluster.kubeConfig, namespace, 'ok', inPhase('Succeeded'));
      assert.equal(ok.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
      assert.equal(ok.spec?.nodeName, cluster.descriptor.nodeNames[0], 'scheduled by the real scheduler');

      const bad = await waitForPod(cluster.kubeConfig, namespace, 'bad', inPhase('Failed'));
      const terminated = bad.status?.containerStatuses?.[0]?.state?.terminated;
      assert.equal(terminated?.exitCode, 3);
      assert.equal(terminated?.reason, 'Error');
      assert.equal(terminated?.message, 'task exploded');

      assert.equal(await core.readNamespacedPodLog({ namespace, name: 'ok' }), 'hello from ok\n');
      assert.equal(await core.readNamespacedPodLog({ namespace, name: 'bad', container: 'base' }), 'about to fail\n');

      await waitFor('Scheduled and Started events for both pods', async () => {
        const seen = (pod: string, reason: string): boolean =>
          events.some((e) => e.involvedObject.name === pod && e.reason === reason);
        return ['ok', 'bad'].every((p) => seen(p, 'Scheduled') && seen(p, 'Started')) ? true : undefined;
      }, 15_000);
    } finally {
      watching.abort();
    }
  });

  void test('a service account without a role gets 403; with one it gets 200', async () => {
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'restricted' } } });
    const asRestricted = (await cluster.serviceAccountKubeConfig(namespace, 'restricted')).makeApiClient(CoreV1Api);
    const denied = await expectStatus(403, () => asRestricted.listNamespacedPod({ namespace }));
    assert.match(String(denied.body), /system:serviceaccount:[^:]+:restricted/);

    const rbac = cluster.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace,
      body: { metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'restricted-reads-pods' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'restricted', namespace }],
      },
    });
    const pods = await waitFor('RBAC to allow the bound role', () => asRestricted.listNamespacedPod({ namespace }), 10_000);
    assert.ok(pods.items.length >= 0);
  });

  void test('a pod over the ResourceQuota is refused with 403', async () => {
    const quotaNs = await cluster.createNamespace('quota');
    try {
      await core.createNamespacedResourceQuota({
        namespace: quotaNs,
        body: { metadata: { name: 'one-pod' }, spec: { hard: { pods: '1' } } },
      });
      // Admission enforces a quota only once the quota controller has computed its usage.
      await waitFor('quota usage computed', async () => {
        const q = await core.readNamespacedResourceQuota({ namespace: quotaNs, name: 'one-pod' });
        return q.status?.used?.['pods'] !== undefined ? true : undefined;
      });
      await core.createNamespacedPod({ namespace: quotaNs, body: taskPod('first', { outcome: 'run-forever' }) });
      const refused = await expectStatus(403, () =>
        core.createNamespacedPod({ namespace: quotaNs, body: taskPod('second', {}) }));
      assert.match(String(refused.body), /exceeded quota: one-pod/);
    } finally {
      await core.deleteNamespace({ name: quotaNs }).catch(() => {});
    }
  });
});
