/**
 * Kubernetes Jobs for tasks: the pure builder (`buildJob`, over the pod builder) and the lifecycle (`runJob`:
 * create or reattach, watch the conditions, follow every pod's logs and XCom, finish). See ARCHITECTURE.md.
 */
export { buildJob, checkJobManifest, loadJobTemplate } from './build.ts';
export { JOB_FINISH_ACTIONS, JOB_OPTION_KEYS, JOB_TEMPLATE_FIELDS } from './options.ts';
export type { CompletionMode, JobFinishAction, JobOptions, PropagationPolicy } from './options.ts';
export { collectXcom, COMPLETION_INDEX_ANNOTATION, completionIndex, describeJobEnd, jobEnd, jobStatusValue, selectorString } from './jobState.ts';
export type { JobEnd, PodXcom } from './jobState.ts';
export { JobPodTracker } from './jobPods.ts';
export type { FailedPod, JobPodTrackerOptions } from './jobPods.ts';
export { createOrReattachJob, deleteJob, markJobChecked, runJob, watchJob, withJobXcomSidecar } from './runJob.ts';
export { KubernetesJobTrigger } from './jobTrigger.ts';
export type { KubernetesJobTriggerKwargs, KubernetesJobTriggerPayload } from './jobTrigger.ts';
export type { CreatedJob, JobRunResult, JobTaskOutcome, RunJobOptions } from './runJob.ts';
