/** Sensors that wait for a time: `DateTimeSensor` and `TimeDeltaSensor`, deferred by default. */
import { CapstanError, DagDefinitionError, type DurationInput, parseDuration, systemClock } from '../../core/index.ts';
import type { JsonObject, JsonValue } from '../../core/index.ts';
import { DateTimeTrigger } from '../../triggers/index.ts';
import type { TaskContext } from '../taskContext.ts';
import { BaseSensorOperator, type SensorOptions } from './base.ts';

/** Options shared by the time sensors. */
interface TimeSensorOptions extends SensorOptions {
  /**
   * Wait in the triggerer (a `DateTimeTrigger`) instead of on a worker. Default true — unlike Airflow,
   * whose async variants are separate classes: a pure wait never needs a worker slot.
   */
  deferrable?: boolean;
}

abstract class TimeSensor extends BaseSensorOperator {
  readonly deferrable: boolean;

  constructor(options: TimeSensorOptions) {
    super(options);
    this.deferrable = options.deferrable ?? true;
  }

  /** The moment waited for (epoch ms). */
  abstract target(ctx: TaskContext): number;

  override poke(ctx: TaskContext): boolean {
    const target = this.target(ctx);
    const now = (ctx.clock ?? systemClock).now();
    ctx.log.info(`waiting until ${new Date(target).toISOString()}: ${now >= target ? 'reached' : `${target - now} ms to go`}`);
    return now >= target;
  }

  override async execute(ctx: TaskContext): Promise<JsonValue | undefined> {
    if (!this.deferrable) return super.execute(ctx);
    if (this.poke(ctx)) return undefined;
    this.defer({ trigger: new DateTimeTrigger({ moment: new Date(this.target(ctx)).toISOString() }), method: 'executeComplete', timeout: this.remainingMs(ctx) });
  }

  /** Resumed when the moment came. */
  executeComplete(ctx: TaskContext, event: JsonValue): undefined {
    ctx.log.info(`moment reached: ${String(event)}`);
    return undefined;
  }
}

/** Options of a {@link DateTimeSensor}. */
export interface DateTimeSensorOptions extends TimeSensorOptions {
  /** ISO-8601 date-time to wait for (templated, e.g. `'{{ data_interval_end }}'`). */
  targetTime: string;
}

/**
 * Succeeds once `targetTime` has passed.
 *
 * @example
 * new DateTimeSensor({ taskId: 'wait_until_six', targetTime: '{{ macros.ds_add(ds, 1) }}T06:00:00Z' });
 */
export class DateTimeSensor extends TimeSensor {
  static override readonly templateFields: readonly string[] = ['targetTime'];
  readonly operatorName: string = 'DateTimeSensor';
  readonly targetTime: string;

  constructor(options: DateTimeSensorOptions) {
    super(options);
    if (typeof options.targetTime !== 'string' || options.targetTime === '') throw new DagDefinitionError(`sensor '${options.taskId}': targetTime must be an ISO-8601 date-time string`);
    this.targetTime = options.targetTime;
  }

  override target(): number {
    const t = Date.parse(this.targetTime);
    if (!Number.isFinite(t)) throw new CapstanError('invalid_argument', `DateTimeSensor '${this.taskId}': targetTime '${this.targetTime}' is not an ISO-8601 date-time`);
    return t;
  }

  protected override serializeFields(): JsonObject {
    return { ...super.serializeFields(), targetTime: this.targetTime, deferrable: this.deferrable };
  }
}

/** Options of a {@link TimeDeltaSensor}. */
export interface TimeDeltaSensorOptions extends TimeSensorOptions {
  /** Wait until the run's data interval end plus this (Airflow's rule). */
  delta: DurationInput;
}

/**
 * Succeeds `delta` after the run's data interval end (after the try's first start for runs without a
 * data interval).
 *
 * @example
 * new TimeDeltaSensor({ taskId: 'settle', delta: '15m' });
 */
export class TimeDeltaSensor extends TimeSensor {
  readonly operatorName: string = 'TimeDeltaSensor';
  readonly deltaMs: number;

  constructor(options: TimeDeltaSensorOptions) {
    super(options);
    this.deltaMs = parseDuration(options.delta, `sensor '${options.taskId}': delta`);
  }

  override target(ctx: TaskContext): number {
    const base = ctx.dataIntervalEnd?.getTime() ?? ctx.tryStartedAt?.getTime() ?? (ctx.clock ?? systemClock).now();
    return base + this.deltaMs;
  }

  protected override serializeFields(): JsonObject {
    return { ...super.serializeFields(), deltaMs: this.deltaMs, deferrable: this.deferrable };
  }
}
