/**
 * DAG-run and task-instance lists of the public API: filtered, ordered, paged, with the total that matched,
 * across one DAG (and run) or every DAG a principal may see. One query for the page, one for the count.
 */
import { sql, type SelectQueryBuilder } from 'kysely';
import type { DagRunState, DagRunType, TaskInstanceState } from '../core/index.ts';
import type { MetadataDb } from './db.ts';
import type { Database, DagRunRow, TaskInstanceRow } from './schema.ts';

/** A closed or half-open range of epoch milliseconds. */
export interface TimeRange {
  gte?: number;
  lte?: number;
}

export const RUN_SORT_FIELDS = ['id', 'runId', 'state', 'logicalDate', 'startDate', 'endDate', 'dagId'] as const;
export type RunSortField = (typeof RUN_SORT_FIELDS)[number];

export interface RunSearch {
  dagId?: string;
  /** Only runs of these DAGs (a custom role's grants). */
  dagIds?: readonly string[];
  states?: readonly DagRunState[];
  runTypes?: readonly DagRunType[];
  logicalDate?: TimeRange;
  startDate?: TimeRange;
  endDate?: TimeRange;
  /** Case-insensitive substring of the run id. */
  runIdPattern?: string;
}

const RUN_COLUMN = { id: 'id', runId: 'run_id', state: 'state', logicalDate: 'logical_date', startDate: 'start_date', endDate: 'end_date', dagId: 'dag_id' } as const satisfies Record<RunSortField, string>;

/** One page of runs matching `s` and the total. */
export async function searchDagRuns(m: MetadataDb, s: RunSearch, page: { limit: number; offset: number }, sort: { by: RunSortField; descending: boolean }): Promise<{ runs: DagRunRow[]; total: number }> {
  const dir = sort.descending ? 'desc' : 'asc';
  let q = runFilter(m, s).selectAll().orderBy(RUN_COLUMN[sort.by], dir);
  if (sort.by !== 'id') q = q.orderBy('id', dir);
  const [runs, count] = await Promise.all([q.limit(page.limit).offset(page.offset).execute(), runFilter(m, s).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()]);
  return { runs, total: Number(count.n) };
}

function runFilter(m: MetadataDb, s: RunSearch): SelectQueryBuilder<Database, 'dag_run', object> {
  let q = m.db.selectFrom('dag_run');
  if (s.dagId !== undefined) q = q.where('dag_id', '=', s.dagId);
  if (s.dagIds) q = s.dagIds.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where('dag_id', 'in', [...s.dagIds]);
  if (s.states?.length) q = q.where('state', 'in', [...s.states]);
  if (s.runTypes?.length) q = q.where('run_type', 'in', [...s.runTypes]);
  q = range(q, 'logical_date', s.logicalDate);
  q = range(q, 'start_date', s.startDate);
  q = range(q, 'end_date', s.endDate);
  if (s.runIdPattern !== undefined) q = q.where(contains('run_id', s.runIdPattern));
  return q;
}

export const TI_SORT_FIELDS = ['id', 'taskId', 'state', 'startDate', 'endDate', 'duration', 'mapIndex', 'pool', 'queue', 'operator', 'runId', 'dagId', 'tryNumber'] as const;
export type TiSortField = (typeof TI_SORT_FIELDS)[number];

export interface TiSearch {
  dagId?: string;
  runId?: string;
  dagIds?: readonly string[];
  taskIds?: readonly string[];
  /** Case-insensitive substring of the task id. */
  taskIdPattern?: string;
  mapIndexes?: readonly number[];
  states?: readonly TaskInstanceState[];
  pools?: readonly string[];
  queues?: readonly string[];
  operators?: readonly string[];
  startDate?: TimeRange;
  endDate?: TimeRange;
  /** Of the run's logical date. */
  logicalDate?: TimeRange;
  /** Duration in milliseconds. */
  duration?: TimeRange;
}

const TI_COLUMN = {
  id: 'task_instance.dag_run_id',
  taskId: 'task_instance.task_id',
  state: 'task_instance.state',
  startDate: 'task_instance.start_date',
  endDate: 'task_instance.end_date',
  duration: 'task_instance.duration_ms',
  mapIndex: 'task_instance.map_index',
  pool: 'task_instance.pool',
  queue: 'task_instance.queue',
  operator: 'task_instance.operator',
  runId: 'task_instance.run_id',
  dagId: 'task_instance.dag_id',
  tryNumber: 'task_instance.try_number',
} as const satisfies Record<TiSortField, string>;

