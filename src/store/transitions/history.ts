/** Reading the state history that the transition verbs leave (see migration 010 for how it is written). */
import type { MetadataDb } from '../db.ts';
import type { DagRunHistoryRow, TaskInstanceHistoryRow } from '../schema.ts';

/** Which task's history to read; without `mapIndex`, every map index of the task. */
export interface TaskHistoryFilter {
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex?: number;
}

/**
 * Every state move of a task in a run, oldest first: each try's queueing, start and end, and the clears,
 * marks and retries between them, with who moved it (`actor`) and why (`reason`, `failure_kind`).
 *
 * @example
 * const moves = await listTaskInstanceHistory(m, { dagId: 'etl', runId: 'manual__2026-01-01', taskId: 'load' });
 * // [{ try_number: 1, from_state: 'queued', to_state: 'running', actor: 'worker', … }, …]
 */
export async function listTaskInstanceHistory(m: MetadataDb, filter: TaskHistoryFilter): Promise<TaskInstanceHistoryRow[]> {
  // By instance id (the history's one index): a mapped placeholder keeps its id as it becomes index 0.
  let instances = m.db.selectFrom('task_instance').select('task_instance.id').where('dag_id', '=', filter.dagId).where('run_id', '=', filter.runId).where('task_id', '=', filter.taskId);
  if (filter.mapIndex !== undefined) instances = instances.where('map_index', '=', filter.mapIndex);
  return m.db.selectFrom('task_instance_history').selectAll().where('ti_id', 'in', instances).orderBy('map_index').orderBy('id').execute();
}

/**
 * Every state move of a run, oldest first, from its creation (`from_state` null).
 *
 * @example
 * await listDagRunHistory(m, { dagId: 'etl', runId: 'manual__2026-01-01' })
 * // [{ from_state: null, to_state: 'queued', actor: 'alice' }, { from_state: 'queued', to_state: 'running', actor: 'scheduler' }, …]
 */
export async function listDagRunHistory(m: MetadataDb, filter: { dagId: string; runId: string }): Promise<DagRunHistoryRow[]> {
  const run = m.db.selectFrom('dag_run').select('dag_run.id').where('dag_id', '=', filter.dagId).where('run_id', '=', filter.runId);
  return m.db.selectFrom('dag_run_history').selectAll().where('dag_run_id', 'in', run).orderBy('id').execute();
}
