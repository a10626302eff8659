/**
 * Executing one try of an operator, independent of where its context comes from: the task process
 * (context over the Execution API) and the in-process runner of `dags test` / `tasks test` (context over
 * the store) share it, so a try ends the same way in both — success with a JSON return value, skipped on
 * `TaskSkipped`, failed (retryable unless `TaskFailFast`) on anything else, and failed on timeout.
 */
import { CapstanError, type Clock, errorMessage, failureOfError, systemClock, TaskSkipped } from '../core/index.ts';
import type { JsonObject, JsonValue, TryOutcome, TrySuspension } from '../core/index.ts';
import { TaskDeferred, TaskRescheduled } from '../triggers/index.ts';
import type { BaseOperator } from '../sdk/baseOperator.ts';
import { MappedOperator } from '../sdk/mapping.ts';
import { SkipDownstream } from '../sdk/skipping.ts';
import type { TaskContext, TaskLogger } from '../sdk/taskContext.ts';
import { renderForTry, type TryTemplating } from '../templating/index.ts';

/** What a try produced: its outcome and, on success, the value to push as `return_value`. */
export interface TryResult {
  outcome: TryOutcome;
  returnValue: JsonValue | undefined;
}

/** A try that may also pause (defer or reschedule) instead of ending. */
export interface SuspendableTryResult {
  outcome: TryOutcome | TrySuspension;
  returnValue: JsonValue | undefined;
}

/** Where a deferred try continues: `op.resumeExecution(ctx, method, event, kwargs)` instead of `execute`. */
export interface ResumePoint {
  method: string;
  event: JsonValue;
  kwargs: JsonObject;
}

/**
 * Render the templated fields, then run `onExecute` and `execute` under the execution timeout. `abort`
 * is the try's controller (its signal is `ctx.signal`): aborting it from outside (a heartbeat that learns
 * the try was cleared) stops the try. A template that cannot be rendered fails the try. The execution
 * timeout is measured on `clock` (the test kit passes a manual clock). `TaskDeferred` (from
 * `BaseOperator.defer()`) becomes a `deferred` suspension and `TaskRescheduled` (a reschedule-mode sensor)
 * a `rescheduled` one; with `resume`, the try continues in the deferral's method instead of `execute`.
 */
export async function executeSuspendable(
  op: BaseOperator,
  ctx: TaskContext,
  timeoutMs: number | null,
  abort: AbortController,
  log: TaskLogger,
  templating: TryTemplating,
  clock: Clock,
  resume: ResumePoint | null,
): Promise<SuspendableTryResult> {
  let suspension: TrySuspension | undefined;
  const result = await runOperator(op, ctx, timeoutMs, abort, log, templating, clock, resume, (err) => {
    if (err instanceof TaskDeferred) {
      log.info(`deferring: ${err.message}${err.timeoutMs === null ? '' : ` (timeout ${err.timeoutMs} ms)`}; the worker slot is released`);
      suspension = { kind: 'deferred', trigger: err.trigger, method: err.method, kwargs: err.kwargs, timeoutMs: err.timeoutMs };
      return true;
    }
    if (err instanceof TaskRescheduled) {
      log.info(`${err.message}; the worker slot is released until then`);
      suspension = { kind: 'rescheduled', rescheduleAt: err.rescheduleAt };
      return true;
    }
    return false;
  });
  return suspension ? { outcome: suspension, returnValue: undefined } : result;
}

