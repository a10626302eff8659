/** `FunctionSensor`: a sensor whose poke is a function in the DAG file (Airflow's PythonSensor / @task.sensor). */
import { DagDefinitionError } from '../../core/index.ts';
import type { TaskContext } from '../taskContext.ts';
import { BaseSensorOperator, type PokeReturnValue, type SensorOptions } from './base.ts';

/** Options of a {@link FunctionSensor}. */
export interface FunctionSensorOptions extends SensorOptions {
  /** Called on each poke: true (or a done `PokeReturnValue`, whose value is pushed) ends the wait. */
  poke: (ctx: TaskContext) => boolean | PokeReturnValue | Promise<boolean | PokeReturnValue>;
}

/**
 * @example
 * new FunctionSensor({ taskId: 'wait_quota', mode: 'reschedule', pokeInterval: '5m',
 *   poke: async (ctx) => (await ctx.getJsonVariable('quota_free')) === true });
 */
export class FunctionSensor extends BaseSensorOperator {
  readonly operatorName: string = 'FunctionSensor';
  readonly #poke: FunctionSensorOptions['poke'];

  constructor(options: FunctionSensorOptions) {
    super(options);
    if (typeof options.poke !== 'function') throw new DagDefinitionError(`sensor '${options.taskId}': poke must be a function (ctx) => boolean | PokeReturnValue`);
    this.#poke = options.poke;
  }

  override poke(ctx: TaskContext): boolean | PokeReturnValue | Promise<boolean | PokeReturnValue> {
    return this.#poke(ctx);
  }
}
