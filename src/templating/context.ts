/**
 * The template context of one try, with Airflow's names: `ds`, `ts`, `logical_date`, the data interval,
 * the previous successful run's interval, `run_id`, `dag`, `task`, `ti`, `params`, `var`, `conn`, `macros`,
 * `dag_run` (with `conf`), and the DAG's user-defined macros at top level.
 */
import type { BaseOperator } from '../sdk/baseOperator.ts';
import type { TaskContext } from '../sdk/taskContext.ts';
import { strftime, TemplateDate } from './dates.ts';
import type { TemplateLookups } from './lookups.ts';
import { templateMacros } from './macros.ts';

/** Build the context `op`'s templates are rendered with. */
export function buildTemplateContext(op: BaseOperator, ctx: TaskContext, lookups: TemplateLookups, now: () => number): Record<string, unknown> {
  const date = (d: Date | null | undefined) => (d ? new TemplateDate(d) : null);
  const logical = ctx.logicalDate;
  const dsNodash = logical ? strftime(logical, '%Y%m%d') : null;
  const dag = op.dag;
  const ti = {
    dag_id: ctx.dagId,
    task_id: ctx.taskId,
    run_id: ctx.runId,
    try_number: ctx.tryNumber,
    max_tries: ctx.maxTries,
    map_index: ctx.mapIndex,
    xcom_pull: (...args: unknown[]) => lookups.xcomPull(...args),
  };
  return {
    ...dag.userDefinedMacros,
    ds: logical ? strftime(logical, '%Y-%m-%d') : null,
    ds_nodash: dsNodash,
    ts: logical ? new TemplateDate(logical).isoformat() : null,
    ts_nodash: logical ? strftime(logical, '%Y%m%dT%H%M%S') : null,
    ts_nodash_with_tz: logical ? strftime(logical, '%Y%m%dT%H%M%S+0000') : null,
    logical_date: date(logical),
    data_interval_start: date(ctx.dataIntervalStart),
    data_interval_end: date(ctx.dataIntervalEnd),
    prev_data_interval_start_success: date(ctx.prevDataIntervalStartSuccess),
    prev_data_interval_end_success: date(ctx.prevDataIntervalEndSuccess),
    run_id: ctx.runId,
    task_instance_key_str: `${ctx.dagId}__${ctx.taskId}__${dsNodash ?? ''}`,
    dag: {
      dag_id: dag.dagId,
      description: dag.description,
      owner: dag.owner,
      tags: [...dag.tags],
      schedule: dag.scheduleText,
      params: dag.params,
    },
    task: {
      task_id: op.taskId,
      dag_id: dag.dagId,
      operator: op.operatorName,
      task_type: op.operatorName,
      owner: op.owner,
      retries: op.retry.retries,
      pool: op.pool,
      queue: op.queue,
      trigger_rule: op.triggerRule,
    },
    ti,
    task_instance: ti,
    params: ctx.params,
    dag_run: {
      dag_id: ctx.dagId,
      run_id: ctx.runId,
      run_type: ctx.runType,
      conf: ctx.conf,
      external_trigger: ctx.runType === 'manual',
      logical_date: date(logical),
      data_interval_start: date(ctx.dataIntervalStart),
      data_interval_end: date(ctx.dataIntervalEnd),
    },
    var: lookups.varAccessor(),
    conn: lookups.connAccessor(),
    macros: templateMacros(now),
  };
}
