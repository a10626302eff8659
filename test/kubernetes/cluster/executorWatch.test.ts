// The KubernetesExecutor's pod watch under faults, and adoption: watches cut mid-run, a forced 410 (from the
// fault proxy, and for real after an etcd compaction) re-list and miss nothing — every pod's end is seen
// (its pod cleaned up, its slot freed) and every try ends once; a second executor adopts a running pod by its
// labels (the first lets go), reports its end, and returns the queued try that has no pod; its orphan sweeps
// leave the pods of a live scheduler alone. The adopter's job id is too long for a label value (hashed label,
// exact id in the annotation).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { executorIdLabel, TI_ID_ANNOTATION, WORKER_LABELS } from '../../../src/executors/kubernetes/index.ts';
import type { ExecutorEvent } from '../../../src/executors/types.ts';
import { binariesAvailable, connectTestCluster, podAnnotations, waitFor } from '../../support/k8s/index.ts';
import type { FaultProxy, TestCluster } from '../../support/k8s/index.ts';
import { secondExecutor, startExecutorHarness, type ExecutorHarness } from './executorSupport.ts';

const available = await binariesAvailable();

const STEADY = `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'steady', schedule: null }, () => {
  for (let i = 0; i < 10; i++) new BashOperator({ taskId: 't' + i, bashCommand: 'sleep ' + (1 + (i % 3)) + '; echo done' });
});
`;

const QUICK = `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'quick', schedule: null }, () => {
  new BashOperator({ taskId: 'quick', bashCommand: 'echo quick' });
});
`;

const LONG = `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'long', schedule: null }, () => {
  new BashOperator({ taskId: 'long', bashCommand: 'sleep 8; echo finished' });
});
`;

