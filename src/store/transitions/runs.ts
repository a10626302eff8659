/** DAG-run verbs: start, finish, clear, reopen and mark. Each is one statement guarded by the run table. */
import { sql } from 'kysely';
import { type DagRunState, type RunFrom, runStatesLeadingTo } from '../../core/index.ts';
import type { DagRunCallbackState, DagRunRow } from '../schema.ts';
import { moveRun, runMove, type Db, type MoveBy, type MoveResult } from './move.ts';

const SCHEDULER: MoveBy = { actor: 'scheduler' };

/** `queued → running`. */
export async function startRun(db: Db, id: number, now: number, by: MoveBy = SCHEDULER): Promise<MoveResult<DagRunRow>> {
  return moveRun(db, id, ['queued'] satisfies RunFrom<'running'>[], { ...runMove('running', by, now), start_date: now });
}

/**
 * `running → success | failed`. `callbackDue` makes the DAG's callback due, once per run: a run that ends
 * again (after a clear or mark) keeps its callback state.
 */
export async function finishRun(db: Db, id: number, to: 'success' | 'failed', now: number, options: { callbackDue?: boolean; by?: MoveBy } = {}): Promise<MoveResult<DagRunRow>> {
  return moveRun(db, id, ['running'] satisfies RunFrom<typeof to>[], {
    ...runMove(to, options.by ?? SCHEDULER, now),
    end_date: now,
    ...(options.callbackDue === true ? { callback_state: sql<DagRunCallbackState>`coalesce(callback_state, 'pending')` } : {}),
  });
}

/**
 * Some of the run's task instances were cleared: `clear_number` goes up by one, and a finished run goes
 * back to `queued` (dates reset) so a scheduler starts it again; a queued or running run keeps its state.
 * Returns the run as it is now, or undefined when there is none.
 */
export async function clearRun(db: Db, id: number, by: MoveBy, now: number): Promise<DagRunRow | undefined> {
  const finished = await moveRun(db, id, ['success', 'failed'] satisfies RunFrom<'queued'>[], {
    ...runMove('queued', { reason: 'task instances cleared', ...by }, now),
    queued_at: now,
    start_date: null,
    end_date: null,
    clear_number: sql<number>`clear_number + 1`,
  });
  if (finished.kind === 'moved') return finished.row;
  if (finished.kind === 'missing') return undefined;
  return db.updateTable('dag_run').set({ clear_number: sql<number>`clear_number + 1`, updated_at: now }).where('id', '=', id).returningAll().executeTakeFirst();
}

/** `success | failed → running`: task instances of a finished run were marked, so the scheduler judges it again. */
export async function reopenRun(db: Db, id: number, by: MoveBy, now: number): Promise<MoveResult<DagRunRow>> {
  return moveRun(db, id, ['success', 'failed'] satisfies RunFrom<'running'>[], { ...runMove('running', { reason: 'task instances marked', ...by }, now), end_date: null });
}

/** `queued → failed` for many runs (a cancelled backfill's runs that never started). Returns the ids that moved. */
export async function failQueuedRuns(db: Db, ids: readonly number[], reason: string, by: Omit<MoveBy, 'reason'>, now: number): Promise<number[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .updateTable('dag_run')
    .set({ ...runMove('failed', { ...by, reason }, now), end_date: now })
    .where('id', 'in', ids)
    .where('state', '=', 'queued' satisfies RunFrom<'failed'>)
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/** A user's mark of the whole run: `→ to` from any state (marking again refreshes the end date). */
export async function markRun(db: Db, run: Pick<DagRunRow, 'id' | 'start_date'>, to: 'success' | 'failed', by: MoveBy, now: number): Promise<MoveResult<DagRunRow>> {
  return moveRun(db, run.id, [...runStatesLeadingTo(to), to], {
    ...runMove(to, { reason: `marked ${to}`, ...by }, now),
    end_date: now,
    ...(run.start_date === null ? { start_date: now } : {}),
  });
}

/**
 * Any move of a run from `from`, for tools and tests that set up a state directly. True when it moved.
 */
export async function moveRunTo(
  db: Db,
  id: number,
  from: readonly DagRunState[],
  to: DagRunState,
  now: number,
  extra: { start_date?: number; end_date?: number | null; callbackDue?: boolean; by?: MoveBy } = {},
): Promise<boolean> {
  const { callbackDue, by, ...dates } = extra;
  const r = await moveRun(db, id, from, {
    ...runMove(to, by ?? { actor: 'system' }, now),
    ...dates,
    ...(callbackDue === true ? { callback_state: sql<DagRunCallbackState>`coalesce(callback_state, 'pending')` } : {}),
  });
  return r.kind === 'moved';
}
