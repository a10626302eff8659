// The KubernetesExecutor against the real control plane, inside a whole Capstan (scheduler, Execution API,
// metadata DB): worker pods run by the local kubelet really execute `capstan tasks run` and report through the
// Execution API; pods left to kwok exercise what the cluster can do to a pod (image pull errors, eviction,
// a pod that succeeds without its task ever reporting, a pod never scheduled); the API server rejects an invalid override (422); a
// pod deleted before its task started is relaunched without costing a retry; pods a dead scheduler left behind
// are cleaned up.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { binariesAvailable, connectTestCluster, waitFor } from '../../support/k8s/index.ts';
import type { TestCluster } from '../../support/k8s/index.ts';
import { kwokOverride, startExecutorHarness, type ExecutorHarness } from './executorSupport.ts';

const available = await binariesAvailable();

const DAG = `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'ke', schedule: null }, () => {
  new BashOperator({ taskId: 'hello', bashCommand: 'echo hello from a worker pod' });
  new BashOperator({ taskId: 'bad', bashCommand: 'echo oops >&2; exit 3' });
  new BashOperator({ taskId: 'pull', bashCommand: 'true', executorConfig: { podOverride: ${kwokOverride({ 'capstan.test/outcome': 'image-pull-error' })} } });
  new BashOperator({ taskId: 'silent', bashCommand: 'true', executorConfig: { podOverride: ${kwokOverride({ 'capstan.test/outcome': 'succeed', 'capstan.test/run-duration': '200ms' })} } });
  new BashOperator({ taskId: 'oom', bashCommand: 'true', executorConfig: { podOverride: ${kwokOverride({ 'capstan.test/outcome': 'oom', 'capstan.test/run-duration': '200ms' })} } });
  new BashOperator({ taskId: 'evicted', bashCommand: 'true', executorConfig: { podOverride: ${kwokOverride({ 'capstan.test/outcome': 'evict', 'capstan.test/run-duration': '200ms' })} } });
  new BashOperator({ taskId: 'stuck', bashCommand: 'true', executorConfig: { podOverride: { metadata: { labels: { 'capstan.test/kubelet': null } }, spec: { nodeSelector: { 'capstan.test/nowhere': 'true' } } } } });
  new BashOperator({ taskId: 'invalid', bashCommand: 'true', executorConfig: { podOverride: { spec: { containers: [{ name: 'base', ports: [{ containerPort: 70000 }] }] } } } });
});
`;

const DRAINED = `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'drained', schedule: null }, () => {
  new BashOperator({ taskId: 'survivor', bashCommand: 'echo made it', executorConfig: { podOverride: { metadata: { annotations: { 'capstan.test/start-duration': '2s' } } } } });
});
`;

function taskOf(pod: V1Pod): string | undefined {
  return pod.metadata?.annotations?.['capstan.dev/task-id'];
}

