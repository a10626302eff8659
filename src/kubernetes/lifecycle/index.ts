/**
 * The pod lifecycle of the Kubernetes provider: create or reattach, watch, stream events and logs, read
 * the XCom, classify the end, clean up. `runPod` composes the pieces; operators use it (sync mode) or
 * its parts (deferred mode). See ../ARCHITECTURE.md.
 */
export { followPod, runPod, startPod } from './runPod.ts';
export type { FollowPodOptions, PodRunResult, PodRunSink, RunPodOptions, StartedPod } from './runPod.ts';
export { classifyPod, failureOfPodEnd, failureOfPodTask, toTaskOutcome } from './podEnd.ts';
export type { OutcomeOptions, PodEnd, PodTaskOutcome } from './podEnd.ts';
export { PodWatcher } from './podWatcher.ts';
export type { PodSnapshot, PodWatcherOptions } from './podWatcher.ts';
export { awaitPodEnd, awaitPodStart } from './podStartup.ts';
export type { PodEndWaitOptions, StartupOptions, StartupResult } from './podStartup.ts';
export { followContainerLogs, followInPodOrder } from './podLogs.ts';
export type { FollowLogsOptions, LogLine } from './podLogs.ts';
export { LogCursor, parseTimedLine, type LogCursorState } from './logCursor.ts';
export { streamPodEvents, formatPodEvent } from './podEvents.ts';
export type { PodEvent, PodEventsOptions } from './podEvents.ts';
export { nativeSidecarProblem, NATIVE_SIDECARS_SINCE, parseServerVersion, requireNativeSidecars, serverVersion } from './serverVersion.ts';
export type { ServerVersion } from './serverVersion.ts';
export { DEFAULT_XCOM_MAX_BYTES, parseXcomOutput, readXcom, withXcomSidecar, XCOM_MARKER, XCOM_MOUNT_PATH, XCOM_SIDECAR_NAME, XCOM_SIDECAR_SCRIPT } from './xcom.ts';
export type { XcomResult, XcomSidecarOptions } from './xcom.ts';
export { ALREADY_CHECKED_LABEL, deletePod, finishPlan, markPodChecked, ON_FINISH_ACTIONS } from './cleanup.ts';
export type { FinishPlan, OnFinishAction } from './cleanup.ts';
export { choosePod, createOrReattach, PodConflictError, TASK_IDENTITY_LABELS, taskPodSelector } from './reattach.ts';
export type { CreatedPod, ReattachCandidate, ReattachChoice } from './reattach.ts';
export { invokeCallback } from './callbacks.ts';
export type { CallbackName, ExecutionMode, PodHookContext, PodLifecycleCallbacks, ProgressContext } from './callbacks.ts';
export { BASE_CONTAINER, FATAL_WAITING_REASONS } from './podState.ts';
