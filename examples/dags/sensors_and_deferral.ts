/**
 * Sensors and deferrable tasks:
 * - `produce` writes a file after two seconds; `wait_for_file` (a FileSensor in reschedule mode) pokes
 *   for it every second and gives its worker slot back between pokes (state `up_for_reschedule`).
 * - `settle` (TimeDeltaSensor) and `not_before_interval_end` (DateTimeSensor) defer to the triggerer:
 *   no worker slot is held while they wait.
 * - `wait_then_report` is a custom deferrable operator: `execute` defers to a TimeDeltaTrigger and the
 *   task resumes in `report`, on a worker, with the trigger's event.
 * Needs a triggerer (part of `capstan standalone`, or `capstan triggerer`).
 */
import { BaseOperator, BashOperator, dag, DateTimeSensor, FileSensor, TimeDeltaSensor, TimeDeltaTrigger, type JsonValue, type TaskContext } from 'capstan';

/** Defers for `seconds`, then returns what the trigger reported. */
class WaitThenReport extends BaseOperator {
  readonly operatorName = 'WaitThenReport';
  readonly seconds: number;

  constructor(options: { taskId: string; seconds: number }) {
    super(options);
    this.seconds = options.seconds;
  }

  execute(ctx: TaskContext): void {
    ctx.log.info(`deferring for ${this.seconds} s; this worker slot is free meanwhile`);
    this.defer({
      trigger: new TimeDeltaTrigger({ delta: this.seconds * 1000 }, ctx.clock?.now()),
      method: 'report',
      kwargs: { seconds: this.seconds },
      timeout: '5m',
    });
  }

  /** Resumed by the trigger's event (the moment it fired). */
  report(ctx: TaskContext, event: JsonValue): JsonValue {
    ctx.log.info(`resumed in try ${ctx.tryNumber}: the trigger fired at ${String(event)}`);
    return { firedAt: event, waitedSeconds: this.seconds };
  }
}

const FLAG = '/tmp/capstan-example-sensor-{{ dag.dag_id }}-{{ ts_nodash }}.flag';

export default dag({ dagId: 'sensors_and_deferral', schedule: null, tags: ['example', 'sensors', 'deferral'] }, () => {
  // The flag's path reaches the shell through env ("$FLAG"): templated values never go into a command as code.
  const produce = new BashOperator({ taskId: 'produce', bashCommand: 'sleep 2 && touch "$FLAG"', env: { FLAG }, appendEnv: true });
  const waitForFile = new FileSensor({ taskId: 'wait_for_file', filepath: FLAG, mode: 'reschedule', pokeInterval: '1s', timeout: '2m' });
  const cleanup = new BashOperator({ taskId: 'cleanup', bashCommand: 'rm -f "$FLAG"', env: { FLAG }, appendEnv: true, triggerRule: 'all_done' });
  const settle = new TimeDeltaSensor({ taskId: 'settle', delta: '2s', timeout: '5m' });
  const notBefore = new DateTimeSensor({ taskId: 'not_before_interval_end', targetTime: '{{ data_interval_end }}', timeout: '5m' });
  const report = new WaitThenReport({ taskId: 'wait_then_report', seconds: 2 });
  produce.before(cleanup);
  waitForFile.before(cleanup);
  settle.before(report);
  notBefore.before(report);
});
