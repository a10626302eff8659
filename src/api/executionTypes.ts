/** Shapes exchanged over the Execution API (shared by the server and the task runtime's client). */
import type { JsonObject, JsonValue } from '../core/serialized.ts';
import type { DagRunType } from '../core/states.ts';

/** Returned by `start`: everything a task process needs to run its try. */
export interface TaskRunContext {
  tiId: string;
  tryNumber: number;
  maxTries: number;
  dagId: string;
  taskId: string;
  runId: string;
  dagRunId: number;
  mapIndex: number;
  runType: DagRunType;
  logicalDate: number | null;
  dataIntervalStart: number | null;
  dataIntervalEnd: number | null;
  /** The data interval of the DAG's latest successful run before this one (null when there is none). */
  prevDataIntervalStartSuccess: number | null;
  prevDataIntervalEndSuccess: number | null;
  conf: JsonObject;
  params: Record<string, JsonValue>;
  fileloc: string;
  executionTimeoutMs: number | null;
  /** When the try first started (a continued try keeps the start of its first run). */
  tryStartedAt: number;
  /** Reschedules of this try so far (a reschedule-mode sensor's earlier pokes). */
  rescheduleCount: number;
  /** Set when the try resumes after a deferral: the method to call and the trigger's event. */
  resume: { method: string; event: JsonValue; kwargs: JsonObject } | null;
  /** A short-lived token for the rest of the try, used instead of the launch token from now on (heartbeats renew it). */
  token: string;
}
