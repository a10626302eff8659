// The simulated pod lifecycles that operator and executor tests rely on:
// each outcome of the annotation vocabulary, init containers and sidecars in
// order, deletion mid-run, a Job run by the real Job controller, and a CRD.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { ApiException, ApiextensionsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi, Log } from '@kubernetes/client-node';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { binariesAvailable, connectTestCluster, inPhase, podAnnotations, waitFor, waitForPod } from '../../support/k8s/index.ts';
import type { PodBehaviour, TestCluster } from '../../support/k8s/index.ts';

const available = await binariesAvailable();

function pod(name: string, behaviour: PodBehaviour, extra: { initContainers?: V1Container[] } = {}): V1Pod {
  return {
    metadata: { name, annotations: podAnnotations(behaviour) },
    spec: {
      restartPolicy: 'Never',
      containers: [{ name: 'base', image: 'capstan/task:test' }],
      ...extra,
    },
  };
}

async function eventReasons(core: CoreV1Api, namespace: string, pod: string): Promise<string[]> {
  const events = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${pod}` });
  return events.items.map((e) => e.reason ?? '');
}

void describe('simulated pod lifecycles', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let namespace: string;

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    namespace = await cluster.createNamespace('lifecycle');
  });
  after(async () => {
    await core?.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
  });

  void test('oom: first container OOMKilled with 137, pod Failed', async () => {
    await core.createNamespacedPod({ namespace, body: pod('oom', { outcome: 'oom', runMs: 0 }) });
    const p = await waitForPod(cluster.kubeConfig, namespace, 'oom', inPhase('Failed'));
    const t = p.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(t?.reason, 'OOMKilled');
    assert.equal(t?.exitCode, 137);
  });

  void test('evict: pod Failed with reason Evicted and a DisruptionTarget condition', async () => {
    await core.createNamespacedPod({ namespace, body: pod('evicted', { outcome: 'evict', runMs: 0 }) });
    const p = await waitForPod(cluster.kubeConfig, namespace, 'evicted', inPhase('Failed'));
    assert.equal(p.status?.reason, 'Evicted');
    assert.ok(p.status?.conditions?.some((c) => c.type === 'DisruptionTarget' && c.status === 'True'));
    await waitFor('Evicted event', async () =>
      ((await eventReasons(core, namespace, 'evicted')).includes('Evicted') ? true : undefined));
  });

  void test('image-pull-error: ErrImagePull, then ImagePullBackOff, never running', async () => {
    await core.createNamespacedPod({ namespace, body: pod('pull', { outcome: 'image-pull-error' }) });
    const waitingReason = (p: V1Pod): string | undefined => p.status?.containerStatuses?.[0]?.state?.waiting?.reason;
    await waitForPod(cluster.kubeConfig, namespace, 'pull', (p) => waitingReason(p) === 'ErrImagePull');
    const p = await waitForPod(cluster.kubeConfig, namespace, 'pull', (p) => waitingReason(p) === 'ImagePullBackOff');
    assert.equal(p.status?.phase, 'Pending');
    assert.match(p.status?.containerStatuses?.[0]?.state?.waiting?.message ?? '', /capstan\/task:test/);
    await waitFor('Failed and BackOff events', async () => {
      const reasons = await eventReasons(core, namespace, 'pull');
      return reasons.includes('Failed') && reasons.includes('BackOff') ? true : undefined;
    });
  });

  void test('pending: scheduled but stuck ContainerCreating; unschedulable: real scheduler condition', async () => {
    await core.createNamespacedPod({ namespace, body: pod('stuck', { outcome: 'pending' }) });
    const stuck = await waitForPod(cluster.kubeConfig, namespace, 'stuck', (p) => p.status?.podIP !== undefined);
    assert.equal(stuck.status?.containerStatuses?.[0]?.state?.waiting?.reason, 'ContainerCreating');

    const unschedulable = pod('nowhere', {});
    unschedulable.spec!.nodeSelector = { 'capstan.test/no-such-node': 'true' };
    await core.createNamespacedPod({ namespace, body: unschedulable });
    const p = await waitForPod(cluster.kubeConfig, namespace, 'nowhere', (p) =>
      p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable') ?? false);
    assert.equal(p.status?.phase, 'Pending');
  });

  void test('init containers complete in order, the sidecar runs alongside and stops at the end', async () => {
    const initContainers: V1Container[] = [
      { name: 'fetch', image: 'capstan/init:test' },
      { name: 'proxy', image: 'capstan/sidecar:test', restartPolicy: 'Always' },
      { name: 'prepare', image: 'capstan/init:test' },
    ];
    await core.createNamespacedPod({ namespace, body: pod('init', { initStepMs: 50, runMs: 200 }, { initContainers }) });
    const running = await waitForPod(cluster.kubeConfig, namespace, 'init', inPhase('Running'));
    const [fetch, proxy, prepare] = running.status?.initContainerStatuses ?? [];
    assert.equal(fetch?.state?.terminated?.reason, 'Completed');
    assert.ok(proxy?.state?.running, 'sidecar keeps running while the main container runs');
    assert.equal(prepare?.state?.terminated?.reason, 'Completed');
    const fetchEnd = Date.parse(String(fetch?.state?.terminated?.finishedAt));
    const prepareStart = Date.parse(String(prepare?.state?.terminated?.startedAt));
    assert.ok(fetchEnd <= prepareStart, 'prepare starts after fetch has finished');
    const done = await waitForPod(cluster.kubeConfig, namespace, 'init', inPhase('Succeeded'));
    assert.equal(done.status?.initContainerStatuses?.[1]?.state?.terminated?.reason, 'Completed');
  });

  void test('activeDeadlineSeconds ends a running pod with DeadlineExceeded', async () => {
    const body = pod('deadline', { outcome: 'run-forever' });
    body.spec!.activeDeadlineSeconds = 2;
    await core.createNamespacedPod({ namespace, body });
    const p = await waitForPod(cluster.kubeConfig, namespace, 'deadline', inPhase('Failed'), 15_000);
    assert.equal(p.status?.reason, 'DeadlineExceeded');
    const ran = Date.parse(String(p.status?.containerStatuses?.[0]?.state?.terminated?.finishedAt)) -
      Date.parse(String(p.status?.startTime));
    assert.ok(ran >= 1000, `killed after ${ran} ms, before the deadline`);
  });

  void test('a pod deleted mid-run is terminated (143) and then removed', async () => {
    await core.createNamespacedPod({ namespace, body: pod('victim', { outcome: 'run-forever' }) });
    await waitForPod(cluster.kubeConfig, namespace, 'victim', inPhase('Running'));
    await core.deleteNamespacedPod({ namespace, name: 'victim' });
    const killed = await waitForPod(cluster.kubeConfig, namespace, 'victim', inPhase('Failed'));
    assert.equal(killed.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 143);
    await waitFor('pod removed', async () => {
      const list = await core.listNamespacedPod({ namespace, fieldSelector: 'metadata.name=victim' });
      return list.items.length === 0 ? true : undefined;
    });
  });

  void test('logs per container, set by annotation or by setPodLogs, with tailLines', async () => {
    const body = pod('two', { logs: { base: 'b1\nb2\nb3\n' } });
    body.spec!.containers.push({ name: 'helper', image: 'capstan/helper:test' });
    await core.createNamespacedPod({ namespace, body });
    await waitForPod(cluster.kubeConfig, namespace, 'two', inPhase('Succeeded'));
    assert.equal(await core.readNamespacedPodLog({ namespace, name: 'two', container: 'base', tailLines: 2 }), 'b2\nb3\n');
    await cluster.setPodLogs(namespace, 'two', { base: 'b1\nb2\nb3\n', helper: 'h\n' });
    const helperLog = await waitFor('helper log', async () => {
      const text = await core.readNamespacedPodLog({ namespace, name: 'two', container: 'helper' });
      return text === 'h\n' ? text : undefined;
    }, 10_000);
    assert.equal(helperLog, 'h\n');
  });

  void test('a followed log stream ends when the container terminates; a waiting container has no log yet', async () => {
    await core.createNamespacedPod({ namespace, body: pod('follow', { runMs: 1500, logs: 'line 1\nline 2\n' }) });
    const early = await core.readNamespacedPodLog({ namespace, name: 'follow' }).then(() => undefined, (e: unknown) => e);
    if (early !== undefined) {
      assert.ok(early instanceof ApiException && early.code === 400, `expected 400 while waiting, got ${String(early)}`);
    }
    await waitForPod(cluster.kubeConfig, namespace, 'follow', inPhase('Running'));
    const sink = new PassThrough();
    let text = '';
    sink.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const ended = new Promise<void>((resolve) => sink.on('finish', resolve));
    await new Log(cluster.kubeConfig).log(namespace, 'follow', 'base', sink, { follow: true });
    await ended;
    assert.equal(text, 'line 1\nline 2\n');
    const after = await core.readNamespacedPod({ namespace, name: 'follow' });
    assert.equal(after.status?.containerStatuses?.[0]?.state?.terminated?.reason, 'Completed',
      'the stream ended because the container terminated');

    await core.createNamespacedPod({ namespace, body: pod('waiting', { outcome: 'pending' }) });
    await waitForPod(cluster.kubeConfig, namespace, 'waiting', (p) => p.status?.podIP !== undefined);
    const err = await core.readNamespacedPodLog({ namespace, name: 'waiting' }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ApiException && err.code === 400, `expected 400, got ${String(err)}`);
    assert.match(String(err.body), /is waiting to start: ContainerCreating/);
  });

  void test('LimitRange defaults are applied by real admission', async () => {
    const limited = await cluster.createNamespace('limits');
    try {
      await core.createNamespacedLimitRange({
        namespace: limited,
        body: { metadata: { name: 'defaults' }, spec: { limits: [{ type: 'Container', _default: { cpu: '500m' }, defaultRequest: { cpu: '250m' } }] } },
      });
      const created = await core.createNamespacedPod({ namespace: limited, body: pod('limited', {}) });
      assert.equal(created.spec?.containers[0]?.resources?.limits?.['cpu'], '500m');
      assert.equal(created.spec?.containers[0]?.resources?.requests?.['cpu'], '250m');
    } finally {
      await core.deleteNamespace({ name: limited }).catch(() => {});
    }
  });

  void test('a Job is run by the real Job controller to Complete, and a failing one to Failed', async () => {
    const batch = cluster.kubeConfig.makeApiClient(BatchV1Api);
    const job = (name: string, behaviour: PodBehaviour) => ({
      metadata: { name },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { annotations: podAnnotations(behaviour) },
          spec: { restartPolicy: 'Never', containers: [{ name: 'base', image: 'capstan/task:test' }] },
        },
      },
    });
    await batch.createNamespacedJob({ namespace, body: job('job-ok', { runMs: 100 }) });
    await batch.createNamespacedJob({ namespace, body: job('job-bad', { outcome: 'fail', exitCode: 2, runMs: 100 }) });
    const condition = async (name: string, type: string): Promise<true | undefined> => {
      const j = await batch.readNamespacedJob({ namespace, name });
      return j.status?.conditions?.some((c) => c.type === type && c.status === 'True') ? true : undefined;
    };
    await waitFor('job-ok Complete', () => condition('job-ok', 'Complete'), 60_000, 200);
    await waitFor('job-bad Failed', () => condition('job-bad', 'Failed'), 60_000, 200);
  });

  void test('a CustomResourceDefinition can be installed and used', async () => {
    const apiext = cluster.kubeConfig.makeApiClient(ApiextensionsV1Api);
    const group = `lifecycle-${namespace}.capstan.test`;
    await apiext.createCustomResourceDefinition({
      body: {
        metadata: { name: `sparkapplications.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { kind: 'SparkApplication', plural: 'sparkapplications', singular: 'sparkapplication' },
          versions: [{
            name: 'v1beta2', served: true, storage: true,
            schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
          }],
        },
      },
    });
    const custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
    const created = await waitFor('CRD served', () => custom.createNamespacedCustomObject({
      group, version: 'v1beta2', namespace, plural: 'sparkapplications',
      body: { apiVersion: `${group}/v1beta2`, kind: 'SparkApplication', metadata: { name: 'pi' }, spec: { type: 'Scala' } },
    }), 15_000, 100);
    assert.equal((created as { metadata?: { name?: string } }).metadata?.name, 'pi');
    await apiext.deleteCustomResourceDefinition({ name: `sparkapplications.${group}` });
  });
});
