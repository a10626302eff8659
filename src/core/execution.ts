/**
 * The contract between a task process and the platform: what `start` hands a try (`TaskRunContext`), and how
 * a try reports that it ended (`TryOutcome`) or paused (`TrySuspension`). The Execution API serves it, the task
 * runtime speaks it, the lifecycle service applies it; none of them owns it, so it lives here.
 */
import type { FailureReason } from './failureReason.ts';
import type { JsonObject, JsonValue, SerializedTrigger } from './serialized.ts';
import type { DagRunType } from './states.ts';

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

/** How a try ended, as reported by the task process or inferred by the platform. */
export type TryOutcome =
  /** `skipTaskIds`: downstream tasks to skip as the try succeeds (branch, short-circuit, latest-only). */
  | { kind: 'success'; skipTaskIds?: string[] }
  | { kind: 'skipped'; reason: string }
  /** `failure` says why (and whether a retry may follow: see `retryPolicyOf`). */
  | { kind: 'failed'; failure: FailureReason; exitCode?: number | null };

/** How a try pauses without ending: it continues later with the same try number. */
export type TrySuspension =
  /** The try hands its wait to `trigger` and resumes in `method` when it fires (`timeoutMs`: null = none). */
  | { kind: 'deferred'; trigger: SerializedTrigger; method: string; kwargs: JsonObject; timeoutMs: number | null }
  /** A reschedule-mode sensor: the try continues at `rescheduleAt` (epoch ms), its slot free meanwhile. */
  | { kind: 'rescheduled'; rescheduleAt: number };
