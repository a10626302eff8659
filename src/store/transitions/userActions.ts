/** The verbs a user (through the API or CLI) applies to task instances: clear and mark. */
import { sql } from 'kysely';
import { statesLeadingTo, type TaskInstanceState } from '../../core/index.ts';
import { moveTis, tiMove, type Db, type MoveBy, type TiSet } from './move.ts';

/**
 * A user's clear: `→ none` from any state the table allows, so a scheduler runs the instances again. Each
 * gets `retries` more tries than it has used (`max_tries = try_number + retries`, as in Airflow), and
 * starts afresh: no deferral to resume, no try to continue. A running try learns of it from its next
 * heartbeat and stops. Returns the ids that moved.
 */
export async function clearTis(db: Db, ids: readonly string[], retries: number, by: MoveBy, now: number): Promise<string[]> {
  return moveTis(db, ids, statesLeadingTo('none'), {
    ...tiMove('none', { reason: 'cleared', ...by }, now),
    max_tries: sql<number>`try_number + ${retries}`,
    next_retry_at: null,
    next_method: null,
    next_kwargs: null,
    trigger_id: null,
    trigger_timeout_at: null,
    continue_try: 0,
  });
}

/**
 * A user's mark: `→ to` (success, failed, skipped) from any state the table allows, ending the current
 * try. `reason` is stored as the failure reason too (null clears it). Returns the ids that moved.
 */
export async function markTis(db: Db, ids: readonly string[], to: Extract<TaskInstanceState, 'success' | 'failed' | 'skipped'>, reason: string | null, by: Omit<MoveBy, 'reason'>, now: number): Promise<string[]> {
  return moveTis(db, ids, statesLeadingTo(to), {
    ...tiMove(to, { ...by, reason: reason ?? `marked ${to}` }, now),
    end_date: now,
    next_retry_at: null,
    failure_reason: reason,
    failure_kind: null,
  });
}

/**
 * Any legal move of many instances, for tools and tests that set up a state directly: `→ to` from
 * `onlyFrom` (default: every state the table allows), with extra columns in `set`.
 */
export async function moveTisTo(
  db: Db,
  ids: readonly string[],
  to: TaskInstanceState,
  now: number,
  options: { onlyFrom?: readonly TaskInstanceState[]; set?: TiSet; by?: MoveBy } = {},
): Promise<string[]> {
  if (ids.length === 0) return [];
  return moveTis(db, ids, options.onlyFrom ?? statesLeadingTo(to), { ...options.set, ...tiMove(to, options.by ?? { actor: 'system' }, now) });
}
