/**
 * Reading recent state changes of runs and task instances, for the API's live stream: rows whose
 * `updated_at` (stamped by every transition and note change) is at or after a moment, optionally within one DAG or run or
 * a set of DAGs, oldest first.
 */
import { sql } from 'kysely';
import type { DagRunState, TaskInstanceState } from '../core/index.ts';
import type { MetadataDb } from './db.ts';

export interface ChangeScope {
  dagId?: string;
  dagIds?: readonly string[];
  runId?: string;
}

export interface RunChange {
  dag_id: string;
  run_id: string;
  state: DagRunState;
  note: string | null;
  updated_at: number;
}

export interface TiChange {
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  state: TaskInstanceState;
  try_number: number;
  note: string | null;
  updated_at: number;
}

/** Runs changed at or after `since`, at most `limit`, oldest first. */
export async function runChangesSince(m: MetadataDb, scope: ChangeScope, since: number, limit: number): Promise<RunChange[]> {
  let q = m.db.selectFrom('dag_run').select(['dag_id', 'run_id', 'state', 'note', 'updated_at']).where('updated_at', '>=', since);
  if (scope.dagId !== undefined) q = q.where('dag_id', '=', scope.dagId);
  if (scope.dagIds) q = scope.dagIds.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where('dag_id', 'in', [...scope.dagIds]);
  if (scope.runId !== undefined) q = q.where('run_id', '=', scope.runId);
  return q.orderBy('updated_at').limit(limit).execute();
}

/** Task instances changed at or after `since`, at most `limit`, oldest first. */
export async function tiChangesSinceAnywhere(m: MetadataDb, scope: ChangeScope, since: number, limit: number): Promise<TiChange[]> {
  let q = m.db.selectFrom('task_instance').select(['dag_id', 'run_id', 'task_id', 'map_index', 'state', 'try_number', 'note', 'updated_at']).where('updated_at', '>=', since);
  if (scope.dagId !== undefined) q = q.where('dag_id', '=', scope.dagId);
  if (scope.dagIds) q = scope.dagIds.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where('dag_id', 'in', [...scope.dagIds]);
  if (scope.runId !== undefined) q = q.where('run_id', '=', scope.runId);
  return q.orderBy('updated_at').limit(limit).execute();
}
