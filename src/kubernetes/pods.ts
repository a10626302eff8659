/**
 * The provider's light entry point for pods: everything about a pod that loads no `@kubernetes/client-node`
 * (its types are erased), for callers that must stay light — the DAG processor, the API server, the scheduler
 * with a LocalExecutor, the CLI. Pod building (`pod/`: builder, names and labels, merge, mutation hook, YAML,
 * authoring warnings, `Secret`), the readings of a pod's status (`podState`, `podEnd`) and the `pods/log`
 * request (`logRequest`, plain HTTPS over a client set passed in). index.ts re-exports all of it; see
 * ARCHITECTURE.md, "Entry points". test/kubernetes/entryPoints.test.ts checks that it stays light.
 *
 * @example
 * ```ts
 * import { POD_LABELS, labelValue, classifyPod } from '../kubernetes/pods.ts';
 * const selector = `${POD_LABELS.dagId}=${labelValue(dagId)}`;
 * const end = classifyPod(pod); // { kind: 'succeeded' } | { kind: 'failed', exitCode, … } | …
 * ```
 */
export * from './pod/index.ts';
export type { Manifest } from './pod/merge.ts';
export {
  BASE_CONTAINER, FATAL_WAITING_REASONS, containerStatus, describeContainers, fatalWaiting, hasStarted, hasTerminated,
  isImageWaitingReason, isPodTerminal, isScheduled, podCondition, schedulingMessage,
} from './lifecycle/podState.ts';
export type { FatalWaiting } from './lifecycle/podState.ts';
export { classifyPod, failureOfPodEnd, failureOfPodTask, toTaskOutcome } from './lifecycle/podEnd.ts';
export type { OutcomeOptions, PodEnd, PodTaskOutcome } from './lifecycle/podEnd.ts';
export { requestLog } from './lifecycle/logRequest.ts';
export type { LogQuery, LogRequestEnd, LogRequestOptions } from './lifecycle/logRequest.ts';
