/** Failure reasons as data: the user/platform split, the retry policy, and how a worker pod's end maps onto them. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CapstanError, TaskFailFast } from '../../src/core/errors.ts';
import { FAILURE_KINDS, failureOfError, isFailureKind, isPlatformFailure, retryPolicyOf, type FailureKind, type FailureReason } from '../../src/core/failureReason.ts';
import { failureOfPodEnd } from '../../src/kubernetes/lifecycle/index.ts';
import type { PodEnd } from '../../src/kubernetes/lifecycle/podEnd.ts';

const of = (kind: FailureKind): FailureReason => ({ kind, message: 'm', exitCode: null }) as FailureReason;

describe('FailureReason', () => {
  test('each kind is either the user’s or the platform’s', () => {
    const platform = FAILURE_KINDS.filter((k) => isPlatformFailure(of(k)));
    assert.deepEqual(platform, ['oomKilled', 'evicted', 'imagePullFailed', 'nodeLost', 'heartbeatLost', 'podDeleted', 'unschedulable', 'launchFailed', 'unknown']);
    assert.deepEqual(FAILURE_KINDS.filter((k) => !isPlatformFailure(of(k))), ['exception', 'exitCode', 'timeout', 'xcom', 'containerConfigError', 'deadlineExceeded', 'configError']);
  });

  test('only a fail-fast exception and a permanent launch failure skip the retries', () => {
    assert.deepEqual(FAILURE_KINDS.filter((k) => retryPolicyOf(of(k)) === 'failFast'), []);
    assert.equal(retryPolicyOf({ kind: 'exception', message: 'x', failFast: true }), 'failFast');
    assert.equal(retryPolicyOf({ kind: 'launchFailed', message: 'x', permanent: true }), 'failFast');
    assert.equal(retryPolicyOf({ kind: 'launchFailed', message: 'x', permanent: false }), 'retry');
  });

  test('a task error becomes an exception, fail-fast for TaskFailFast, a timeout for the execution timeout', () => {
    assert.deepEqual(failureOfError(new Error('boom')), { kind: 'exception', message: 'boom' });
    assert.deepEqual(failureOfError(new TaskFailFast('stop')), { kind: 'exception', message: 'stop', failFast: true });
    assert.deepEqual(failureOfError(new CapstanError('task_timeout', 'execution timeout of 5 ms exceeded')), { kind: 'timeout', message: 'execution timeout of 5 ms exceeded' });
    assert.equal(isFailureKind('oomKilled'), true);
    assert.equal(isFailureKind('free text'), false);
  });
});

describe('failureOfPodEnd', () => {
  const cases: Array<[PodEnd, FailureKind]> = [
    [{ kind: 'succeeded' }, 'exitCode'],
    [{ kind: 'failed', exitCode: 3, reason: 'Error', terminationMessage: undefined }, 'exitCode'],
    [{ kind: 'failed', exitCode: undefined, reason: 'UnexpectedAdmissionError', terminationMessage: undefined }, 'launchFailed'],
    [{ kind: 'oomKilled', exitCode: 137, terminationMessage: undefined }, 'oomKilled'],
    [{ kind: 'evicted', message: 'node pressure' }, 'evicted'],
    [{ kind: 'deadlineExceeded', message: '' }, 'deadlineExceeded'],
    [{ kind: 'nodeLost', message: '' }, 'nodeLost'],
    [{ kind: 'deleted' }, 'podDeleted'],
    [{ kind: 'imagePullFailed', container: 'base', reason: 'ErrImagePull', message: '', events: [] }, 'imagePullFailed'],
    [{ kind: 'containerConfigError', container: 'base', reason: 'CreateContainerConfigError', message: '', events: [] }, 'containerConfigError'],
    [{ kind: 'unschedulable', timeoutSeconds: 60, message: '', events: [] }, 'unschedulable'],
    [{ kind: 'startupTimeout', timeoutSeconds: 60, containers: [], events: [] }, 'unschedulable'],
    [{ kind: 'killed', reason: 'marked failed' }, 'exitCode'],
  ];
  for (const [end, kind] of cases) {
    test(`${end.kind}${end.kind === 'failed' ? ` (exit ${String(end.exitCode)})` : ''} → ${kind}`, () => {
      const f = failureOfPodEnd(end, 'pod p ended');
      assert.equal(f.kind, kind);
      assert.equal(f.message, 'pod p ended');
    });
  }
  test('an OOM kill keeps its exit code', () => {
    assert.deepEqual(failureOfPodEnd({ kind: 'oomKilled', exitCode: 137, terminationMessage: undefined }, 'm'), { kind: 'oomKilled', message: 'm', exitCode: 137 });
  });
});
