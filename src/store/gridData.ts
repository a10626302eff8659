/**
 * What the grid view reads: a DAG's latest runs and the states of their task instances, in full or only
 * what changed since a moment (`updated_at`, indexed per run). Two queries either way, at any DAG size.
 */
import type { DagRunState, DagRunType, TaskInstanceState } from '../core/index.ts';
import type { MetadataDb } from './db.ts';
import type { DagRunRow } from './schema.ts';

export interface GridCell {
  dag_run_id: number;
  task_id: string;
  map_index: number;
  state: TaskInstanceState;
  try_number: number;
  updated_at: number;
}

/** The newest `limit` runs of the DAG (after `offset`), newest first. */
export async function latestRuns(m: MetadataDb, dagId: string, o: { limit: number; offset: number; states?: readonly DagRunState[]; runTypes?: readonly DagRunType[] }): Promise<DagRunRow[]> {
  let q = m.db.selectFrom('dag_run').selectAll().where('dag_id', '=', dagId);
  if (o.states?.length) q = q.where('state', 'in', [...o.states]);
  if (o.runTypes?.length) q = q.where('run_type', 'in', [...o.runTypes]);
  return q.orderBy('id', 'desc').limit(o.limit).offset(o.offset).execute();
}

/** Task-instance states of these runs; with `since`, only those changed at or after it. */
export async function gridCells(m: MetadataDb, runIds: readonly number[], since?: number): Promise<GridCell[]> {
  if (runIds.length === 0) return [];
  let q = m.db.selectFrom('task_instance').select(['dag_run_id', 'task_id', 'map_index', 'state', 'try_number', 'updated_at']).where('dag_run_id', 'in', [...runIds]);
  if (since !== undefined) q = q.where('updated_at', '>=', since);
  return q.execute();
}

/** Every map index's state of these (run, task) pairs, to re-summarise a mapped task after a change. */
export async function mappedCells(m: MetadataDb, pairs: ReadonlyArray<{ dagRunId: number; taskId: string }>): Promise<GridCell[]> {
  if (pairs.length === 0) return [];
  return m.db
    .selectFrom('task_instance')
    .select(['dag_run_id', 'task_id', 'map_index', 'state', 'try_number', 'updated_at'])
    .where((eb) => eb.or(pairs.map((p) => eb.and([eb('dag_run_id', '=', p.dagRunId), eb('task_id', '=', p.taskId)]))))
    .execute();
}
