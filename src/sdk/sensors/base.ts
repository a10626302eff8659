/**
 * The base sensor (Airflow's BaseSensorOperator): `poke()` until it says done, every `pokeInterval`, and
 * fail after `timeout` (counted from the try's first start, across reschedules). Two modes:
 *
 * - `poke`: the sensor sleeps between pokes on `ctx.clock`, holding its worker slot (short waits).
 * - `reschedule`: after a negative poke the try pauses (`up_for_reschedule`) and gives its worker and
 *   pool slot back; the scheduler queues it again at the next poke date, as the same try.
 *
 * A timeout fails the task without using its retries (Airflow's AirflowSensorTimeout), or skips it when
 * `softFail` is set. `exponentialBackoff` grows the interval per poke (with a deterministic jitter, capped
 * by `maxWait` and by the time left). Deferrable sensors (e.g. `FileSensor({ deferrable: true })`) hand
 * the wait to the triggerer instead; their deferral carries the remaining timeout.
 */
import { createHash } from 'node:crypto';
import {
  type Clock,
  DagDefinitionError,
  type DurationInput,
  parseDuration,
  systemClock,
  TaskFailFast,
  TaskSkipped,
} from '../../core/index.ts';
import type { JsonObject, JsonValue } from '../../core/index.ts';
import { FAIL_METHOD, TaskRescheduled } from '../../triggers/index.ts';
import { BaseOperator, type DeferralFailure, type TaskOptions } from '../baseOperator.ts';
import type { TaskContext } from '../taskContext.ts';

/** `poke` holds the worker slot between pokes; `reschedule` frees it. */
export type SensorMode = 'poke' | 'reschedule';

/** Options of every sensor. */
export interface SensorOptions extends TaskOptions {
  /** Time between pokes. Default 60 s. */
  pokeInterval?: DurationInput;
  /** Fail (or skip, with `softFail`) when not done this long after the try first started. Default 7 days. */
  timeout?: DurationInput;
  /** Skip instead of failing on timeout. Default false. */
  softFail?: boolean;
  /** Default `poke`. */
  mode?: SensorMode;
  /** Grow the interval exponentially per poke. Default false. */
  exponentialBackoff?: boolean;
  /** Cap on the interval with `exponentialBackoff`. Default none. */
  maxWait?: DurationInput;
}

/** What `poke()` may return besides a boolean: done or not, and the value to push as `return_value`. */
export class PokeReturnValue {
  readonly isDone: boolean;
  readonly xcomValue: JsonValue | undefined;

  constructor(isDone: boolean, xcomValue?: JsonValue) {
    this.isDone = isDone;
    this.xcomValue = xcomValue;
  }
}

/** The base of sensors: implement `poke(ctx)`. See the module comment. */
export abstract class BaseSensorOperator extends BaseOperator {
  readonly pokeIntervalMs: number;
  readonly timeoutMs: number;
  readonly softFail: boolean;
  readonly mode: SensorMode;
  readonly exponentialBackoff: boolean;
  readonly maxWaitMs: number | null;

  constructor(options: SensorOptions) {
    super(options);
    const where = `sensor '${options.taskId}'`;
    this.pokeIntervalMs = parseDuration(options.pokeInterval ?? 60_000, `${where}: pokeInterval`);
    this.timeoutMs = parseDuration(options.timeout ?? 7 * 24 * 3_600_000, `${where}: timeout`);
    this.softFail = options.softFail ?? false;
    const mode = options.mode ?? 'poke';
    if (mode !== 'poke' && mode !== 'reschedule') throw new DagDefinitionError(`${where}: mode must be 'poke' or 'reschedule', got '${String(mode)}'`);
    this.mode = mode;
    this.exponentialBackoff = options.exponentialBackoff ?? false;
    this.maxWaitMs = options.maxWait === undefined ? null : parseDuration(options.maxWait, `${where}: maxWait`);
  }

