/**
 * The trigger contract shared by operators (which defer to a trigger), the triggerer (which runs it) and
 * the engine (which stores it). A trigger is a small async object that waits for one thing — a moment,
 * a file, an HTTP answer, a pod or Job finishing — and yields an event when it happens. It must be
 * serializable: the task that defers hands the triggerer only `{ classpath, kwargs }`, and the triggerer
 * rebuilds the trigger from that (possibly on another host, possibly after a restart). See
 * src/triggerer/ARCHITECTURE.md.
 */
import type { Clock, JsonObject, JsonValue, SerializedTrigger, TaskConnection } from '../core/index.ts';

export type { SerializedTrigger } from '../core/index.ts';

/** The one thing a trigger reports: its payload becomes `event` of the resumed task's method. */
export interface TriggerEvent {
  payload: JsonValue;
}

/** Where a trigger logs (the triggerer's process log, tagged with the trigger id). */
export interface TriggerLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** What the triggerer gives a running trigger besides its abort signal. */
export interface TriggerEnv {
  /** Wait and read time through this clock (a test can drive it), never `setTimeout` directly. */
  clock: Clock;
  log: TriggerLogger;
  /** The trigger's row id (stable across triggerer restarts), for log lines and idempotency keys. */
  triggerId: number;
  /**
   * A connection by id, resolved in the triggerer (secrets decrypted there). Store connection ids in
   * kwargs, never credentials: kwargs are kept in the metadata database as plain JSON.
   */
  getConnection(connId: string): Promise<TaskConnection>;
  /**
   * Whether the trigger's task instance is still deferred on this trigger (read from the metadata database).
   * A trigger whose `signal` aborted calls it to tell the two kinds of cancellation apart: `true` — the
   * triggerer is stopping or handing the trigger over, so the awaited work must go on; `false` — the task
   * was marked, cleared or timed out, so the work the trigger watched (a pod, a Job) should be stopped.
   * Absent where no database is at hand (an in-process test run): treat the task as still deferred.
   */
  isTaskDeferred?(): Promise<boolean>;
  /**
   * The deferred try's own task log, for what the awaited work prints while no task process runs (a pod's
   * container log): lines appear to readers of the try's log at once, masked like the task's. Absent where the
   * triggerer keeps no task logs (an in-process test run).
   */
  taskLog?: TriggerTaskLog;
}

/** Lines into the deferred try's task log (see `TriggerEnv.taskLog`). */
export interface TriggerTaskLog {
  info(text: string): void;
  /** Resolves once every line written so far is stored: call before yielding the event that resumes the task. */
  flush(): Promise<void>;
}

/**
 * A deferrable wait.
 *
 * - `serialize()` returns the classpath and kwargs that rebuild an equivalent trigger.
 * - `run(signal, env)` is an async iterator: it waits (awaiting promises, never blocking the event loop:
 *   one triggerer runs thousands of triggers on one thread) and yields a `TriggerEvent` when the awaited
 *   thing happens. Only the first event is used: the task resumes with it and the trigger is cancelled.
 *   Returning without an event, or throwing, fails the deferral (the task resumes into its failure
 *   path). `signal` aborts when the trigger is no longer needed (the task was cleared, marked, timed out,
 *   or another triggerer took the trigger over): stop promptly and release what you hold.
 * - `run` may be called more than once for the same stored trigger (a triggerer died and another one
 *   took over), so it must be safe to start again: watch, don't create.
 *
 * @example
 * ```ts
 * export class QueueTrigger implements Trigger {
 *   constructor(readonly kwargs: { queue: string }) {}
 *   serialize() { return { classpath: triggerClasspath(import.meta.url, 'QueueTrigger'), kwargs: this.kwargs }; }
 *   async *run(signal: AbortSignal, env: TriggerEnv) {
 *     while (!signal.aborted) {
 *       const msg = await peek(this.kwargs.queue);
 *       if (msg) { yield { payload: msg }; return; }
 *       await env.clock.sleep(5_000, signal);
 *     }
 *   }
 * }
 * ```
 */
export interface Trigger {
  serialize(): SerializedTrigger;
  run(signal: AbortSignal, env: TriggerEnv): AsyncIterable<TriggerEvent>;
}

/** A class that rebuilds a trigger from its kwargs (what a classpath names). */
export type TriggerClass = new (kwargs: JsonObject) => Trigger;
