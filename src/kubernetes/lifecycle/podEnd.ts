/**
 * How a task's pod ended, as a discriminated union, and its exhaustive mapping to a task outcome.
 * Classification is judged on the base container, not on the pod phase, so a sidecar still running
 * never keeps the task waiting. Pure: no I/O.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { assertNever } from '../../core/index.ts';
import type { FailureReason } from '../../core/index.ts';
import { BASE_CONTAINER, containerStatus, isPodTerminal, podCondition } from './podState.ts';

/** Why and how a pod ended. `platform` failures are the cluster's doing, the others the workload's. */
export type PodEnd =
  | { kind: 'succeeded' }
  | { kind: 'failed'; exitCode: number | undefined; reason: string; terminationMessage: string | undefined }
  | { kind: 'oomKilled'; exitCode: number; terminationMessage: string | undefined }
  | { kind: 'evicted'; message: string }
  | { kind: 'deadlineExceeded'; message: string }
  | { kind: 'nodeLost'; message: string }
  | { kind: 'deleted' }
  | { kind: 'imagePullFailed'; container: string; reason: string; message: string; events: string[] }
  | { kind: 'containerConfigError'; container: string; reason: string; message: string; events: string[] }
  | { kind: 'unschedulable'; timeoutSeconds: number; message: string; events: string[] }
  | { kind: 'startupTimeout'; timeoutSeconds: number; containers: string[]; events: string[] }
  | { kind: 'killed'; reason: string };

/** The task outcome a pod end maps to. */
export type PodTaskOutcome =
  | { kind: 'success' }
  | { kind: 'skip'; message: string }
  | { kind: 'failure'; reason: PodEnd['kind'] | 'xcomFailed'; platform: boolean; message: string };

const EVICTION_REASONS: ReadonlySet<string> = new Set([
  'TerminationByKubelet',
  'EvictionByEvictionAPI',
  'PreemptionByScheduler',
]);
const NODE_LOSS_REASONS: ReadonlySet<string> = new Set(['DeletionByTaintManager', 'DeletionByPodGC']);

/**
 * The end of a pod as last seen, or `undefined` while its base container still runs.
 * `deleted` says the pod object is gone (the last snapshot decides whether it had ended first).
 */
export function classifyPod(pod: V1Pod | undefined, options: { deleted?: boolean; container?: string } = {}): PodEnd | undefined {
  const base = options.container ?? BASE_CONTAINER;
  if (pod !== undefined) {
    const status = pod.status;
    const disruption = podCondition(pod, 'DisruptionTarget');
    const terminated = containerStatus(pod, base)?.state?.terminated;
    const ended = terminated !== undefined || isPodTerminal(pod);
    if (ended || options.deleted === true) {
      const message = status?.message ?? disruption?.message ?? '';
      if (status?.reason === 'Evicted' || (disruption?.status === 'True' && EVICTION_REASONS.has(disruption.reason ?? ''))) {
        if (terminated?.exitCode !== 0) return { kind: 'evicted', message };
      }
      if (status?.reason === 'DeadlineExceeded') return { kind: 'deadlineExceeded', message };
      if (status?.reason === 'NodeLost' || (disruption?.status === 'True' && NODE_LOSS_REASONS.has(disruption.reason ?? ''))) {
        if (terminated?.exitCode !== 0) return { kind: 'nodeLost', message };
      }
    }
    if (terminated !== undefined) {
      if (terminated.exitCode === 0) return { kind: 'succeeded' };
      if (terminated.reason === 'OOMKilled') {
        return { kind: 'oomKilled', exitCode: terminated.exitCode, terminationMessage: terminated.message || undefined };
      }
      return {
        kind: 'failed',
        exitCode: terminated.exitCode,
        reason: terminated.reason ?? 'Error',
        terminationMessage: terminated.message || undefined,
      };
    }
    if (isPodTerminal(pod)) {
      if (status?.phase === 'Succeeded') return { kind: 'succeeded' };
      return { kind: 'failed', exitCode: undefined, reason: status?.reason ?? 'Failed', terminationMessage: status?.message };
    }
  }
  return options.deleted === true ? { kind: 'deleted' } : undefined;
}

/** Options of {@link toTaskOutcome}. */
export interface OutcomeOptions {
  podName: string;
  /** Exit codes of the base container that mean "skip" rather than "fail" (0 included: a succeeded pod skips). */
  skipOnExitCode?: readonly number[];
  /** The last log lines of the base container, appended to failure messages. */
  logTail?: readonly string[];
}

function withTail(lines: string[], tail: readonly string[] | undefined): string {
  if (tail !== undefined && tail.length > 0) lines.push(`last log lines:\n${tail.join('\n')}`);
  return lines.join('\n');
}

function eventsPart(events: readonly string[]): string[] {
  return events.length > 0 ? [`events:\n${events.map((e) => `  ${e}`).join('\n')}`] : [];
}