async function runOperator(
  op: BaseOperator,
  ctx: TaskContext,
  timeoutMs: number | null,
  abort: AbortController,
  log: TaskLogger,
  templating: TryTemplating,
  clock: Clock,
  resume: ResumePoint | null,
  /** True when `err` pauses the try (then the returned result is ignored); may rethrow a replacement. */
  suspends: (err: unknown) => boolean,
): Promise<TryResult> {
  let restoreTemplates = () => undefined as void;
  try {
    // A mapped task becomes the operator of this map index first; that operator is what is templated.
    if (op instanceof MappedOperator) op = await op.unmap(ctx);
    restoreTemplates = await renderForTry(op, ctx, templating);
    let work: Promise<unknown>;
    try {
      if (resume) {
        log.info(`resuming after deferral in ${resume.method}()`);
        work = Promise.resolve(op.resumeExecution(ctx, resume.method, resume.event, resume.kwargs));
      } else {
        await op.callbacks.onExecute?.(ctx);
        work = Promise.resolve(op.execute(ctx));
      }
    } catch (err) {
      work = Promise.reject(err as Error);
    }
    let result: unknown;
    try {
      result = await withTimeout(work, timeoutMs, abort, clock, abortCleanupMsOf(op));
    } catch (err) {
      if (suspends(err)) return { outcome: { kind: 'success' }, returnValue: undefined };
      throw err;
    }
    // A branching operator names the downstream tasks to skip; the engine skips them as the try succeeds.
    const skips = result instanceof SkipDownstream ? result.skipTaskIds : [];
    const returnValue = toJson(result instanceof SkipDownstream ? result.value : result);
    log.info('task succeeded');
    return { outcome: skips.length > 0 ? { kind: 'success', skipTaskIds: [...skips] } : { kind: 'success' }, returnValue };
  } catch (err) {
    if (err instanceof TaskSkipped) {
      log.info(`task skipped: ${err.message}`);
      return { outcome: { kind: 'skipped', reason: err.message }, returnValue: undefined };
    }
    log.error(`task failed: ${err instanceof Error && err.stack ? err.stack : errorMessage(err)}`);
    return { outcome: { kind: 'failed', failure: failureOfError(err) }, returnValue: undefined };
  } finally {
    restoreTemplates();
  }
}

/**
 * How long an aborted try's `execute` may go on cleaning up before the try is reported (and the task process
 * exits): an operator class's static `abortCleanupMs` (default 0). The Kubernetes operators set it, because
 * their reaction to the abort is an API call — deleting the task's pod or Job — that the process must live
 * to send. The grace ends as soon as `execute` settles.
 */
export function abortCleanupMsOf(op: BaseOperator): number {
  const ms = (op.constructor as { abortCleanupMs?: unknown }).abortCleanupMs;
  return typeof ms === 'number' && ms > 0 ? ms : 0;
}

/**
 * Resolve with `work`, or reject when the try is aborted or runs past `timeoutMs` of `clock` time. After an
 * abort, `work` gets up to `cleanupMs` (real time) to settle first, so its cleanup completes.
 */
export async function withTimeout<T>(work: Promise<T>, timeoutMs: number | null, abort: AbortController, clock: Clock = systemClock, cleanupMs = 0): Promise<T> {
  const stopped = new Promise<never>((_, reject) => {
    const stop = (): void => {
      if (cleanupMs <= 0) return reject(abort.signal.reason);
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => { timer = setTimeout(resolve, cleanupMs); });
      void Promise.race([work.then(() => undefined, () => undefined), grace]).then(() => {
        clearTimeout(timer);
        reject(abort.signal.reason);
      });
    };
    if (abort.signal.aborted) stop();
    else abort.signal.addEventListener('abort', stop, { once: true });
  });
  stopped.catch(() => undefined);
  if (timeoutMs === null) return Promise.race([work, stopped]);
  // The timer is a clock sleep cancelled when the work settles, so a manual clock can fire it.
  const settled = new AbortController();
  void clock.sleep(timeoutMs, settled.signal, { deadline: true }).then(() => {
    if (!settled.signal.aborted) abort.abort(new CapstanError('task_timeout', `execution timeout of ${timeoutMs} ms exceeded`));
  });
  try {
    return await Promise.race([work, stopped]);
  } finally {
    settled.abort();
  }
}

/** The task's return value as JSON (undefined stays undefined); a non-JSON value is an error. */
export function toJson(value: unknown): JsonValue | undefined {
  if (value === undefined) return undefined;
  const text = JSON.stringify(value);
  if (text === undefined) throw new CapstanError('invalid_argument', 'the task returned a value that is not JSON-serializable');
  return JSON.parse(text) as JsonValue;
}

/** Run the callback for the state the try ended in; its errors are logged, never fatal. */
export async function runTaskCallbacks(op: BaseOperator, ctx: TaskContext, state: string, outcome: TryOutcome, log: TaskLogger): Promise<void> {
  const error = outcome.kind === 'failed' ? new Error(outcome.failure.message) : undefined;
  const cb = state === 'success' ? op.callbacks.onSuccess : state === 'failed' ? op.callbacks.onFailure : state === 'up_for_retry' ? op.callbacks.onRetry : undefined;
  if (!cb) return;
  try {
    await cb(ctx, error ? { error } : {});
  } catch (err) {
    log.error(`callback for state ${state} failed (ignored): ${errorMessage(err)}`);
  }
}
