// Classification of a pod's end from its status, and the exhaustive mapping to task outcomes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1ContainerState, V1Pod } from '@kubernetes/client-node';
import { classifyPod, toTaskOutcome } from '../../../src/kubernetes/lifecycle/podEnd.ts';
import type { PodEnd } from '../../../src/kubernetes/lifecycle/podEnd.ts';
import { fatalWaiting, isScheduled, schedulingMessage } from '../../../src/kubernetes/lifecycle/podState.ts';

function pod(phase: string, base: V1ContainerState, extra: Partial<NonNullable<V1Pod['status']>> = {}, sidecar?: V1ContainerState): V1Pod {
  return {
    metadata: { name: 'p' },
    status: {
      phase,
      containerStatuses: [{ name: 'base', image: 'i', imageID: '', ready: false, restartCount: 0, state: base }],
      ...(sidecar ? { initContainerStatuses: [{ name: 'side', image: 'i', imageID: '', ready: true, restartCount: 0, state: sidecar }] } : {}),
      ...extra,
    },
  };
}
const terminated = (exitCode: number, reason = 'Error', message?: string): V1ContainerState =>
  ({ terminated: { exitCode, reason, ...(message ? { message } : {}) } });

void describe('classifyPod', () => {
  test('still running → undefined; base exit 0 → succeeded even while a sidecar runs and the pod is Running', () => {
    assert.equal(classifyPod(pod('Running', { running: {} })), undefined);
    assert.deepEqual(classifyPod(pod('Running', terminated(0, 'Completed'), {}, { running: {} })), { kind: 'succeeded' });
  });

  test('non-zero exit → failed with exit code, reason and termination message', () => {
    assert.deepEqual(classifyPod(pod('Failed', terminated(3, 'Error', 'boom'))),
      { kind: 'failed', exitCode: 3, reason: 'Error', terminationMessage: 'boom' });
  });

  test('OOMKilled, Evicted, DeadlineExceeded and node loss are told apart', () => {
    assert.equal(classifyPod(pod('Failed', terminated(137, 'OOMKilled')))?.kind, 'oomKilled');
    assert.equal(classifyPod(pod('Failed', terminated(137), { reason: 'Evicted', message: 'memory pressure' }))?.kind, 'evicted');
    assert.equal(classifyPod(pod('Failed', terminated(143), { reason: 'DeadlineExceeded' }))?.kind, 'deadlineExceeded');
    const gc = pod('Failed', terminated(137), { conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC' }] });
    assert.equal(classifyPod(gc)?.kind, 'nodeLost');
  });

  test('a deleted pod whose base had not ended → deleted; one that had ended keeps its result', () => {
    assert.deepEqual(classifyPod(pod('Running', { running: {} }), { deleted: true }), { kind: 'deleted' });
    assert.deepEqual(classifyPod(pod('Succeeded', terminated(0)), { deleted: true }), { kind: 'succeeded' });
    assert.deepEqual(classifyPod(undefined, { deleted: true }), { kind: 'deleted' });
  });

  test('fatal waiting reasons and scheduling state', () => {
    const pulling = pod('Pending', { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "x"' } });
    assert.deepEqual(fatalWaiting(pulling), { container: 'base', reason: 'ImagePullBackOff', message: 'Back-off pulling image "x"', image: true });
    assert.equal(fatalWaiting(pod('Pending', { waiting: { reason: 'CreateContainerConfigError' } }))?.image, false);
    assert.equal(fatalWaiting(pod('Pending', { waiting: { reason: 'ContainerCreating' } })), undefined);
    assert.equal(fatalWaiting(pod('Pending', { waiting: { reason: 'ErrImagePull', message: 'pull QPS exceeded' } })), undefined, 'rate-limited pulls are retried');
    assert.equal(fatalWaiting(pod('Pending', { waiting: { reason: 'ImagePullBackOff', message: '429 toomanyrequests: rate limit' } })), undefined);
    const unsched = pod('Pending', { waiting: {} }, { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available' }] });
    assert.equal(isScheduled(unsched), false);
    assert.equal(schedulingMessage(unsched), 'Unschedulable: 0/1 nodes are available');
  });
});

void describe('toTaskOutcome', () => {
  const ends: PodEnd[] = [
    { kind: 'succeeded' },
    { kind: 'failed', exitCode: 2, reason: 'Error', terminationMessage: 'bad input' },
    { kind: 'oomKilled', exitCode: 137, terminationMessage: undefined },
    { kind: 'evicted', message: 'The node was low on resource: memory.' },
    { kind: 'deadlineExceeded', message: '' },
    { kind: 'nodeLost', message: '' },
    { kind: 'deleted' },
    { kind: 'imagePullFailed', container: 'base', reason: 'ErrImagePull', message: 'not found', events: ['Warning Failed: pull failed'] },
    { kind: 'containerConfigError', container: 'base', reason: 'CreateContainerConfigError', message: 'secret "s" not found', events: [] },
    { kind: 'unschedulable', timeoutSeconds: 5, message: '0/1 nodes', events: [] },
    { kind: 'startupTimeout', timeoutSeconds: 5, containers: ['base: waiting ContainerCreating'], events: [] },
    { kind: 'killed', reason: 'execution timeout' },
  ];

  test('every end maps to an outcome; failures name their cause and carry the log tail', () => {
    for (const end of ends) {
      const outcome = toTaskOutcome(end, { podName: 'p', logTail: ['line 1', 'line 2'] });
      if (end.kind === 'succeeded') {
        assert.deepEqual(outcome, { kind: 'success' });
        continue;
      }
      assert.equal(outcome.kind, 'failure', end.kind);
      if (outcome.kind !== 'failure') continue;
      assert.equal(outcome.reason, end.kind);
      assert.match(outcome.message, /line 1\nline 2/);
    }
  });

  test('messages: termination message, OOM, events, scheduler reason; platform vs user fault', () => {
    const failed = toTaskOutcome(ends[1]!, { podName: 'p' });
    assert.ok(failed.kind === 'failure' && /exited with code 2/.test(failed.message) && /bad input/.test(failed.message) && !failed.platform);
    const oom = toTaskOutcome(ends[2]!, { podName: 'p' });
    assert.ok(oom.kind === 'failure' && /OOMKilled/.test(oom.message));
    const pull = toTaskOutcome(ends[7]!, { podName: 'p' });
    assert.ok(pull.kind === 'failure' && /ErrImagePull/.test(pull.message) && /pull failed/.test(pull.message));
    const evicted = toTaskOutcome(ends[3]!, { podName: 'p' });
    assert.ok(evicted.kind === 'failure' && evicted.platform && /low on resource/.test(evicted.message));
    const unsched = toTaskOutcome(ends[9]!, { podName: 'p' });
    assert.ok(unsched.kind === 'failure' && /not scheduled within 5s: 0\/1 nodes/.test(unsched.message));
  });

  test('skipOnExitCode turns a matching exit code into skip, not another', () => {
    assert.equal(toTaskOutcome(ends[1]!, { podName: 'p', skipOnExitCode: [2] }).kind, 'skip');
    assert.equal(toTaskOutcome(ends[1]!, { podName: 'p', skipOnExitCode: [3] }).kind, 'failure');
  });

  test('skipOnExitCode with 0 skips a pod whose base container exited 0 (as Airflow does); without 0 it succeeds', () => {
    const skipped = toTaskOutcome({ kind: 'succeeded' }, { podName: 'p', skipOnExitCode: [0, 3] });
    assert.equal(skipped.kind, 'skip');
    assert.ok(skipped.kind === 'skip' && /exited with 0/.test(skipped.message));
    assert.deepEqual(toTaskOutcome({ kind: 'succeeded' }, { podName: 'p', skipOnExitCode: [3] }), { kind: 'success' });
  });
});