/** Maps a pod end to success, skip or a failure with a message naming the cause. Exhaustive. */
export function toTaskOutcome(end: PodEnd, options: OutcomeOptions): PodTaskOutcome {
  const pod = `pod ${options.podName}`;
  const fail = (platform: boolean, lines: string[]): PodTaskOutcome =>
    ({ kind: 'failure', reason: end.kind, platform, message: withTail(lines, options.logTail) });
  switch (end.kind) {
    case 'succeeded':
      // Airflow's skip_on_exit_code applies to any exit code, 0 included: [0] skips a task whose pod succeeded.
      if (options.skipOnExitCode?.includes(0)) {
        return { kind: 'skip', message: `${pod}: base container exited with 0, which skipOnExitCode maps to skipped` };
      }
      return { kind: 'success' };
    case 'failed': {
      if (end.exitCode !== undefined && options.skipOnExitCode?.includes(end.exitCode)) {
        return { kind: 'skip', message: `${pod}: base container exited with ${end.exitCode}, which skipOnExitCode maps to skipped` };
      }
      const exit = end.exitCode === undefined ? `failed (${end.reason})` : `base container exited with code ${end.exitCode} (${end.reason})`;
      return fail(false, [`${pod} ${exit}`, ...(end.terminationMessage ? [`termination message: ${end.terminationMessage}`] : [])]);
    }
    case 'oomKilled':
      if (options.skipOnExitCode?.includes(end.exitCode)) {
        return { kind: 'skip', message: `${pod}: base container OOMKilled (${end.exitCode}), which skipOnExitCode maps to skipped` };
      }
      return fail(false, [`${pod}: base container was OOMKilled (exit ${end.exitCode}): it exceeded its memory limit`,
        ...(end.terminationMessage ? [`termination message: ${end.terminationMessage}`] : [])]);
    case 'evicted':
      return fail(true, [`${pod} was evicted by the cluster${end.message ? `: ${end.message}` : ''}`]);
    case 'deadlineExceeded':
      return fail(false, [`${pod} exceeded its activeDeadlineSeconds${end.message ? `: ${end.message}` : ''}`]);
    case 'nodeLost':
      return fail(true, [`${pod} was lost with its node${end.message ? `: ${end.message}` : ''}`]);
    case 'deleted':
      return fail(true, [`${pod} was deleted before its base container finished`]);
    case 'imagePullFailed':
      return fail(false, [`${pod}: container ${end.container} cannot pull its image (${end.reason}): ${end.message}`, ...eventsPart(end.events)]);
    case 'containerConfigError':
      return fail(false, [`${pod}: container ${end.container} cannot be created (${end.reason}): ${end.message}`, ...eventsPart(end.events)]);
    case 'unschedulable':
      return fail(true, [`${pod} was not scheduled within ${end.timeoutSeconds}s: ${end.message}`, ...eventsPart(end.events)]);
    case 'startupTimeout':
      return fail(true, [`${pod} was scheduled but its base container did not start within ${end.timeoutSeconds}s`,
        ...end.containers.map((c) => `  ${c}`), ...eventsPart(end.events)]);
    case 'killed':
      return fail(false, [`${pod} was deleted because the task was killed: ${end.reason}`]);
    default:
      return assertNever(end, 'pod end');
  }
}

/**
 * The failure a pod end means for its try, with `message` as its text. A pod that succeeded or was killed
 * for its task's sake ends a try that never reported, which reads as the exit of its task process.
 *
 * @example
 * failureOfPodEnd({ kind: 'oomKilled', exitCode: 137, terminationMessage: undefined }, 'pod p: OOMKilled')
 * // { kind: 'oomKilled', message: 'pod p: OOMKilled', exitCode: 137 }
 */
export function failureOfPodEnd(end: PodEnd, message: string): FailureReason {
  switch (end.kind) {
    case 'succeeded':
      return { kind: 'exitCode', message, exitCode: 0 };
    case 'killed':
      return { kind: 'exitCode', message, exitCode: null };
    case 'failed':
      // Without an exit code the container never ran: the pod failed on the node's side.
      return end.exitCode === undefined ? { kind: 'launchFailed', message } : { kind: 'exitCode', message, exitCode: end.exitCode };
    case 'oomKilled':
      return { kind: 'oomKilled', message, exitCode: end.exitCode };
    case 'evicted':
      return { kind: 'evicted', message };
    case 'deadlineExceeded':
      return { kind: 'deadlineExceeded', message };
    case 'nodeLost':
      return { kind: 'nodeLost', message };
    case 'deleted':
      return { kind: 'podDeleted', message };
    case 'imagePullFailed':
      return { kind: 'imagePullFailed', message };
    case 'containerConfigError':
      return { kind: 'containerConfigError', message };
    case 'unschedulable':
    case 'startupTimeout':
      return { kind: 'unschedulable', message };
    default:
      return assertNever(end, 'pod end');
  }
}

/** The failure a pod task's failed outcome records: its pod end's, or `xcom` when only reading the XCom failed. */
export function failureOfPodTask(end: PodEnd, outcome: Extract<PodTaskOutcome, { kind: 'failure' }>, message: string): FailureReason {
  return outcome.reason === 'xcomFailed' ? { kind: 'xcom', message } : failureOfPodEnd(end, message);
}