void describe('KubernetesExecutor', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let namespace: string;
  let h: ExecutorHarness;

  before(async () => {
    cluster = await connectTestCluster();
    namespace = await cluster.createNamespace('kexec');
    // healthCheckThresholdMs: also how long the orphan sweep leaves a live pod whose try has just ended to finish.
    h = await startExecutorHarness({ cluster, namespace, dags: { 'ke.ts': DAG, 'drained.ts': DRAINED }, settings: { maxPodRelaunches: 1, workerPodsPendingTimeoutMs: 5000, podCheckIntervalMs: 500 }, healthCheckThresholdMs: 2000 });
  });
  after(async () => {
    await h?.stop();
    await h?.core.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
  });

  void test('every task runs in its own pod; the Execution API is the truth; cluster failures are named', async () => {
    await h.t.trigger('ke', { runId: 'r1' });
    const run = await h.t.waitForRun('ke', 'r1', { timeoutMs: 45_000 });
    assert.equal(run.state, 'failed');
    const tis = Object.fromEntries((await h.t.taskInstances('ke', 'r1')).map((ti) => [ti.task_id, ti]));
    assert.equal(tis['hello']?.state, 'success', tis['hello']?.failure_reason ?? '');
    assert.equal(tis['hello']?.executor, 'KubernetesExecutor');
    assert.equal(tis['bad']?.state, 'failed');
    assert.match(tis['bad']?.failure_reason ?? '', /exit(ed)? .*3|code 3/, 'the task reported its own failure');
    assert.equal(tis['pull']?.state, 'failed');
    assert.match(tis['pull']?.failure_reason ?? '', /could not start: pod ke-pull-\w+: container base cannot start \((ErrImagePull|ImagePullBackOff)\)/);
    assert.equal(tis['silent']?.state, 'failed');
    assert.match(tis['silent']?.failure_reason ?? '', /succeeded, but its task never reported an outcome through the Execution API/);
    assert.equal(tis['oom']?.state, 'failed');
    assert.match(tis['oom']?.failure_reason ?? '', /OOMKilled/);
    assert.equal(tis['oom']?.exit_code, 137, 'the exit code is recorded on the task instance');
    assert.equal(tis['evicted']?.state, 'failed');
    assert.match(tis['evicted']?.failure_reason ?? '', /was evicted by the cluster.*\(before its task started, 1 relaunches used\)/s);
    assert.equal(tis['evicted']?.try_number, 1, 'relaunches cost no task retry');
    assert.equal(tis['stuck']?.state, 'failed');
    assert.match(tis['stuck']?.failure_reason ?? '', /could not start: pod ke-stuck-\w+ was still Pending after 5 s; not scheduled: Unschedulable: .*node/s);
    assert.equal(tis['invalid']?.state, 'failed');
    assert.match(tis['invalid']?.failure_reason ?? '', /worker pod create refused: .*containerPort/s);

    // Cleanup: succeeded tries' pods are deleted; failed ones are kept, labelled done.
    const pods = await waitFor('finished pods cleaned up', async () => {
      const list = await h.pods();
      return list.some((p) => taskOf(p) === 'hello') || list.some((p) => p.metadata?.labels?.['capstan.dev/done'] !== 'true') ? undefined : list;
    }, 15_000);
    const kept = new Set(pods.map(taskOf));
    for (const task of ['bad', 'pull', 'silent', 'oom', 'evicted', 'stuck']) assert.ok(kept.has(task), `pod of ${task} kept`);
    const bad = pods.find((p) => taskOf(p) === 'bad') as V1Pod;
    assert.equal(bad.metadata?.labels?.['capstan.dev/executor-id'], h.executor.executorId);
    assert.equal(bad.metadata?.annotations?.['capstan.dev/ti-id'], tis['bad']?.id);
    assert.deepEqual(bad.spec?.containers[0]?.command?.slice(0, 5), ['capstan', 'tasks', 'run', '--ti-id', tis['bad']?.id]);

    const metrics = await h.t.engine.metrics.metricsText();
    assert.match(metrics, /capstan_kubernetes_executor_pods_created_total \d+/);
    assert.ok(Number(/capstan_kubernetes_executor_pods_created_total (\d+)/.exec(metrics)?.[1]) >= 7, metrics);
    assert.match(metrics, /capstan_kubernetes_executor_pod_create_failures_total\{reason="invalid"\} 1/);
    assert.match(metrics, /capstan_kubernetes_executor_pod_relaunches_total 1/);
    assert.match(metrics, /capstan_kubernetes_executor_queued_to_created_seconds_count \d+/);
  });

  void test('a pod deleted before its task started is relaunched without consuming a retry', async () => {
    await h.t.trigger('drained', { runId: 'r1' });
    const seen = new Set<string>();
    const first = await waitFor('the first pod', async () => (await h.pods()).find((p) => p.metadata?.annotations?.['capstan.dev/dag-id'] === 'drained'), 15_000);
    seen.add(first.metadata?.name ?? '');
    assert.notEqual(first.status?.phase, 'Running');
    await h.core.deleteNamespacedPod({ namespace, name: first.metadata?.name ?? '', gracePeriodSeconds: 0 });
    const second = await waitFor('a second pod', async () => (await h.pods()).find((p) => p.metadata?.annotations?.['capstan.dev/dag-id'] === 'drained' && !seen.has(p.metadata?.name ?? '')), 15_000);
    assert.equal(second.metadata?.annotations?.['capstan.dev/try-number'], '1');
    const run = await h.t.waitForRun('drained', 'r1', { timeoutMs: 30_000 });
    const [ti] = await h.t.taskInstances('drained', 'r1');
    assert.equal(run.state, 'success', ti?.failure_reason ?? '');
    assert.equal(ti?.try_number, 1);
  });

  void test('pods a dead scheduler left for tries that are over are cleaned up: finished by the deletion policy, live ones deleted', async () => {
    const tis = Object.fromEntries((await h.t.taskInstances('ke', 'r1')).map((ti) => [ti.task_id, ti]));
    const ghostLabels = (task: string) => ({ 'capstan.dev/kind': 'worker', 'capstan.dev/executor-id': 'scheduler-long-gone', 'capstan.dev/dag-id': 'ke', 'capstan.dev/task-id': task });
    const ghost = (name: string, task: string, labels: Record<string, string>, annotations: Record<string, string>): V1Pod => ({
      metadata: { name, labels, annotations: { 'capstan.dev/ti-id': tis[task]?.id ?? '', 'capstan.dev/try-number': '1', ...annotations } },
      spec: { restartPolicy: 'Never', containers: [{ name: 'base', image: 'capstan/worker:test' }] },
    });
    /** A pod that finished before it looked like a worker pod: the sweep sees it terminal. */
    const finished = async (name: string, task: string, outcome: string): Promise<void> => {
      await h.core.createNamespacedPod({ namespace, body: ghost(name, task, {}, { 'capstan.test/outcome': outcome, 'capstan.test/run-duration': '100ms' }) });
      await waitFor(`${name} finished`, async () => {
        const p = await h.core.readNamespacedPod({ namespace, name });
        return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? true : undefined;
      }, 15_000);
      await h.core.patchNamespacedPod({ namespace, name, body: { metadata: { labels: ghostLabels(task) } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    };
    await finished('ghost-succeeded', 'hello', 'succeed');
    await finished('ghost-failed', 'bad', 'fail');
    // Live, for a try over for longer than the threshold (not a pod still finishing): deleted.
    await h.core.createNamespacedPod({ namespace, body: ghost('ghost-stale', 'bad', ghostLabels('bad'), { 'capstan.test/outcome': 'run-forever' }) });
    const left = await waitFor('ghost pods cleaned up', async () => {
      const pods = (await h.pods()).filter((p) => p.metadata?.name?.startsWith('ghost-'));
      return pods.length === 1 && pods[0]?.metadata?.labels?.['capstan.dev/done'] === 'true' ? pods : undefined;
    }, 20_000);
    assert.equal(left[0]?.metadata?.name, 'ghost-failed', 'the failed try\'s pod is kept (deleteWorkerPodsOnFailure false), labelled done');
  });
});
