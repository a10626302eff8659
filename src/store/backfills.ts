/**
 * Backfill rows (`backfill`) and the date → run links of each (`backfill_dag_run`). The rules — which
 * dates to create, re-run or skip, and when a backfill run may start — are the engine's
 * (services/backfill.ts); this module only reads and writes the rows.
 */
import { sql } from 'kysely';
import type { DagRunState, JsonObject, TaskInstanceState } from '../core/index.ts';
import type { MetadataDb } from './db.ts';
import type { Page, PageRequest, SortRequest } from './listPage.ts';
import type { BackfillTable } from './schema.ts';
import { failQueuedRuns, type Actor } from './transitions/index.ts';

/** What happens to a date that already has a run (Airflow's `reprocess_behavior`). */
export type ReprocessBehavior = BackfillTable['reprocess_behavior'];

/** A backfill as callers see it (times in epoch ms). */
export interface BackfillInfo {
  id: number;
  dagId: string;
  from: number;
  to: number;
  reprocess: ReprocessBehavior;
  maxActiveRuns: number;
  conf: JsonObject;
  createdAt: number;
  /** Set when every run finished, or when the backfill was cancelled. */
  completedAt: number | null;
  /** While paused, its queued runs are not started (running ones finish). */
  isPaused: boolean;
}

/** A new backfill's settings. */
export interface NewBackfill {
  dagId: string;
  from: number;
  to: number;
  reprocess: ReprocessBehavior;
  maxActiveRuns: number;
  conf: JsonObject;
}

/** One date of a backfill: the run serving it (null when none), or why it was skipped (`exceptionReason`). */
export interface BackfillLink {
  backfillId: number;
  logicalDate: number;
  sortOrdinal: number;
  dagRunId: number | null;
  exceptionReason: 'already_exists' | 'in_flight' | null;
}

/** Fields a backfill list may be ordered by. */
export const BACKFILL_SORT_FIELDS = ['id', 'dagId', 'createdAt', 'completedAt', 'fromDate', 'toDate'] as const;
export type BackfillSortField = (typeof BACKFILL_SORT_FIELDS)[number];
const BACKFILL_COLUMNS = { id: 'id', dagId: 'dag_id', createdAt: 'created_at', completedAt: 'completed_at', fromDate: 'from_date', toDate: 'to_date' } as const;

function toInfo(row: { id: number; dag_id: string; from_date: number; to_date: number; reprocess_behavior: ReprocessBehavior; max_active_runs: number; dag_run_conf: string; created_at: number; completed_at: number | null; is_paused: number }): BackfillInfo {
  return {
    id: Number(row.id),
    dagId: row.dag_id,
    from: Number(row.from_date),
    to: Number(row.to_date),
    reprocess: row.reprocess_behavior,
    maxActiveRuns: row.max_active_runs,
    conf: JSON.parse(row.dag_run_conf) as JsonObject,
    createdAt: Number(row.created_at),
    completedAt: row.completed_at === null ? null : Number(row.completed_at),
    isPaused: Number(row.is_paused) === 1,
  };
}

/** Record a new backfill (not paused, not completed). */
export async function insertBackfill(m: MetadataDb, b: NewBackfill, now: number): Promise<BackfillInfo> {
  const row = await m.db
    .insertInto('backfill')
    .values({ dag_id: b.dagId, from_date: b.from, to_date: b.to, reprocess_behavior: b.reprocess, max_active_runs: b.maxActiveRuns, dag_run_conf: JSON.stringify(b.conf), created_at: now, completed_at: null, updated_at: now })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toInfo(row);
}

/** Record one date of a backfill and the run serving it. */
export async function linkBackfillRun(m: MetadataDb, l: BackfillLink): Promise<void> {
  await m.db
    .insertInto('backfill_dag_run')
    .values({ backfill_id: l.backfillId, logical_date: l.logicalDate, sort_ordinal: l.sortOrdinal, dag_run_id: l.dagRunId, exception_reason: l.exceptionReason })
    .execute();
}

/** Make an existing run a backfill run with `conf` (before it is cleared to run again). */
export async function retypeAsBackfillRun(m: MetadataDb, dagRunId: number, conf: JsonObject, now: number): Promise<void> {
  await m.db.updateTable('dag_run').set({ run_type: 'backfill', conf: JSON.stringify(conf), updated_at: now }).where('id', '=', dagRunId).execute();
}

/** The backfill with this id, if any. */
export async function findBackfill(m: MetadataDb, id: number): Promise<BackfillInfo | undefined> {
  const row = await m.db.selectFrom('backfill').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toInfo(row);
}

/** Backfills of a DAG, newest first. */
export async function listBackfills(m: MetadataDb, dagId: string): Promise<BackfillInfo[]> {
  const rows = await m.db.selectFrom('backfill').selectAll().where('dag_id', '=', dagId).orderBy('id', 'desc').execute();
  return rows.map(toInfo);
}

/**
 * One page of backfills, of the DAGs in `dagIds` when given (a principal limited to some DAGs) and of
 * `dagId` when given, optionally only active ones (not completed), ordered by `sort` (default newest
 * first), with how many matched.
 */
