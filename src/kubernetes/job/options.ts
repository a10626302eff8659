/**
 * The typed parameters of a task's Job: every pod parameter of the KubernetesPodOperator (for the Job's pod
 * template) plus the Job's own. Same conventions as {@link PodOptions}: `undefined` leaves a template's value,
 * `null` removes it, anything else (including `false` and `0`) sets it.
 */
import type { V1Job, V1LabelSelector, V1PodFailurePolicy, V1SuccessPolicy } from '@kubernetes/client-node';
import type { PodOptions, Settable } from '../pod/options.ts';

/** `spec.completionMode` of a Job. */
export type CompletionMode = 'NonIndexed' | 'Indexed';

/**
 * Parameters of the Job. Precedence: these arguments > `fullJobSpec` > `jobTemplateFile` / `jobTemplateDict`.
 * The pod template is built by the pod builder from the pod parameters over the templates'
 * `spec.template`, so it carries the task's identity labels and the same validation as a task pod.
 *
 * `activeDeadlineSeconds` is the **Job's** deadline here (as in Airflow's KubernetesJobOperator); a per-pod
 * deadline can still be set in a template's `spec.template.spec`.
 */
export interface JobOptions extends PodOptions {
  /** Path of a YAML (or JSON) Job manifest used as the base. */
  jobTemplateFile?: string | undefined;
  /** A Job manifest object used as the base (exclusive with jobTemplateFile). */
  jobTemplateDict?: V1Job | Record<string, unknown> | undefined;
  /** A whole Job, applied over the template and under the arguments. */
  fullJobSpec?: V1Job | Record<string, unknown> | undefined;
  /** Pod failures before the Job fails (`spec.backoffLimit`; Kubernetes' default 6). */
  backoffLimit?: Settable<number>;
  /** Successful pods needed (`spec.completions`; default 1). */
  completions?: Settable<number>;
  /** `Indexed` gives each pod a completion index (`JOB_COMPLETION_INDEX`); the XComs are ordered by it. */
  completionMode?: Settable<CompletionMode>;
  /** Pods running at once (`spec.parallelism`; may exceed completions). */
  parallelism?: Settable<number>;
  /** Seconds the whole Job may run before Kubernetes fails it (DeadlineExceeded). */
  activeDeadlineSeconds?: Settable<number>;
  /** Seconds after the Job finished until Kubernetes deletes it. */
  ttlSecondsAfterFinished?: Settable<number>;
  /** Create the Job suspended (no pods until it is resumed, e.g. by KubernetesPatchJobOperator). */
  suspend?: Settable<boolean>;
  /** Pod selector; needs `manualSelector: true` (otherwise Kubernetes generates it). */
  selector?: Settable<V1LabelSelector>;
  manualSelector?: Settable<boolean>;
  /** Rules that fail the Job at once, ignore or count a pod failure (needs restartPolicy Never, the default). */
  podFailurePolicy?: Settable<V1PodFailurePolicy>;
  /** When an Indexed Job counts as succeeded before all indexes did (`spec.successPolicy`). */
  successPolicy?: Settable<V1SuccessPolicy>;
  /** Per-index retry limit of an Indexed Job (`spec.backoffLimitPerIndex`). */
  backoffLimitPerIndex?: Settable<number>;
  /** Failed indexes tolerated with backoffLimitPerIndex (`spec.maxFailedIndexes`). */
  maxFailedIndexes?: Settable<number>;
}

/** Job-only keys of {@link JobOptions} (the rest are pod parameters). */
export const JOB_OPTION_KEYS = [
  'jobTemplateFile',
  'jobTemplateDict',
  'fullJobSpec',
  'backoffLimit',
  'completions',
  'completionMode',
  'parallelism',
  'activeDeadlineSeconds',
  'ttlSecondsAfterFinished',
  'suspend',
  'selector',
  'manualSelector',
  'podFailurePolicy',
  'successPolicy',
  'backoffLimitPerIndex',
  'maxFailedIndexes',
] as const satisfies readonly (keyof JobOptions)[];

/** Templated Job parameters beyond the pod's (rendered with the task context before `buildJob`). */
export const JOB_TEMPLATE_FIELDS = ['jobTemplateFile', 'jobTemplateDict', 'fullJobSpec'] as const satisfies readonly (keyof JobOptions)[];

/** `propagationPolicy` of a Job deletion: Foreground waits for the pods, Background lets the GC remove them, Orphan keeps them. */
export type PropagationPolicy = 'Foreground' | 'Background' | 'Orphan';

/**
 * What happens to the Job once the task is done:
 * - `delete_job` (default, like the pod operator's `delete_pod`): always delete;
 * - `delete_succeeded_job`: delete a completed Job, keep a failed one (labelled checked) for inspection;
 * - `keep_job`: never delete (labelled checked; `ttlSecondsAfterFinished` may still remove it).
 */
export type JobFinishAction = 'delete_job' | 'delete_succeeded_job' | 'keep_job';

/** All values, for validation. */
export const JOB_FINISH_ACTIONS: readonly JobFinishAction[] = ['delete_job', 'delete_succeeded_job', 'keep_job'];

