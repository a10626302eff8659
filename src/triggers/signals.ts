/**
 * Control flow out of `execute`: a try that ends without an outcome and continues later. Thrown by
 * `BaseOperator.defer()` and by sensors in reschedule mode; the runtime turns them into the `deferred` and
 * `rescheduled` outcomes. They are not failures, so they are not `CapstanError`s.
 */
import type { JsonObject } from '../core/index.ts';
import type { SerializedTrigger } from './types.ts';

/** The try hands its wait to a trigger; it resumes by calling `method` with the trigger's event. */
export class TaskDeferred extends Error {
  readonly trigger: SerializedTrigger;
  readonly method: string;
  readonly kwargs: JsonObject;
  /** The deferral fails (the task resumes into `__fail__`) after this long; null: no limit. */
  readonly timeoutMs: number | null;

  constructor(request: { trigger: SerializedTrigger; method: string; kwargs: JsonObject; timeoutMs: number | null }) {
    super(`deferred to ${request.trigger.classpath}, resuming in ${request.method}()`);
    this.name = 'TaskDeferred';
    this.trigger = request.trigger;
    this.method = request.method;
    this.kwargs = request.kwargs;
    this.timeoutMs = request.timeoutMs;
  }
}

/** A reschedule-mode sensor gives its worker slot back until `rescheduleAt` (epoch ms). */
export class TaskRescheduled extends Error {
  readonly rescheduleAt: number;

  constructor(rescheduleAt: number) {
    super(`rescheduled to ${new Date(rescheduleAt).toISOString()}`);
    this.name = 'TaskRescheduled';
    this.rescheduleAt = rescheduleAt;
  }
}

/** `next_method` of a deferral that failed (trigger timeout, trigger error): the task resumes into it. */
export const FAIL_METHOD = '__fail__';

/** Raised on the worker when a deferred task resumes after its trigger timed out. */
export class TaskDeferralTimeout extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskDeferralTimeout';
  }
}

/** Raised on the worker when a deferred task resumes after its trigger failed. */
export class TaskDeferralError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskDeferralError';
  }
}
