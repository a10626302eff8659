/**
 * Pure readings of a `V1Pod` status: where a container stands, whether the pod is scheduled, which
 * waiting reasons can never resolve on their own. No I/O; every function takes the pod as last seen.
 */
import type { V1ContainerStatus, V1Pod, V1PodCondition } from '@kubernetes/client-node';

/** Name of the container whose termination decides the task (the user's workload). */
export const BASE_CONTAINER = 'base';

/**
 * Waiting reasons that never clear without a change to the pod spec or the cluster, so waiting for a
 * timeout only wastes the slot. (`ImagePullBackOff` is the kubelet retrying `ErrImagePull`.)
 */
export const FATAL_WAITING_REASONS: ReadonlySet<string> = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

const IMAGE_REASONS: ReadonlySet<string> = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName']);

/** True for a container waiting reason that says its image cannot be pulled (rather than a config error). */
export function isImageWaitingReason(reason: string): boolean {
  return IMAGE_REASONS.has(reason);
}

/** A pull refused by a registry's or the kubelet's rate limit clears by itself: the kubelet retries it. */
const TRANSIENT_PULL = /QPS exceeded|toomanyrequests|too many requests|rate limit/i;

/** Status of `container` (init, sidecar or regular), if the kubelet reported one. */
export function containerStatus(pod: V1Pod, container: string): V1ContainerStatus | undefined {
  const all = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  return all.find((s) => s.name === container);
}

/** The pod's condition of `type`, if any. */
export function podCondition(pod: V1Pod, type: string): V1PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

/** True once the scheduler bound the pod to a node. */
export function isScheduled(pod: V1Pod): boolean {
  return podCondition(pod, 'PodScheduled')?.status === 'True' || (pod.spec?.nodeName ?? '') !== '';
}

/** The scheduler's explanation while the pod is not scheduled (e.g. `0/1 nodes are available: …`). */
export function schedulingMessage(pod: V1Pod): string | undefined {
  const c = podCondition(pod, 'PodScheduled');
  if (c === undefined || c.status === 'True') return undefined;
  return [c.reason, c.message].filter((s) => s !== undefined && s !== '').join(': ') || undefined;
}

/** True once `container` is running or has terminated. */
export function hasStarted(pod: V1Pod, container: string): boolean {
  const state = containerStatus(pod, container)?.state;
  return state?.running !== undefined || state?.terminated !== undefined;
}

/** True once `container` has terminated. */
export function hasTerminated(pod: V1Pod, container: string): boolean {
  return containerStatus(pod, container)?.state?.terminated !== undefined;
}

/** True when the pod reached a terminal phase. */
export function isPodTerminal(pod: V1Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** A container stuck in a waiting state that will not clear by itself. */
export interface FatalWaiting {
  container: string;
  reason: string;
  message: string;
  /** True for image problems (pull errors, invalid names), false for container config errors. */
  image: boolean;
}

/**
 * The first container (init containers first) waiting with a fatal reason, if any. A pull failing
 * because of rate limiting (`pull QPS exceeded`, `toomanyrequests`) is not fatal: it is left to the
 * startup timeout while the kubelet retries.
 */
export function fatalWaiting(pod: V1Pod): FatalWaiting | undefined {
  const all = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const s of all) {
    const reason = s.state?.waiting?.reason;
    if (reason !== undefined && FATAL_WAITING_REASONS.has(reason) && !TRANSIENT_PULL.test(s.state?.waiting?.message ?? '')) {
      return { container: s.name, reason, message: s.state?.waiting?.message ?? '', image: IMAGE_REASONS.has(reason) };
    }
  }
  return undefined;
}

/** One line per container describing its state, for failure messages. */
export function describeContainers(pod: V1Pod): string[] {
  const all = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  return all.map((s) => {
    const st = s.state;
    if (st?.terminated) return `${s.name}: terminated ${st.terminated.reason ?? ''} (exit ${st.terminated.exitCode})`.trim();
    if (st?.running) return `${s.name}: running`;
    if (st?.waiting) return `${s.name}: waiting ${st.waiting.reason ?? ''} ${st.waiting.message ?? ''}`.trim();
    return `${s.name}: unknown`;
  });
}
