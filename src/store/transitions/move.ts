/**
 * The two statement shapes every transition verb is built from: move one try (keys + try number + from
 * states) and move many rows by id. Both set `state_actor` / `state_reason` with the state, so the
 * database's history trigger (migration 010) records who and why in the same statement.
 */
import type { Kysely, UpdateObject } from 'kysely';
import type { DagRunState, TaskInstanceState } from '../../core/index.ts';
import type { Database, DagRunRow, TaskInstanceRow } from '../schema.ts';
import type { Actor } from './actor.ts';

/** The database or an open transaction. */
export type Db = Kysely<Database>;

/** The columns a task-instance move sets (values or SQL expressions). */
export type TiSet = UpdateObject<Database, 'task_instance'>;
/** The columns a DAG-run move sets. */
export type RunSet = UpdateObject<Database, 'dag_run'>;

/** One try of a task instance: the ownership key of every single-try verb. */
export interface TryKey {
  tiId: string;
  tryNumber: number;
}

/** What a single-row verb did: moved it, found it in another state or try (`stale`), or found no row. */
export type MoveResult<Row> = { kind: 'moved'; row: Row } | { kind: 'stale'; current: Row } | { kind: 'missing' };

/** Who moves and why; `reason` lands on the history row. */
export interface MoveBy {
  actor: Actor;
  reason?: string | null;
}

/** The columns every task-instance move sets. */
export function tiMove(to: TaskInstanceState, by: MoveBy, now: number): { state: TaskInstanceState; state_actor: string; state_reason: string | null; updated_at: number } {
  return { state: to, state_actor: by.actor, state_reason: by.reason ?? null, updated_at: now };
}

/** The columns every DAG-run move sets. */
export function runMove(to: DagRunState, by: MoveBy, now: number): { state: DagRunState; state_actor: string; state_reason: string | null; updated_at: number } {
  return { state: to, state_actor: by.actor, state_reason: by.reason ?? null, updated_at: now };
}

/**
 * `UPDATE task_instance SET … WHERE id = ? AND try_number = ? AND state IN (from)`, returning the row;
 * on no match, reads the row to say whether it is stale or missing.
 */
export async function moveTry(db: Db, key: TryKey, from: readonly TaskInstanceState[], set: TiSet): Promise<MoveResult<TaskInstanceRow>> {
  const row = await db
    .updateTable('task_instance')
    .set(set)
    .where('id', '=', key.tiId)
    .where('try_number', '=', key.tryNumber)
    .where('state', 'in', from)
    .returningAll()
    .executeTakeFirst();
  if (row) return { kind: 'moved', row };
  const current = await db.selectFrom('task_instance').selectAll().where('id', '=', key.tiId).executeTakeFirst();
  return current ? { kind: 'stale', current } : { kind: 'missing' };
}

/** Chunk size of bulk moves: far below both dialects' bind-parameter limits. */
const CHUNK = 500;

/** `UPDATE task_instance SET … WHERE id IN (ids) AND state IN (from)` (chunked); the ids that moved. */
export async function moveTis(db: Db, ids: readonly string[], from: readonly TaskInstanceState[], set: TiSet): Promise<string[]> {
  const moved: string[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows = await db.updateTable('task_instance').set(set).where('id', 'in', ids.slice(i, i + CHUNK)).where('state', 'in', from).returning('id').execute();
    for (const r of rows) moved.push(r.id);
  }
  return moved;
}

/** `UPDATE dag_run SET … WHERE id = ? AND state IN (from)`, returning the row; stale or missing otherwise. */
export async function moveRun(db: Db, id: number, from: readonly DagRunState[], set: RunSet): Promise<MoveResult<DagRunRow>> {
  const row = await db.updateTable('dag_run').set(set).where('id', '=', id).where('state', 'in', from).returningAll().executeTakeFirst();
  if (row) return { kind: 'moved', row };
  const current = await db.selectFrom('dag_run').selectAll().where('id', '=', id).executeTakeFirst();
  return current ? { kind: 'stale', current } : { kind: 'missing' };
}
