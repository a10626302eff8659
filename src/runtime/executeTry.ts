/**
 * Executing one try of an operator, independent of where its context comes from: the task process
 * (context over the Execution API) and the in-process runner of `dags test` / `tasks test` (context over
 * the store) share it, so a try ends the same way in both — success with a JSON return value, skipped on
 * `TaskSkipped`, failed (retryable unless `TaskFailFast`) on anything else, and failed on timeout.
 */
import { systemClock, type Clock } from '../core/clock.ts';
import { CapstanError, errorMessage, TaskFailFast, TaskSkipped } from '../core/errors.ts';
import type { JsonValue } from '../core/serialized.ts';
import type { TryOutcome } from '../engine/taskLifecycle.ts';
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

/**
 * Render the templated fields, then run `onExecute` and `execute` under the execution timeout. `abort`
 * is the try's controller (its signal is `ctx.signal`): aborting it from outside (a heartbeat that learns
 * the try was cleared) stops the try. A template that cannot be rendered fails the try. The execution
 * timeout is measured on `clock` (the test kit passes a manual clock; default: the wall clock).
 */
export async function executeOperator(
  op: BaseOperator,
  ctx: TaskContext,
  timeoutMs: number | null,
  abort: AbortController,
  log: TaskLogger,
  templating: TryTemplating = {},
  clock: Clock = systemClock,
): Promise<TryResult> {
  let restoreTemplates = () => undefined as void;
  try {
    // A mapped task becomes the operator of this map index first; that operator is what is templated.
    if (op instanceof MappedOperator) op = await op.unmap(ctx);
    restoreTemplates = await renderForTry(op, ctx, templating);
    await op.callbacks.onExecute?.(ctx);
    const result = await withTimeout(Promise.resolve(op.execute(ctx)), timeoutMs, abort, clock);
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
    return { outcome: { kind: 'failed', reason: errorMessage(err), retryable: !(err instanceof TaskFailFast) }, returnValue: undefined };
  } finally {
    restoreTemplates();
  }
}

/** Resolve with `work`, or reject when the try is aborted or runs past `timeoutMs` of `clock` time. */
export async function withTimeout<T>(work: Promise<T>, timeoutMs: number | null, abort: AbortController, clock: Clock = systemClock): Promise<T> {
  const stopped = new Promise<never>((_, reject) => {
    if (abort.signal.aborted) reject(abort.signal.reason);
    abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true });
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
  const error = outcome.kind === 'failed' ? new Error(outcome.reason) : undefined;
  const cb = state === 'success' ? op.callbacks.onSuccess : state === 'failed' ? op.callbacks.onFailure : state === 'up_for_retry' ? op.callbacks.onRetry : undefined;
  if (!cb) return;
  try {
    await cb(ctx, error ? { error } : {});
  } catch (err) {
    log.error(`callback for state ${state} failed (ignored): ${errorMessage(err)}`);
  }
}