void describe('KubernetesExecutor watch and adoption', { skip: !available && 'binaries not built' }, () => {
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

  void test('watches cut and expired (410, also after an etcd compaction) mid-run: nothing missed, nothing twice', async () => {
    const namespace = await cluster.createNamespace('kexec-watch');
    namespaces.push(namespace);
    const proxy: FaultProxy = await cluster.startFaultProxy();
    let h: ExecutorHarness | undefined;
    try {
      h = await startExecutorHarness({ cluster, namespace, kubeConfig: proxy.kubeConfig, dags: { 'steady.ts': STEADY } });
      const isPodWatch = (r: { path: string; watch: boolean }) => r.watch && r.path.endsWith(`/namespaces/${namespace}/pods`);
      await h.t.trigger('steady', { runId: 'r1' });
      await waitFor('pods running', async () => ((await h?.pods())?.filter((p) => p.status?.phase === 'Running').length ?? 0) >= 3 ? true : undefined, 20_000);
      // 1. The next watch is answered with 410 Expired; the open one is cut.
      proxy.inject({ match: { watch: true, where: (r) => r.path.endsWith(`/namespaces/${namespace}/pods`) }, action: { kind: 'expireWatch' }, times: 1 });
      const listsBefore = proxy.requests.filter((r) => !r.watch && r.method === 'GET' && r.path.endsWith(`/namespaces/${namespace}/pods`)).length;
      proxy.dropWatches();
      // Generous: the reconnect backs off up to 5 s, and this process also runs the engine and its workers.
      await proxy.waitForRequest((r) => isPodWatch(r) && r.fault === 'expireWatch', 30_000);
      // 2. etcd compacted past the watch's resourceVersion, then the watch reset: the server itself says 410.
      await cluster.compactEtcd();
      proxy.dropWatches({ reset: true });

      const run = await h.t.waitForRun('steady', 'r1', { timeoutMs: 45_000 });
      assert.equal(run.state, 'success', JSON.stringify((await h.t.taskInstances('steady', 'r1')).map((ti) => [ti.task_id, ti.state, ti.try_number, ti.failure_reason])));
      for (const ti of await h.t.taskInstances('steady', 'r1')) assert.equal(ti.try_number, 1);
      const lists = proxy.requests.filter((r) => !r.watch && r.method === 'GET' && r.path.endsWith(`/namespaces/${namespace}/pods`)).length;
      assert.ok(lists > listsBefore, 'the 410 made the executor re-list');
      // Every pod's end was seen: all cleaned up (succeeded pods are deleted) and every slot freed.
      const executor = h.executor;
      await waitFor('pods cleaned up and slots freed', async () => ((await h?.pods())?.length === 0 && executor.openSlots() === h?.t.engine.config.core.parallelism ? true : undefined), 15_000);
      const metrics = await h.t.engine.metrics.metricsText();
      assert.match(metrics, /capstan_kubernetes_executor_pods_created_total 10\n/);
    } finally {
      await h?.stop();
      await proxy.close();
    }
  });

  void test("the orphan sweep leaves a dead owner's pod alone while its try has just ended (the pod is finishing), then cleans it up once it is terminal", async () => {
    const namespace = await cluster.createNamespace('kexec-sweep');
    namespaces.push(namespace);
    let sweeps = 0;
    const h = await startExecutorHarness({
      // The try must still count as just ended when the sweeps look, however slow this machine is.
      cluster, namespace, dags: { 'quick.ts': QUICK }, settings: { podCheckIntervalMs: 200 }, healthCheckThresholdMs: 300_000,
      onClients: (clients) => {
        // Count the sweeps (lists of other owners' pods).
        const list = clients.core.listNamespacedPod.bind(clients.core);
        clients.core.listNamespacedPod = ((param: Parameters<typeof list>[0], ...rest: unknown[]) => {
          if (param.labelSelector?.includes(`${WORKER_LABELS.executorId}!=`)) sweeps++;
          return (list as (...a: unknown[]) => ReturnType<typeof list>)(param, ...rest);
        }) as typeof list;
      },
    });
    try {
      await h.t.trigger('quick', { runId: 'r1' });
      assert.equal((await h.t.waitForRun('quick', 'r1', { timeoutMs: 45_000 })).state, 'success');
      const [ti] = await h.t.taskInstances('quick', 'r1');
      assert.ok(ti);
      // The pod of that (just ended) try as a scheduler that died meanwhile left it: still running, its task
      // having reported (a real worker then ships the rest of its log and exits).
      const name = 'quick-finishing';
      await h.core.createNamespacedPod({ namespace, body: {
        metadata: {
          name,
          labels: { 'capstan.dev/kind': WORKER_LABELS.kindValue, [WORKER_LABELS.executorId]: 'dead-scheduler' },
          annotations: { ...podAnnotations({ outcome: 'run-forever' }), [WORKER_LABELS.executorId]: 'dead-scheduler', [TI_ID_ANNOTATION]: ti.id, 'capstan.dev/try-number': String(ti.try_number) },
        },
        spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 0, containers: [{ name: 'base', image: 'capstan/worker:test' }] },
      } });
      await waitFor('the pod running', async () => ((await h.core.readNamespacedPod({ namespace, name }).catch(() => undefined))?.status?.phase === 'Running' ? true : undefined), 20_000);
      const seen = sweeps;
      await waitFor('three sweeps', async () => (sweeps >= seen + 3 ? true : undefined), 15_000);
      const live = await h.core.readNamespacedPod({ namespace, name }).catch(() => undefined);
      assert.ok(live !== undefined && live.metadata?.deletionTimestamp === undefined, 'a finishing pod of a just-ended try was deleted');
      // Once it has ended, the sweep cleans it up by the deletion policy (a succeeded try's pod is deleted).
      await h.core.patchNamespacedPod({ namespace, name, body: { metadata: { annotations: podAnnotations({ outcome: 'succeed', runMs: 0 }) } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await waitFor('the ended pod cleaned up', async () => ((await h.pods()).some((p) => p.metadata?.name === name && p.metadata.deletionTimestamp === undefined) ? undefined : true), 20_000);
    } finally {
      await h.stop();
    }
  });

  void test('a second executor adopts a running pod by its labels, reports its end, and returns a try without pod', async () => {
    // A scheduler job id too long (and with characters) for a label value: the owner label is its hashed form.
    const B_ID = `scheduler-b.${'host-with-a-long-name-'.repeat(3)}pid:4242`;
    const namespace = await cluster.createNamespace('kexec-adopt');
    namespaces.push(namespace);
    const h = await startExecutorHarness({ cluster, namespace, dags: { 'long.ts': LONG } });
    let sweeps = 0;
    // Count B's orphan sweeps (lists of other owners' pods).
    const b = secondExecutor(h, cluster, { namespace }, (clients) => {
      const list = clients.core.listNamespacedPod.bind(clients.core);
      clients.core.listNamespacedPod = ((param: Parameters<typeof list>[0], ...rest: unknown[]) => {
        if (param.labelSelector?.includes(`capstan.dev/executor-id!=${executorIdLabel(B_ID)}`)) sweeps++;
        return (list as (...a: unknown[]) => ReturnType<typeof list>)(param, ...rest);
      }) as typeof list;
    });
    try {
      await h.t.trigger('long', { runId: 'r1' });
      const pod = await waitFor('the pod running', async () => (await h.pods()).find((p) => p.status?.phase === 'Running'), 20_000);
      const [ti] = await h.t.taskInstances('long', 'r1');
      assert.ok(ti);
      const slotsA = h.executor.openSlots();
      await b.start({ jobId: B_ID });
      // Two live schedulers never fight: B's sweeps see A's pod and leave it (A's job heartbeats).
      await waitFor('two sweeps by B', async () => (sweeps >= 2 ? true : undefined), 10_000);
      const untouched = await admin.readNamespacedPod({ namespace, name: pod.metadata?.name ?? '' });
      assert.equal(untouched.metadata?.labels?.['capstan.dev/executor-id'], h.executor.executorId);
      assert.equal(untouched.metadata?.deletionTimestamp, undefined);
      assert.equal(h.executor.openSlots(), slotsA);
      const orphanWithoutPod = { ...ti, id: 'no-such-ti', state: 'queued' as const };
      const notAdopted = await b.tryAdopt([ti, orphanWithoutPod]);
      assert.deepEqual(notAdopted.map((t) => t.id), ['no-such-ti']);
      const relabelled = await admin.readNamespacedPod({ namespace, name: pod.metadata?.name ?? '' });
      assert.equal(relabelled.metadata?.labels?.['capstan.dev/executor-id'], executorIdLabel(B_ID));
      assert.equal(relabelled.metadata?.annotations?.['capstan.dev/executor-id'], B_ID);
      assert.equal(b.openSlots(), 3);
      // The first executor sees the pod leave its selector and lets go.
      await waitFor('executor A let go', async () => (h.executor.openSlots() === slotsA + 1 ? true : undefined), 10_000);
      const events: ExecutorEvent[] = [];
      await waitFor('executor B reports the end', async () => {
        events.push(...(await b.sync()));
        return events.length > 0 ? true : undefined;
      }, 20_000);
      assert.deepEqual(events.map((e) => [e.kind, e.tiId, e.tryNumber, e.kind === 'exited' ? e.exitCode : null]), [['exited', ti.id, 1, 0]]);
      const run = await h.t.waitForRun('long', 'r1', { timeoutMs: 20_000 });
      assert.equal(run.state, 'success', (await h.t.taskInstances('long', 'r1'))[0]?.failure_reason ?? '');
      await waitFor('pod deleted by its adopter', async () => ((await h.pods()).length === 0 ? true : undefined), 10_000);
    } finally {
      await b.end();
      await h.stop();
    }
  });
});
