/**
 * What a worker pod's latest state means for its try: pure readings on top of the pod lifecycle's own
 * (src/kubernetes/lifecycle/podState.ts, podEnd.ts), so the KubernetesPodOperator and the executor judge a pod
 * the same way. The pod is only a signal: the try's outcome is what the task reported through the Execution
 * API; the executor reports a pod's end, and the scheduler fails the try only if the task never reported.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { assertNever } from '../../core/index.ts';
import {
  classifyPod,
  toTaskOutcome,
  type PodEnd,
  BASE_CONTAINER,
  describeContainers,
  fatalWaiting,
  hasStarted,
  schedulingMessage,
} from '../../kubernetes/pods.ts';

/** The executor's reading of one pod snapshot. */
export type PodVerdict =
  /** Pending or running normally: nothing to do. */
  | { kind: 'wait'; started: boolean }
  /** Waiting on a reason that never clears (image pull, container config): fail the try now. */
  | { kind: 'fatalWaiting'; container: string; reason: string; message: string }
  /** The base container or the pod ended (or the pod was deleted). */
  | { kind: 'ended'; end: PodEnd; exitCode: number | null; started: boolean };

/**
 * Reads a snapshot; `deleted` when it is the last state of a deleted pod.
 *
 * @example
 * judgePod(pod, { deleted: false }) // { kind: 'ended', end: { kind: 'oomKilled', … }, exitCode: 137, started: true }
 */
export function judgePod(pod: V1Pod, options: { deleted: boolean }): PodVerdict {
  const started = hasStarted(pod, BASE_CONTAINER);
  const end = classifyPod(pod, { deleted: options.deleted });
  if (end !== undefined) return { kind: 'ended', end, exitCode: exitCodeOf(end), started };
  const fatal = fatalWaiting(pod);
  if (fatal !== undefined) return { kind: 'fatalWaiting', container: fatal.container, reason: fatal.reason, message: fatal.message };
  return { kind: 'wait', started };
}

/** The base container's exit code for ends that have one. */
export function exitCodeOf(end: PodEnd): number | null {
  switch (end.kind) {
    case 'succeeded':
      return 0;
    case 'failed':
      return end.exitCode ?? null;
    case 'oomKilled':
      return end.exitCode;
    case 'evicted':
    case 'deadlineExceeded':
    case 'nodeLost':
    case 'deleted':
    case 'imagePullFailed':
    case 'containerConfigError':
    case 'unschedulable':
    case 'startupTimeout':
    case 'killed':
      return null;
    default:
      return assertNever(end, 'pod end');
  }
}

/**
 * Ends that the cluster caused (eviction, preemption, node drain or loss, deletion, a pod failed without its
 * container running): when the task never claimed its try, the pod is relaunched without costing a task retry.
 * A container that ran and failed (`failed` with an exit code, OOMKilled, a deadline) is the workload's doing
 * and is reported instead.
 */
export function isRelaunchable(end: PodEnd): boolean {
  switch (end.kind) {
    case 'evicted':
    case 'nodeLost':
    case 'deleted':
      return true;
    case 'failed':
      return end.exitCode === undefined;
    case 'succeeded':
    case 'oomKilled':
    case 'deadlineExceeded':
    case 'imagePullFailed':
    case 'containerConfigError':
    case 'unschedulable':
    case 'startupTimeout':
    case 'killed':
      return false;
    default:
      return assertNever(end, 'pod end');
  }
}


/** One line for the try's failure reason and the executor log, naming the pod and the cause. */
export function describeEnd(end: PodEnd, podName: string): string {
  if (end.kind === 'succeeded') return `pod ${podName} succeeded, but its task never reported an outcome through the Execution API`;
  const outcome = toTaskOutcome(end, { podName });
  return outcome.kind === 'failure' ? outcome.message : `pod ${podName}: ${outcome.kind}`;
}

/** Why a pod has been Pending so long, for the pending-timeout failure. */
export function describePending(pod: V1Pod | undefined, podName: string, timeoutMs: number): string {
  const parts = [`pod ${podName} was still Pending after ${Math.round(timeoutMs / 1000)} s`];
  const scheduling = pod === undefined ? undefined : schedulingMessage(pod);
  if (scheduling !== undefined) parts.push(`not scheduled: ${scheduling}`);
  const containers = pod === undefined ? [] : describeContainers(pod);
  if (containers.length > 0) parts.push(`containers: ${containers.join('; ')}`);
  return parts.join('; ');
}