/** A task instance with its run's logical date. */
export type TiWithRun = TaskInstanceRow & { logical_date: number | null };

/** One page of task instances matching `s` and the total. */
export async function searchTaskInstances(m: MetadataDb, s: TiSearch, page: { limit: number; offset: number }, sort: { by: TiSortField; descending: boolean }): Promise<{ tis: TiWithRun[]; total: number }> {
  const dir = sort.descending ? 'desc' : 'asc';
  let q = tiFilter(m, s).selectAll('task_instance').select('dag_run.logical_date').orderBy(TI_COLUMN[sort.by], dir);
  for (const tie of ['task_instance.dag_run_id', 'task_instance.task_id', 'task_instance.map_index'] as const) if (tie !== TI_COLUMN[sort.by]) q = q.orderBy(tie, 'asc');
  const [tis, count] = await Promise.all([q.limit(page.limit).offset(page.offset).execute(), countTis(m, s)]);
  return { tis: tis as TiWithRun[], total: Number(count.n) };
}

/** The total: without a logical-date filter the count needs no join (the bulk of a count over 100,000 rows). */
async function countTis(m: MetadataDb, s: TiSearch): Promise<{ n: number }> {
  if (s.logicalDate?.gte !== undefined || s.logicalDate?.lte !== undefined) return tiFilter(m, s).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return tiConditions(m.db.selectFrom('task_instance'), s).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
}

function tiFilter(m: MetadataDb, s: TiSearch): SelectQueryBuilder<Database, 'task_instance' | 'dag_run', object> {
  const q = tiConditions(m.db.selectFrom('task_instance').innerJoin('dag_run', 'dag_run.id', 'task_instance.dag_run_id'), s);
  return range(q, 'dag_run.logical_date', s.logicalDate);
}

/** Every condition on task_instance's own columns. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function tiConditions<Q extends SelectQueryBuilder<Database, any, object>>(query: Q, s: TiSearch): Q {
  // The builder's table set is generic here; every column named is task_instance's.
  let q = query as unknown as SelectQueryBuilder<Database, 'task_instance', object>;
  if (s.dagId !== undefined) q = q.where('task_instance.dag_id', '=', s.dagId);
  if (s.runId !== undefined) q = q.where('task_instance.run_id', '=', s.runId);
  if (s.dagIds) q = s.dagIds.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where('task_instance.dag_id', 'in', [...s.dagIds]);
  if (s.taskIds?.length) q = q.where('task_instance.task_id', 'in', [...s.taskIds]);
  if (s.taskIdPattern !== undefined) q = q.where(contains('task_instance.task_id', s.taskIdPattern));
  if (s.mapIndexes?.length) q = q.where('task_instance.map_index', 'in', [...s.mapIndexes]);
  if (s.states?.length) q = q.where('task_instance.state', 'in', [...s.states]);
  if (s.pools?.length) q = q.where('task_instance.pool', 'in', [...s.pools]);
  if (s.queues?.length) q = q.where('task_instance.queue', 'in', [...s.queues]);
  if (s.operators?.length) q = q.where('task_instance.operator', 'in', [...s.operators]);
  q = range(q, 'task_instance.start_date', s.startDate);
  q = range(q, 'task_instance.end_date', s.endDate);
  q = range(q, 'task_instance.duration_ms', s.duration);
  return q as unknown as Q;
}

/** Runs per DAG and state, for the DAG stats. */
export async function runCountsByDagAndState(m: MetadataDb, dagIds: readonly string[]): Promise<Array<{ dagId: string; state: DagRunState; count: number }>> {
  if (dagIds.length === 0) return [];
  const rows = await m.db
    .selectFrom('dag_run')
    .select(['dag_id', 'state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('dag_id', 'in', [...dagIds])
    .groupBy(['dag_id', 'state'])
    .execute();
  return rows.map((r) => ({ dagId: r.dag_id, state: r.state, count: Number(r.n) }));
}

// Kysely's generic builders cannot name a column picked at run time without a cast; the columns are ours.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function range<Q extends SelectQueryBuilder<Database, any, object>>(q: Q, column: string, r: TimeRange | undefined): Q {
  if (r === undefined) return q;
  let out = q;
  if (r.gte !== undefined) out = out.where(sql.ref(column), '>=', r.gte) as Q;
  if (r.lte !== undefined) out = out.where(sql.ref(column), '<=', r.lte) as Q;
  return out;
}

function contains(column: string, text: string) {
  const pattern = `%${text.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
  return sql<boolean>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`;
}
