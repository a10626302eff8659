/**
 * The SQL of the scheduler's critical section (scheduler/queueing.ts decides; these read and commit).
 * Call them on one `inTransaction` handle. The locking is here: on PostgreSQL the pool rows are selected
 * `FOR UPDATE` — the lock that serializes schedulers, so two never over-fill a pool between them — and the
 * candidates `FOR UPDATE SKIP LOCKED`; on SQLite the transaction's `BEGIN IMMEDIATE` write lock already
 * serializes them. The commit is the guarded `scheduled → queued` verb, so each try is queued once.
 */
import { sql } from 'kysely';
import type { FailureReason } from '../core/index.ts';
import type { MetadataDb } from './db.ts';
import type { TaskInstanceRow } from './schema.ts';
import { failUnqueueable, queueTis } from './transitions/index.ts';

/** A pool's size and whether deferred tasks hold its slots. */
export interface PoolSizeRow {
  name: string;
  slots: number;
  includeDeferred: boolean;
}

/** Slots and task instances in use, per pool, DAG and holding state. */
export interface SlotUseRow {
  pool: string;
  dagId: string;
  state: 'queued' | 'running' | 'deferred';
  slots: number;
  count: number;
}

/** A scheduled task instance the critical section may queue. */
export type QueueCandidateRow = Pick<TaskInstanceRow, 'id' | 'dag_id' | 'run_id' | 'task_id' | 'map_index' | 'queue' | 'priority_weight' | 'pool' | 'pool_slots' | 'dag_run_id'>;

/** Every pool's size; on PostgreSQL the rows stay locked (`FOR UPDATE`) until the transaction ends. */
export async function readPoolSizes(tx: MetadataDb): Promise<PoolSizeRow[]> {
  type Row = { name: string; slots: number; include_deferred: number };
  const rows =
    tx.dialect === 'postgres'
      ? (await sql<Row>`select name, slots, include_deferred from pool for update`.execute(tx.db)).rows
      : await tx.db.selectFrom('pool').select(['name', 'slots', 'include_deferred']).execute();
  return rows.map((p) => ({ name: p.name, slots: Number(p.slots), includeDeferred: Number(p.include_deferred) === 1 }));
}

/** Pool slots and task instances held by queued, running and deferred tries, per pool, DAG and state. */
export async function readSlotUsage(tx: MetadataDb): Promise<SlotUseRow[]> {
  const rows = await tx.db
    .selectFrom('task_instance')
    .select(['pool', 'dag_id', 'state', (eb) => eb.fn.sum<number>('pool_slots').as('slots'), (eb) => eb.fn.countAll<number>().as('n')])
    .where('state', 'in', ['queued', 'running', 'deferred'])
    .groupBy(['pool', 'dag_id', 'state'])
    .execute();
  return rows.map((u) => ({ pool: u.pool, dagId: u.dag_id, state: u.state as SlotUseRow['state'], slots: Number(u.slots), count: Number(u.n) }));
}

/** Each DAG's maxActiveTasks as last parsed. */
export async function readDagTaskLimits(tx: MetadataDb): Promise<Map<string, number>> {
  const rows = await tx.db.selectFrom('dag').select(['dag_id', 'max_active_tasks']).execute();
  return new Map(rows.map((d) => [d.dag_id, Number(d.max_active_tasks)]));
}

/**
 * Up to `limit` scheduled task instances, highest priority first (then by run and map index), leaving
 * out the pools and DAGs in `skip`. On PostgreSQL the rows are locked, skipping rows another scheduler
 * holds.
 */
export async function selectQueueCandidates(tx: MetadataDb, limit: number, skip: { pools: readonly string[]; dags: readonly string[] }): Promise<QueueCandidateRow[]> {
  let q = tx.db
    .selectFrom('task_instance')
    .select(['id', 'dag_id', 'run_id', 'task_id', 'map_index', 'queue', 'priority_weight', 'pool', 'pool_slots', 'dag_run_id'])
    .where('state', '=', 'scheduled')
    .orderBy('priority_weight', 'desc')
    .orderBy('dag_run_id')
    .orderBy('map_index')
    .limit(limit);
  if (skip.pools.length > 0) q = q.where('pool', 'not in', [...skip.pools]);
  if (skip.dags.length > 0) q = q.where('dag_id', 'not in', [...skip.dags]);
  if (tx.dialect === 'postgres') q = q.forUpdate().skipLocked();
  return q.execute();
}

/**
 * Queue the chosen task instances in one batched, guarded update (try number + 1, try rows written);
 * returns the new try number of each that moved — one another scheduler queued meanwhile is not there.
 */
export async function commitQueued(tx: MetadataDb, ids: readonly string[], executorName: string, now: number, jobId: string | null): Promise<Map<string, number>> {
  return queueTis(tx.db, ids, executorName, now, jobId);
}

/** Fail scheduled task instances that can never be queued (their pool does not exist) with `failure`. */
export async function failUnqueueableTis(tx: MetadataDb, ids: readonly string[], failure: FailureReason, now: number): Promise<void> {
  await failUnqueueable(tx.db, ids, failure, now);
}
