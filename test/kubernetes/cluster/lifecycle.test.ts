// runPod against the real control plane: success with logs and XCom, failures as their causes (exit
// code and termination message, image pull, schedule and startup timeouts, OOM, eviction), each
// onFinishAction, reattach to an existing pod, callbacks, and abort deleting the pod.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { runPod, taskPodSelector, XCOM_MARKER, XCOM_SIDECAR_NAME } from '../../../src/kubernetes/lifecycle/index.ts';
import type { PodLifecycleCallbacks } from '../../../src/kubernetes/lifecycle/index.ts';
import type { KubeClients } from '../../../src/kubernetes/client/clients.ts';
import { nativeSidecarProblem, serverVersion } from '../../../src/kubernetes/lifecycle/serverVersion.ts';
import { binariesAvailable, connectTestCluster, inPhase, waitForPod } from '../../support/k8s/index.ts';
import { LOG_LATENCY_ANNOTATION_PREFIX } from '../../support/k8s/podLogs.ts';
import type { TestCluster } from '../../support/k8s/index.ts';
import { kubeClients, memorySink, taskLabels, taskPod } from './lifecycleSupport.ts';

const available = await binariesAvailable();

void describe('pod lifecycle (runPod)', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let namespace: string;
  let clients: KubeClients;
  const exists = async (name: string) => (await core.listNamespacedPod({ namespace, fieldSelector: `metadata.name=${name}` })).items[0];

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    namespace = await cluster.createNamespace('lifecycle');
    clients = kubeClients(cluster.kubeConfig, namespace);
  });
  after(async () => {
    await core?.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
  });

  void test('success: logs streamed with prefixes, XCom read from the sidecar, callbacks in order, pod deleted', async () => {
    const sink = memorySink();
    const calls: string[] = [];
    const hook = (name: string) => () => { calls.push(name); };
    const callbacks: PodLifecycleCallbacks = {
      onSyncClientCreation: hook('client'), onPodManifestCreated: hook('manifest'), onPodCreation: hook('creation'), onPodStarting: hook('starting'),
      onPodCompletion: hook('completion'), onPodTeardown: hook('teardown'),
      onPodCleanup: () => { calls.push('cleanup'); throw new Error('a broken hook'); },
      progress: ({ line }) => { calls.push(`progress:${line}`); },
    };
    const xcomLog = `${XCOM_MARKER} begin 18\n{"rows": 42, "ok": true}\n${XCOM_MARKER} end\n`;
    const pod = taskPod('ok', { runMs: 300, initStepMs: 50, logs: { fetch: 'fetched 3 files\n', base: 'hello\nworld\n', [XCOM_SIDECAR_NAME]: xcomLog } },
      { initContainers: [{ name: 'fetch', image: 'capstan/init:test' }] });
    const result = await runPod(clients, pod, { doXcomPush: true, callbacks, logContainers: ['fetch', 'base'] }, sink);
    assert.deepEqual(result.outcome, { kind: 'success' });
    assert.deepEqual(result.xcom, { rows: 42, ok: true });
    assert.ok(sink.lines.includes('[base] hello') && sink.lines.includes('[base] world'), sink.lines.join('\n'));
    assert.equal(sink.lines.filter((l) => l === '[base] hello').length, 1);
    assert.ok(sink.lines.indexOf('[fetch] fetched 3 files') >= 0, 'init container log, prefixed');
    assert.ok(sink.lines.indexOf('[fetch] fetched 3 files') < sink.lines.indexOf('[base] hello'), 'init container first');
    assert.ok(sink.lines.some((l) => l.startsWith('[event] Normal Scheduled')), 'scheduler event in the task log');
    assert.deepEqual(calls.filter((c) => !c.startsWith('progress')), ['client', 'manifest', 'creation', 'starting', 'completion', 'teardown', 'cleanup']);
    assert.ok(calls.includes('progress:hello'));
    assert.ok(sink.lines.some((l) => /callback onPodCleanup failed \(ignored\): a broken hook/.test(l)));
    assert.ok(!sink.lines.some((l) => /resuming/.test(l)), 'no reconnect on a clean run');
    const left = await exists('ok');
    assert.ok(left === undefined || left.metadata?.deletionTimestamp !== undefined, 'pod deleted');
  });

  void test('init-container logs come first and in order even when their kubelet answers late', async () => {
    // The kubelet answers the init containers' log requests 1.5 s late (a busy node): the base container has
    // printed by then, and followed side by side its lines landed above the init output.
    const sink = memorySink();
    const pod = taskPod('initorder', { runMs: 400, initStepMs: 50, logs: { clone: 'cloned repo\n', fetch: 'fetched 3 files\n', base: 'hello\n' } },
      { initContainers: [{ name: 'clone', image: 'capstan/init:test' }, { name: 'fetch', image: 'capstan/init:test' }] });
    pod.metadata!.annotations = { ...pod.metadata!.annotations, [`${LOG_LATENCY_ANNOTATION_PREFIX}clone`]: '1500', [`${LOG_LATENCY_ANNOTATION_PREFIX}fetch`]: '1500' };
    const result = await runPod(clients, pod, { logContainers: ['base', 'fetch', 'clone'] }, sink);
    assert.deepEqual(result.outcome, { kind: 'success' });
    const at = (line: string): number => sink.lines.indexOf(line);
    assert.ok(at('[clone] cloned repo') >= 0 && at('[fetch] fetched 3 files') >= 0 && at('[base] hello') >= 0, sink.lines.join('\n'));
    assert.ok(at('[clone] cloned repo') < at('[fetch] fetched 3 files'), `init containers in their spec order:\n${sink.lines.join('\n')}`);
    assert.ok(at('[fetch] fetched 3 files') < at('[base] hello'), `init containers before the base container:\n${sink.lines.join('\n')}`);
  });

  void test('doXcomPush checks the server for native sidecars: the real one (1.29+) passes, an older one served by a fake fails before any pod is created', async () => {
    const version = await serverVersion(clients);
    assert.ok(version !== undefined && (version.major > 1 || version.minor >= 29), JSON.stringify(version));
    assert.equal(nativeSidecarProblem(version), undefined);
    const old = { ...clients, version: { getCode: async () => ({ major: '1', minor: '28', gitVersion: 'v1.28.15' }) } } as unknown as KubeClients;
    const pod = taskPod('oldcluster', { runMs: 100 });
    await assert.rejects(runPod(old, pod, { doXcomPush: true }, memorySink()), /doXcomPush needs native sidecars \(Kubernetes ≥ 1\.29\); this cluster runs v1\.28\.15/);
    assert.equal(await exists(pod.metadata?.name ?? ''), undefined, 'no pod was created');
    const withoutXcom = await runPod(old, taskPod('oldcluster-noxcom', { runMs: 100 }), {}, memorySink());
    assert.equal(withoutXcom.outcome.kind, 'success', 'without doXcomPush the version does not matter');
  });

  void test('invalid XCom JSON fails the task with a clear message', async () => {
    const pod = taskPod('badxcom', { runMs: 100, logs: { [XCOM_SIDECAR_NAME]: `${XCOM_MARKER} begin 6\nhello\n${XCOM_MARKER} end\n` } });
    const result = await runPod(clients, pod, { doXcomPush: true }, memorySink());
    assert.equal(result.outcome.kind, 'failure');
    assert.ok(result.outcome.kind === 'failure' && result.outcome.reason === 'xcomFailed' && /not valid JSON/.test(result.outcome.message));
  });

  void test('failure: exit code, termination message and the last log lines; skipOnExitCode skips', async () => {
    const result = await runPod(clients, taskPod('fail', { outcome: 'fail', exitCode: 3, terminationMessage: 'bad input file', runMs: 100, logs: 'step 1\nstep 2\n' }), {}, memorySink());
    assert.equal(result.end.kind, 'failed');
    assert.ok(result.outcome.kind === 'failure');
    assert.match(result.outcome.message, /exited with code 3/);
    assert.match(result.outcome.message, /termination message: bad input file/);
    assert.match(result.outcome.message, /step 1\nstep 2/);
    const skipped = await runPod(clients, taskPod('skip', { outcome: 'fail', exitCode: 99, runMs: 100 }), { skipOnExitCode: [99] }, memorySink());
    assert.equal(skipped.outcome.kind, 'skip');
    // 0 in skipOnExitCode skips a pod that succeeded, and its XCom is not read (the sidecar wrote nothing here).
    const skippedOnZero = await runPod(clients, taskPod('skipzero', { runMs: 100 }), { skipOnExitCode: [0], doXcomPush: true }, memorySink());
    assert.equal(skippedOnZero.end.kind, 'succeeded');
    assert.equal(skippedOnZero.outcome.kind, 'skip');
  });

  void test('image pull failure is reported fast with the reason and the event message', async () => {
    const result = await runPod(clients, taskPod('pull', { outcome: 'image-pull-error' }), { startupTimeoutSeconds: 600 }, memorySink());
    assert.equal(result.end.kind, 'imagePullFailed');
    assert.ok(result.outcome.kind === 'failure');
    assert.match(result.outcome.message, /ErrImagePull|ImagePullBackOff/);
    assert.match(result.outcome.message, /events:\n[\s\S]*Warning Failed/);
    assert.match(result.outcome.message, /capstan\/task:test/);
  });

  void test('schedule timeout names the scheduler reason; startup timeout names the waiting container', async () => {
    const nowhere = taskPod('nowhere', {});
    nowhere.spec!.nodeSelector = { 'capstan.test/no-such-node': 'true' };
    const [unsched, stuck] = await Promise.all([
      runPod(clients, nowhere, { scheduleTimeoutSeconds: 2 }, memorySink()),
      runPod(clients, taskPod('stuck', { outcome: 'pending' }), { startupTimeoutSeconds: 3 }, memorySink()),
    ]);
    assert.equal(unsched.end.kind, 'unschedulable');
    assert.ok(unsched.outcome.kind === 'failure' && /not scheduled within 2s: .*(Unschedulable|node affinity|selector)/.test(unsched.outcome.message), JSON.stringify(unsched.outcome));
    assert.equal(stuck.end.kind, 'startupTimeout');
    assert.ok(stuck.outcome.kind === 'failure' && /did not start within 3s/.test(stuck.outcome.message) && /base: waiting ContainerCreating/.test(stuck.outcome.message));
  });

  void test('OOMKilled, eviction and activeDeadlineSeconds are reported as such', async () => {
    const deadline = taskPod('deadline', { outcome: 'run-forever' });
    deadline.spec!.activeDeadlineSeconds = 1;
    const [oom, evicted, late] = await Promise.all([
      runPod(clients, taskPod('oom', { outcome: 'oom', runMs: 100 }), {}, memorySink()),
      runPod(clients, taskPod('evict', { outcome: 'evict', runMs: 100 }), {}, memorySink()),
      runPod(clients, deadline, {}, memorySink()),
    ]);
    assert.equal(late.end.kind, 'deadlineExceeded');
    assert.ok(late.outcome.kind === 'failure' && /activeDeadlineSeconds/.test(late.outcome.message));
    assert.equal(oom.end.kind, 'oomKilled');
    assert.ok(oom.outcome.kind === 'failure' && /OOMKilled/.test(oom.outcome.message));
    assert.equal(evicted.end.kind, 'evicted');
    assert.ok(evicted.outcome.kind === 'failure' && evicted.outcome.platform && /evicted/.test(evicted.outcome.message));
  });

  void test('onFinishAction: keep_pod, delete_succeeded_pod and delete_active_pod keep finished pods and mark them checked', async () => {
    const cases = [
      { name: 'keep', action: 'keep_pod', behaviour: { runMs: 100 } },
      { name: 'dsp-fail', action: 'delete_succeeded_pod', behaviour: { outcome: 'fail', runMs: 100 } },
      { name: 'dsp-ok', action: 'delete_succeeded_pod', behaviour: { runMs: 100 } },
      { name: 'dap', action: 'delete_active_pod', behaviour: { runMs: 100 } },
    ] as const;
    await Promise.all(cases.map((c) => runPod(clients, taskPod(c.name, c.behaviour), { onFinishAction: c.action }, memorySink())));
    for (const name of ['keep', 'dsp-fail', 'dap']) {
      const pod = await exists(name);
      assert.equal(pod?.metadata?.deletionTimestamp, undefined, `${name} kept`);
      assert.equal(pod?.metadata?.labels?.['capstan.dev/already-checked'], 'true', `${name} marked checked`);
    }
    const gone = await exists('dsp-ok');
    assert.ok(gone === undefined || gone.metadata?.deletionTimestamp !== undefined, 'succeeded pod deleted');
  });

  void test('reattach: a retry finds the pod of the crashed try and follows it; exactly one pod, and a checked pod is not adopted', async () => {
    const labels = taskLabels('reattach', 1);
    await core.createNamespacedPod({ namespace, body: taskPod('reattach-try1', { runMs: 1500, logs: 'from try 1\n' }, { labels }) });
    const sink = memorySink();
    const retry = taskPod('reattach-try2', { runMs: 100 }, { labels: taskLabels('reattach', 2) });
    const selector = taskPodSelector(labels);
    const result = await runPod(clients, retry, { reattachSelector: selector, onFinishAction: 'keep_pod' }, sink);
    assert.equal(result.reattached, true);
    assert.equal(result.name, 'reattach-try1');
    assert.deepEqual(result.outcome, { kind: 'success' });
    assert.ok(sink.lines.includes('[base] from try 1'));
    const all = await core.listNamespacedPod({ namespace, labelSelector: 'capstan.dev/task-id=reattach' });
    assert.deepEqual(all.items.map((p) => p.metadata?.name), ['reattach-try1'], 'exactly one pod');
    // The kept pod is now checked: a third try creates its own pod instead of adopting it.
    const third = await runPod(clients, taskPod('reattach-try3', { runMs: 100 }, { labels: taskLabels('reattach', 3) }), { reattachSelector: selector }, memorySink());
    assert.equal(third.reattached, false);
    assert.equal(third.name, 'reattach-try3');
  });

  void test('abort (task killed) deletes the running pod', async () => {
    const killer = new AbortController();
    const running = runPod(clients, taskPod('victim', { outcome: 'run-forever' }), { signal: killer.signal, deleteGracePeriodSeconds: 1 }, memorySink());
    await waitForPod(cluster.kubeConfig, namespace, 'victim', inPhase('Running'));
    killer.abort(new Error('execution timeout'));
    const result = await running;
    assert.equal(result.end.kind, 'killed');
    assert.ok(result.outcome.kind === 'failure' && /execution timeout/.test(result.outcome.message));
    const left = await exists('victim');
    assert.ok(left === undefined || left.metadata?.deletionTimestamp !== undefined, 'pod deleted');
  });
});