export async function pageBackfills(
  m: MetadataDb,
  q: PageRequest & { dagId?: string; dagIds?: readonly string[]; active?: boolean; sort?: SortRequest<BackfillSortField> },
): Promise<Page<BackfillInfo>> {
  let base = m.db.selectFrom('backfill');
  if (q.dagId !== undefined) base = base.where('dag_id', '=', q.dagId);
  if (q.dagIds !== undefined) base = q.dagIds.length === 0 ? base.where(sql<boolean>`1 = 0`) : base.where('dag_id', 'in', [...q.dagIds]);
  if (q.active !== undefined) base = base.where('completed_at', q.active ? 'is' : 'is not', null);
  const sort = q.sort ?? { by: 'id', descending: true };
  const direction = sort.descending ? 'desc' : 'asc';
  const [rows, count] = await Promise.all([
    base.selectAll().orderBy(BACKFILL_COLUMNS[sort.by], direction).orderBy('id', direction).limit(q.limit).offset(q.offset).execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(toInfo), total: Number(count.n) };
}

/** Set a backfill's paused flag. */
export async function setBackfillPausedFlag(m: MetadataDb, id: number, paused: boolean, now: number): Promise<void> {
  await m.db.updateTable('backfill').set({ is_paused: paused ? 1 : 0, updated_at: now }).where('id', '=', id).execute();
}

/**
 * In one transaction: pause the backfill and mark it completed (if it was not), and fail its linked runs
 * that are still queued. Returns how many runs were failed.
 */
export async function closeBackfillFailingQueuedRuns(m: MetadataDb, id: number, reason: string, actor: Actor, now: number): Promise<number> {
  return m.db.transaction().execute(async (tx) => {
    await tx.updateTable('backfill').set({ is_paused: 1, completed_at: now, updated_at: now }).where('id', '=', id).where('completed_at', 'is', null).execute();
    const runs = await tx.selectFrom('backfill_dag_run').select('dag_run_id').where('backfill_id', '=', id).where('exception_reason', 'is', null).where('dag_run_id', 'is not', null).execute();
    const runIds = runs.flatMap((r) => (r.dag_run_id === null ? [] : [r.dag_run_id]));
    return (await failQueuedRuns(tx, runIds, reason, { actor }, now)).length;
  });
}

/** A backfill's dates: the runs serving them (`dag_run_id`) and the skipped ones (`exception_reason`). */
export async function backfillLinks(m: MetadataDb, id: number): Promise<Array<{ dag_run_id: number | null; exception_reason: string | null }>> {
  return m.db.selectFrom('backfill_dag_run').select(['dag_run_id', 'exception_reason']).where('backfill_id', '=', id).execute();
}

/** The states of these runs (one entry per run found). */
export async function runStates(m: MetadataDb, runIds: readonly number[]): Promise<DagRunState[]> {
  const rows = await m.db.selectFrom('dag_run').select('state').where('id', 'in', [...runIds]).execute();
  return rows.map((r) => r.state);
}

/** How many task instances of these runs are in each state. */
export async function tiCountsByStateOfRuns(m: MetadataDb, runIds: readonly number[]): Promise<Array<{ state: TaskInstanceState; n: number }>> {
  const rows = await m.db
    .selectFrom('task_instance')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('dag_run_id', 'in', [...runIds])
    .groupBy('state')
    .execute();
  return rows.map((r) => ({ state: r.state, n: Number(r.n) }));
}

/** Record that a backfill completed at `now` (once: a completed backfill keeps its first time). */
export async function markBackfillCompleted(m: MetadataDb, id: number, now: number): Promise<void> {
  await m.db.updateTable('backfill').set({ completed_at: now, updated_at: now }).where('id', '=', id).where('completed_at', 'is', null).execute();
}

/** The backfill serving a queued run, with that backfill's limit and pause flag. */
export interface RunBackfill {
  dagRunId: number;
  backfillId: number;
  maxActiveRuns: number;
  paused: boolean;
}

/** The backfills of these runs, oldest backfill first (a run re-run by a later backfill belongs to the newest: it comes last). */
export async function backfillsOfRuns(m: MetadataDb, dagRunIds: readonly number[]): Promise<RunBackfill[]> {
  const links = await m.db
    .selectFrom('backfill_dag_run')
    .innerJoin('backfill', 'backfill.id', 'backfill_dag_run.backfill_id')
    .select(['backfill_dag_run.dag_run_id', 'backfill.id', 'backfill.max_active_runs', 'backfill.is_paused'])
    .where('backfill_dag_run.dag_run_id', 'in', [...dagRunIds])
    .orderBy('backfill.id')
    .execute();
  return links.map((l) => ({ dagRunId: Number(l.dag_run_id), backfillId: Number(l.id), maxActiveRuns: l.max_active_runs, paused: Number(l.is_paused) === 1 }));
}

/** Per backfill, how many of its runs are running. */
export async function runningRunsByBackfill(m: MetadataDb, backfillIds: readonly number[]): Promise<Map<number, number>> {
  const rows = await m.db
    .selectFrom('backfill_dag_run')
    .innerJoin('dag_run', 'dag_run.id', 'backfill_dag_run.dag_run_id')
    .select(['backfill_dag_run.backfill_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('backfill_dag_run.backfill_id', 'in', [...backfillIds])
    .where('backfill_dag_run.exception_reason', 'is', null)
    .where('dag_run.state', '=', 'running')
    .groupBy('backfill_dag_run.backfill_id')
    .execute();
  return new Map(rows.map((r) => [Number(r.backfill_id), Number(r.n)]));
}
