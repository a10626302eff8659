/**
 * What a running task sees: its identity, its run's dates and params, a logger that writes to the task
 * log, XCom, variables and connections. The task runtime implements it over the Execution API; the
 * in-process test runner implements it over the store. Operators depend only on this interface.
 */
import type { Clock, DagRunType, JsonObject, JsonValue, TaskConnection } from '../core/index.ts';

export type { TaskConnection };

export interface TaskLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface TaskContext {
  readonly dagId: string;
  readonly taskId: string;
  readonly runId: string;
  readonly runType: DagRunType;
  readonly mapIndex: number;
  /** 1 for the first try. */
  readonly tryNumber: number;
  /** Retries + 1. */
  readonly maxTries: number;
  readonly logicalDate: Date | null;
  readonly dataIntervalStart: Date | null;
  readonly dataIntervalEnd: Date | null;
  /** The data interval of the DAG's latest successful run before this one (null when there is none). */
  readonly prevDataIntervalStartSuccess?: Date | null;
  readonly prevDataIntervalEndSuccess?: Date | null;
  /** DAG params merged with the run's conf. */
  readonly params: Readonly<Record<string, JsonValue>>;
  /** The run's conf as triggered. */
  readonly conf: Readonly<JsonObject>;
  readonly log: TaskLogger;
  /** Aborted when the try must stop (timeout, kill, mark-failed). */
  readonly signal: AbortSignal;
  /**
   * When the current try first started. A rescheduled sensor or a resumed deferral continues the same
   * try, so this stays the start of its first run (a sensor's timeout counts from it). Absent: now.
   */
  readonly tryStartedAt?: Date;
  /** How often the current try was rescheduled so far (a reschedule-mode sensor's earlier pokes). */
  readonly rescheduleCount?: number;
  /**
   * The clock to read time and wait on (sensor poke intervals, polling loops): the wall clock in a task
   * process, the test's `ManualClock` under `capstan/testing`, so waits pass without real sleeping.
   * Optional for contexts built before it existed; absent means the wall clock (`ctx.clock ?? systemClock`).
   */
  readonly clock?: Clock;
  xcomPush(key: string, value: JsonValue): Promise<void>;
  /**
   * The value another task pushed in this run; `null` when absent. Default key `return_value`. Without
   * `mapIndex`, a mapped task's XCom is the list of its map indexes' values in map-index order.
   */
  xcomPull(taskId: string, key?: string, mapIndex?: number): Promise<JsonValue | null>;
  /**
   * A variable's value, or null when it does not exist. Read once per try (later reads in the same try, from code
   * or templates, answer from the try's cache); a change made meanwhile is seen by the next try.
   */
  getVariable(key: string): Promise<string | null>;
  /** {@link getVariable} parsed as JSON. */
  getJsonVariable(key: string): Promise<JsonValue | null>;
  /** A connection (secrets masked in the task log once read), read once per try like variables; each call returns its own copy. */
  getConnection(connId: string): Promise<TaskConnection>;
}
