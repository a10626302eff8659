/** Triggers that wait for a moment: `DateTimeTrigger` (absolute) and `TimeDeltaTrigger` (relative). */
import { type DurationInput, InvalidArgument, parseDuration } from '../core/index.ts';
import type { JsonObject } from '../core/index.ts';
import { builtinClasspath } from './classpath.ts';
import type { SerializedTrigger, Trigger, TriggerEnv, TriggerEvent } from './types.ts';

/** Kwargs of a {@link DateTimeTrigger}. */
export interface DateTimeTriggerKwargs extends JsonObject {
  /** ISO-8601 instant to wait for. */
  moment: string;
}

/**
 * Fires once `moment` has passed (at once if it already has), with the moment as payload — Airflow's
 * `DateTimeTrigger`. Waits on the triggerer's clock.
 *
 * @example
 * this.defer({ trigger: new DateTimeTrigger({ moment: '2026-01-01T00:00:00Z' }), method: 'afterWait' });
 */
export class DateTimeTrigger implements Trigger {
  readonly moment: number;

  constructor(kwargs: JsonObject) {
    const m = kwargs['moment'];
    const at = typeof m === 'string' ? Date.parse(m) : Number.NaN;
    if (!Number.isFinite(at)) throw new InvalidArgument(`DateTimeTrigger: moment must be an ISO-8601 date-time, got ${JSON.stringify(m)}`);
    this.moment = at;
  }

  serialize(): SerializedTrigger {
    return { classpath: builtinClasspath('DateTimeTrigger'), kwargs: { moment: new Date(this.moment).toISOString() } };
  }

  async *run(signal: AbortSignal, env: TriggerEnv): AsyncGenerator<TriggerEvent> {
    // Sleep in bounded steps: a long wait re-checks the clock instead of trusting one huge timer.
    while (!signal.aborted) {
      const left = this.moment - env.clock.now();
      if (left <= 0) {
        yield { payload: new Date(this.moment).toISOString() };
        return;
      }
      await env.clock.sleep(Math.min(left, 60_000), signal);
    }
  }
}

/**
 * Fires `delta` after it was created — Airflow's `TimeDeltaTrigger`. It serializes as the equivalent
 * `DateTimeTrigger`, so a triggerer restart does not restart the wait.
 *
 * @example
 * this.defer({ trigger: new TimeDeltaTrigger({ delta: '10m' }, ctx.clock?.now()), method: 'afterWait' });
 */
export class TimeDeltaTrigger extends DateTimeTrigger {
  constructor(kwargs: { delta: DurationInput }, now: number = Date.now()) {
    const delta = parseDuration(kwargs.delta, 'TimeDeltaTrigger.delta');
    super({ moment: new Date(now + delta).toISOString() });
  }
}
