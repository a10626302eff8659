/**
 * The serialized DAG: the JSON form the DAG processor stores and the scheduler reads. The scheduler never
 * imports user code; it works from this structure alone. The format is versioned; readers refuse
 * versions they do not know.
 */
import type { SerializedMapping } from './mapping.ts';
import type { Timetable } from './schedule.ts';
import type { TriggerRule } from './triggerRules.ts';

export const SERIALIZED_DAG_VERSION = 1;

/** JSON value (what XComs, params, conf and operator fields are made of). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Retry policy of a task, in milliseconds. */
export interface RetryPolicy {
  retries: number;
  retryDelayMs: number;
  retryExponentialBackoff: boolean;
  maxRetryDelayMs: number | null;
}

export interface SerializedTask {
  taskId: string;
  /** Operator kind, e.g. `BashOperator`, `PythonLike` task function: `TaskFlow`. */
  operator: string;
  /** Direct upstream task ids. */
  upstream: string[];
  /** Direct downstream task ids (derived from upstream; stored for the scheduler's fast lookups). */
  downstream: string[];
  triggerRule: TriggerRule;
  retry: RetryPolicy;
  executionTimeoutMs: number | null;
  pool: string;
  poolSlots: number;
  priorityWeight: number;
  dependsOnPast: boolean;
  queue: string;
  owner: string;
  doc: string | null;
  /** Operator-specific fields, JSON only (templates unrendered). */
  fields: JsonObject;
  /** Which callbacks the task defines (they run in the task's own process). */
  callbacks: Array<'onSuccess' | 'onFailure' | 'onRetry' | 'onExecute'>;
  /**
   * Present on a mapped task (`.partial(...).expand(...)`): how it expands into map indexes 0..n-1;
   * `fields` then holds the partial (fixed) arguments. Absent on unmapped tasks, so DAGs stored before
   * mapping existed read unchanged.
   */
  mapping?: SerializedMapping;
  /** Per-task executor settings (`podOverride`, `podTemplateFile` for the KubernetesExecutor); absent when unset. */
  executorConfig?: JsonObject;
}

export interface SerializedParam {
  default: JsonValue | null;
  type: 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null' | 'any';
  description: string | null;
  required: boolean;
  enum: JsonValue[] | null;
  /** Further JSON-schema keywords (minimum, pattern, items…); absent when the param has none. */
  schema?: JsonObject;
}

/**
 * Which variables and connections a DAG's tasks may read: ids or globs (`*` matches any run of
 * characters). A list that is absent leaves that kind unrestricted; an empty list allows none.
 */
export interface SecretAccess {
  variables?: string[];
  connections?: string[];
}

export interface SerializedDag {
  version: typeof SERIALIZED_DAG_VERSION;
  dagId: string;
  fileloc: string;
  description: string | null;
  doc: string | null;
  timetable: Timetable;
  /** The user's schedule as written, for display. */
  scheduleText: string | null;
  startDate: number | null;
  endDate: number | null;
  catchup: boolean;
  tags: string[];
  owner: string;
  params: Record<string, SerializedParam>;
  maxActiveRuns: number;
  maxActiveTasks: number;
  dagrunTimeoutMs: number | null;
  isPausedUponCreation: boolean;
  tasks: SerializedTask[];
  /** DAG-level callbacks the file defines (run by the scheduler in a callback process); absent when none. */
  callbacks?: Array<'onSuccess' | 'onFailure'>;
  /** The variables and connections this DAG's tasks may read through the Execution API; absent: every one. */
  secretAccess?: SecretAccess;
  /** Custom roles granted this DAG (role name → `read` | `edit`); absent when none. */
  accessControl?: Record<string, 'read' | 'edit'>;
  /** Authoring warnings found when the file was parsed (Airflow's DAG warnings); absent when none. */
  warnings?: DagWarning[];
}

/**
 * Something in a DAG that works but is known to hurt in production (a `:latest` image without a pull policy, a
 * pod without resource requests). Found by the DAG processor at parse time; the DAG still runs.
 */
export interface DagWarning {
  /** Stable code, e.g. `latest-image-without-pull-policy`. */
  code: string;
  /** The task it is about; null for the DAG as a whole. */
  taskId: string | null;
  /** What is wrong, why it matters and the fix, in one sentence or two. */
  message: string;
}

/** What a trigger is stored as: enough to rebuild it in a triggerer process. */
export interface SerializedTrigger {
  /**
   * `capstan.<Name>` for a built-in trigger (e.g. `capstan.DateTimeTrigger`), or `<module>#<export>` for a
   * user trigger: an absolute path or `file:` URL of an ES module (or a package specifier) and the name of
   * the exported class, whose constructor takes `kwargs`.
   */
  classpath: string;
  /** JSON arguments for the trigger's constructor. */
  kwargs: JsonObject;
}