  /** One check: true (or a done `PokeReturnValue`) ends the sensor successfully. */
  abstract poke(ctx: TaskContext): boolean | PokeReturnValue | Promise<boolean | PokeReturnValue>;

  override async execute(ctx: TaskContext): Promise<JsonValue | undefined> {
    const clock = ctx.clock ?? systemClock;
    const startedAt = ctx.tryStartedAt?.getTime() ?? clock.now();
    let pokes = ctx.rescheduleCount ?? 0;
    for (;;) {
      const result = await this.poke(ctx);
      pokes++;
      const done = result instanceof PokeReturnValue ? result.isDone : result === true;
      if (done) {
        ctx.log.info(`sensor condition met after ${pokes} poke(s)`);
        return result instanceof PokeReturnValue ? result.xcomValue : undefined;
      }
      const elapsed = clock.now() - startedAt;
      if (elapsed > this.timeoutMs) this.timedOut(`sensor timed out: not done after ${elapsed} ms (timeout ${this.timeoutMs} ms, ${pokes} poke(s))`);
      const interval = this.nextPokeIntervalMs(ctx, startedAt, pokes, elapsed);
      if (this.mode === 'reschedule') throw new TaskRescheduled(clock.now() + interval);
      ctx.log.info(`poke ${pokes}: not yet; next poke in ${interval} ms`);
      await clock.sleep(interval, ctx.signal);
      if (ctx.signal.aborted) throw ctx.signal.reason;
    }
  }

  /**
   * The wait before the next poke. Without backoff: `pokeInterval`. With it (Airflow's rule):
   * `pokeInterval · 2^(pokes − 2)` plus a jitter derived from the task and try, capped by the time left
   * before the timeout and by `maxWait`.
   */
  nextPokeIntervalMs(ctx: Pick<TaskContext, 'dagId' | 'taskId'>, startedAt: number, pokes: number, elapsedMs: number): number {
    if (!this.exponentialBackoff) return this.pokeIntervalMs;
    const minBackoff = Math.max(Math.floor(this.pokeIntervalMs * 2 ** (pokes - 2)), 1);
    const hash = BigInt('0x' + createHash('sha1').update(`${ctx.dagId}#${ctx.taskId}#${startedAt}#${pokes}`).digest('hex'));
    const jittered = minBackoff + Number(hash % BigInt(minBackoff));
    let interval = Math.min(Math.max(0, this.timeoutMs - elapsedMs), jittered);
    if (this.maxWaitMs !== null) interval = Math.min(this.maxWaitMs, interval);
    return interval;
  }

  /** The time left before the sensor's timeout, for a deferral's own timeout. */
  protected remainingMs(ctx: TaskContext): number {
    const clock: Clock = ctx.clock ?? systemClock;
    const startedAt = ctx.tryStartedAt?.getTime() ?? clock.now();
    return Math.max(0, this.timeoutMs - (clock.now() - startedAt));
  }

  /** Fail without retrying — or skip with `softFail`. */
  protected timedOut(message: string): never {
    if (this.softFail) throw new TaskSkipped(`${message} (softFail)`);
    throw new TaskFailFast(message);
  }

  /** A deferred sensor whose deferral timed out times out like a sensor (fail fast, or skip with softFail). */
  override async resumeExecution(ctx: TaskContext, method: string, event: JsonValue, kwargs: JsonObject): Promise<unknown> {
    if (method === FAIL_METHOD && (event as unknown as DeferralFailure).kind === 'timeout') {
      this.timedOut(`sensor timed out while deferred (timeout ${this.timeoutMs} ms)`);
    }
    return super.resumeExecution(ctx, method, event, kwargs);
  }

  protected override serializeFields(): JsonObject {
    return {
      mode: this.mode,
      pokeIntervalMs: this.pokeIntervalMs,
      timeoutMs: this.timeoutMs,
      softFail: this.softFail,
      exponentialBackoff: this.exponentialBackoff,
      maxWaitMs: this.maxWaitMs,
    };
  }
}
