// runPod through the fault proxy and with a hand-driven pod status: a cut and a reset log stream resume
// with no lost or repeated line, dropped and expired (410) watches still see the pod finish, and a sidecar
// that never exits does not hold the task once the base container has terminated.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { runPod } from '../../../src/kubernetes/lifecycle/index.ts';
import { binariesAvailable, connectTestCluster, waitFor } from '../../support/k8s/index.ts';
import type { FaultProxy, TestCluster } from '../../support/k8s/index.ts';
import { kubeClients, memorySink, taskPod } from './lifecycleSupport.ts';

const available = await binariesAvailable();

/** A pod bound to a node no kubelet serves: its status is whatever the test writes. */
function unmanagedPod(name: string): V1Pod {
  return {
    metadata: { name },
    spec: {
      nodeName: 'capstan-unmanaged-node',
      restartPolicy: 'Never',
      initContainers: [{ name: 'proxy', image: 'capstan/sidecar:test', restartPolicy: 'Always' }],
      containers: [{ name: 'base', image: 'capstan/task:test' }],
    },
  };
}

void describe('pod lifecycle under faults', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let proxy: FaultProxy;
  let core: CoreV1Api;
  let namespace: string;

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    namespace = await cluster.createNamespace('lcfaults');
    proxy = await cluster.startFaultProxy();
  });
  after(async () => {
    await proxy?.close();
    await core?.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
  });

  void test('a log stream cut mid-line and then reset resumes with every line exactly once, in order', async () => {
    const n = 4000;
    const text = Array.from({ length: n }, (_, i) => `line ${i + 1} ${'x'.repeat(20)}`).join('\n') + '\n';
    const isLog = (r: { path: string }) => r.path.endsWith('/pods/cut/log');
    proxy.inject({ match: { where: isLog }, action: { kind: 'dropWatch', afterEvents: 700 }, times: 1 });
    proxy.inject({ match: { where: isLog }, action: { kind: 'reset' }, times: 1 });
    const sink = memorySink();
    const clients = kubeClients(proxy.kubeConfig, namespace);
    const result = await runPod(clients, taskPod('cut', { runMs: 3000, logs: text }), {}, sink);
    assert.deepEqual(result.outcome, { kind: 'success' });
    const lines = sink.lines.filter((l) => l.startsWith('[base] line ')).map((l) => Number(l.split(' ')[2]));
    assert.equal(lines.length, n, `delivered ${lines.length} lines`);
    assert.deepEqual(lines, Array.from({ length: n }, (_, i) => i + 1));
    const logRequests = proxy.requests.filter(isLog);
    assert.ok(logRequests.length >= 3, `${logRequests.length} log requests`);
    assert.equal(logRequests[0]?.fault, 'dropWatch');
    assert.ok(logRequests.slice(1).some((r) => r.query.get('sinceTime') !== null), 'resumed with sinceTime');
    assert.ok(sink.lines.some((l) => /\[base\] log stream .*; resuming/.test(l)));
  });

  void test('dropped and expired (410) pod watches re-list and still see the pod finish', async () => {
    const isPodWatch = (r: { path: string; query: URLSearchParams }) =>
      r.path.endsWith(`/namespaces/${namespace}/pods`) && r.query.get('fieldSelector') === 'metadata.name=rewatch';
    // The first watch (made right after the create, long before the pod ends) gets 410; the next ones
    // are cut after one event each.
    proxy.inject({ match: { watch: true, where: isPodWatch }, action: { kind: 'expireWatch' }, times: 1 });
    proxy.inject({ match: { watch: true, where: isPodWatch }, action: { kind: 'dropWatch', afterEvents: 1 }, times: 2 });
    const clients = kubeClients(proxy.kubeConfig, namespace);
    const result = await runPod(clients, taskPod('rewatch', { runMs: 2000 }), { logContainers: false }, memorySink());
    assert.deepEqual(result.outcome, { kind: 'success' });
    const seen = proxy.requests.filter(isPodWatch);
    const expiredAt = seen.findIndex((r) => r.fault === 'expireWatch');
    assert.ok(expiredAt >= 0, 'a watch was expired');
    assert.ok(seen.some((r) => r.fault === 'dropWatch'), 'a watch was cut (and the pod still seen to finish)');
    assert.ok(seen.slice(expiredAt + 1).some((r) => !r.watch), 'a re-list followed the 410');
  });

  void test('a sidecar that never exits does not hang the task once the base container terminated', async () => {
    // No kubelet runs pods bound to a node that does not exist, so the test reports the status itself:
    // the base container has exited 0, the sidecar is still running and the pod stays Running.
    const body = unmanagedPod('sidecar');
    const clients = kubeClients(cluster.kubeConfig, namespace);
    // Following the sidecar's log must not hold the task either: it is cut after the grace period.
    const running = runPod(clients, body, { logContainers: ['base', 'proxy'], logTerminatedGraceMs: 500, deleteGracePeriodSeconds: 0 }, memorySink());
    await waitFor('pod created', async () => (await core.listNamespacedPod({ namespace, fieldSelector: 'metadata.name=sidecar' })).items[0]);
    const now = new Date();
    const status = {
      phase: 'Running',
      conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now }],
      initContainerStatuses: [{ name: 'proxy', image: 'capstan/sidecar:test', imageID: '', ready: true, restartCount: 0, started: true, state: { running: { startedAt: now } } }],
      containerStatuses: [{ name: 'base', image: 'capstan/task:test', imageID: '', ready: false, restartCount: 0,
        state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } } }],
    };
    await core.patchNamespacedPodStatus({ namespace, name: 'sidecar', body: { status } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    const result = await running;
    assert.deepEqual(result.outcome, { kind: 'success' });
    assert.equal(result.pod?.status?.phase, 'Running', 'the pod itself was still running');
  });

  void test('a pod failed by the loss of its node is reported as node loss', async () => {
    const clients = kubeClients(cluster.kubeConfig, namespace);
    const running = runPod(clients, unmanagedPod('lost'), { logContainers: false, deleteGracePeriodSeconds: 0 }, memorySink());
    await waitFor('pod created', async () => (await core.listNamespacedPod({ namespace, fieldSelector: 'metadata.name=lost' })).items[0]);
    const now = new Date();
    const status = {
      phase: 'Failed',
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
        { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists', lastTransitionTime: now },
      ],
      containerStatuses: [{ name: 'base', image: 'capstan/task:test', imageID: '', ready: false, restartCount: 0,
        state: { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown', startedAt: now, finishedAt: now } } }],
    };
    await core.patchNamespacedPodStatus({ namespace, name: 'lost', body: { status } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    const result = await running;
    assert.equal(result.end.kind, 'nodeLost');
    assert.ok(result.outcome.kind === 'failure' && result.outcome.platform && /lost with its node: PodGC: node no longer exists/.test(result.outcome.message));
  });
});
