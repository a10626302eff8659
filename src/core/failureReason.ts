/**
 * Why a try failed, as data. The task's own failures (its code raised, its process exited non-zero, it ran
 * past its timeout, its result could not be stored) are separated from the platform's (the pod was OOM
 * killed, evicted, lost with its node, never scheduled; its heartbeat stopped), so the UI can tell a user
 * "your code" from "the cluster", and the retry policy is one exhaustive table. Pure: no I/O.
 */
import { assertNever, CapstanError, errorMessage, TaskFailFast } from './errors.ts';

/** Failures caused by the task's code or definition. */
export type UserFailure =
  /** The task raised. `failFast`: it raised `TaskFailFast` (or broke a rule, such as skipping a non-descendant): no retry. */
  | { kind: 'exception'; message: string; failFast?: boolean }
  /** The task process or base container exited without reporting (code, or the signal that killed it). */
  | { kind: 'exitCode'; message: string; exitCode: number | null; signal?: string | null }
  /** The try ran past its `executionTimeout`, or a deferral past its deadline. */
  | { kind: 'timeout'; message: string }
  /** The task's return value could not be stored as an XCom (too large, not serializable). */
  | { kind: 'xcom'; message: string }
  /** A container of the worker pod cannot be created (bad command, missing Secret or ConfigMap). */
  | { kind: 'containerConfigError'; message: string }
  /** The worker pod ran past its `activeDeadlineSeconds`. */
  | { kind: 'deadlineExceeded'; message: string }
  /** The task cannot run as defined: an unknown pool, a mapped task whose input cannot expand. */
  | { kind: 'configError'; message: string };

/** Failures caused by the platform the try ran on. */
export type PlatformFailure =
  /** The kernel killed the base container for exceeding its memory limit. */
  | { kind: 'oomKilled'; message: string; exitCode: number | null }
  /** The cluster evicted or preempted the pod. */
  | { kind: 'evicted'; message: string }
  /** The worker's image could not be pulled. */
  | { kind: 'imagePullFailed'; message: string }
  /** The pod's node went away. */
  | { kind: 'nodeLost'; message: string }
  /** The task stopped heartbeating (its process or host died silently: a zombie). */
  | { kind: 'heartbeatLost'; message: string }
  /** The pod was deleted before its base container finished. */
  | { kind: 'podDeleted'; message: string }
  /** The pod was never scheduled, or scheduled but its container never started, in time. */
  | { kind: 'unschedulable'; message: string }
  /** The executor could not start the try at all. `permanent`: starting again cannot help (the pod spec is invalid). */
  | { kind: 'launchFailed'; message: string; permanent?: boolean }
  /** A failure recorded before failure kinds existed (rows carried forward by migration 010). */
  | { kind: 'unknown'; message: string };

/** Why a try failed. */
export type FailureReason = UserFailure | PlatformFailure;

/** The `kind` of a {@link FailureReason}, as stored in `task_instance.failure_kind`. */
export type FailureKind = FailureReason['kind'];

/** Every failure kind, user side first. */
export const FAILURE_KINDS = [
  'exception',
  'exitCode',
  'timeout',
  'xcom',
  'containerConfigError',
  'deadlineExceeded',
  'configError',
  'oomKilled',
  'evicted',
  'imagePullFailed',
  'nodeLost',
  'heartbeatLost',
  'podDeleted',
  'unschedulable',
  'launchFailed',
  'unknown',
] as const satisfies readonly FailureKind[];

/**
 * An error that says exactly why its task failed — e.g. a pod operator whose pod was OOM killed — so the try
 * records that failure (`oomKilled`, platform side) instead of a generic `exception`.
 *
 * @example
 * throw new TaskFailedWith({ kind: 'evicted', message: 'pod etl-1 was evicted by the cluster' });
 */
export class TaskFailedWith extends CapstanError {
  readonly failure: FailureReason;
  constructor(failure: FailureReason) {
    super('task_failed', failure.message);
    this.failure = failure;
  }
}

/**
 * The failure a task's error means: the one a {@link TaskFailedWith} carries, `timeout` for the execution
 * timeout, else `exception` (fail-fast for `TaskFailFast`).
 *
 * @example
 * failureOfError(new TaskFailFast('bad input')) // { kind: 'exception', message: 'bad input', failFast: true }
 */
export function failureOfError(err: unknown): FailureReason {
  if (err instanceof TaskFailedWith) return err.failure;
  const message = errorMessage(err);
  if (err instanceof CapstanError && err.code === 'task_timeout') return { kind: 'timeout', message };
  return err instanceof TaskFailFast ? { kind: 'exception', message, failFast: true } : { kind: 'exception', message };
}

/** True for a stored `failure_kind` this code knows. */
export function isFailureKind(value: string): value is FailureKind {
  return (FAILURE_KINDS as readonly string[]).includes(value);
}

/**
 * Whether the platform, not the task, caused the failure.
 *
 * @example
 * isPlatformFailure({ kind: 'evicted', message: 'node pressure' }) // true
 * isPlatformFailure({ kind: 'exception', message: 'KeyError' })   // false
 */
export function isPlatformFailure(failure: FailureReason): boolean {
  switch (failure.kind) {
    case 'exception':
    case 'exitCode':
    case 'timeout':
    case 'xcom':
    case 'containerConfigError':
    case 'deadlineExceeded':
    case 'configError':
      return false;
    case 'oomKilled':
    case 'evicted':
    case 'imagePullFailed':
    case 'nodeLost':
    case 'heartbeatLost':
    case 'podDeleted':
    case 'unschedulable':
    case 'launchFailed':
    case 'unknown':
      return true;
    default:
      return assertNever(failure, 'failure reason');
  }
}

/**
 * What a failure does to the try: `retry` — up for retry while the task has retries left (after its retry
 * delay); `failFast` — failed now, whatever retries remain. (The task's retries and delay are serialized.ts's
 * `RetryPolicy`; the two names differ so core/index.ts can export both.)
 */
export type FailureRetryPolicy = 'retry' | 'failFast';

/**
 * The retry policy of a failure: the task's own fail-fast and a launch that can never succeed end the task
 * at once; everything else, user's or platform's, uses the task's retries.
 *
 * @example
 * retryPolicyOf({ kind: 'exception', message: 'bad input', failFast: true }) // 'failFast'
 * retryPolicyOf({ kind: 'oomKilled', message: '…', exitCode: 137 })         // 'retry'
 */
export function retryPolicyOf(failure: FailureReason): FailureRetryPolicy {
  switch (failure.kind) {
    case 'exception':
      return failure.failFast === true ? 'failFast' : 'retry';
    case 'launchFailed':
      return failure.permanent === true ? 'failFast' : 'retry';
    case 'exitCode':
    case 'timeout':
    case 'xcom':
    case 'containerConfigError':
    case 'deadlineExceeded':
    case 'configError':
    case 'oomKilled':
    case 'evicted':
    case 'imagePullFailed':
    case 'nodeLost':
    case 'heartbeatLost':
    case 'podDeleted':
    case 'unschedulable':
    case 'unknown':
      return 'retry';
    default:
      return assertNever(failure, 'failure reason');
  }
}
