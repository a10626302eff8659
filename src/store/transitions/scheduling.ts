/**
 * The scheduler's bulk verbs: each is one statement over many rows (chunked by id), guarded by the
 * states the table allows, returning the ids that moved — a row another scheduler moved first is simply
 * not among them.
 */
import { sql } from 'kysely';
import type { FailureReason } from '../../core/index.ts';
import { statesLeadingTo, type TiFrom } from '../../core/index.ts';
import { moveTis, tiMove, type Db, type MoveBy } from './move.ts';

const SCHEDULER: MoveBy = { actor: 'scheduler' };

/** `none → scheduled`: the instances' dependencies are met. */
export async function scheduleTis(db: Db, ids: readonly string[], now: number, by: MoveBy = SCHEDULER): Promise<string[]> {
  return moveTis(db, ids, ['none'] satisfies TiFrom<'scheduled'>[], tiMove('scheduled', { reason: 'dependencies met', ...by }, now));
}

/** `up_for_retry → scheduled`: the retry delay has passed. */
export async function releaseRetries(db: Db, ids: readonly string[], now: number, by: MoveBy = SCHEDULER): Promise<string[]> {
  return moveTis(db, ids, ['up_for_retry'] satisfies TiFrom<'scheduled'>[], tiMove('scheduled', { reason: 'retry delay over', ...by }, now));
}

/** `up_for_reschedule → scheduled`: a sensor's reschedule date has come; it continues the same try. */
export async function releaseReschedules(db: Db, ids: readonly string[], now: number, by: MoveBy = SCHEDULER): Promise<string[]> {
  return moveTis(db, ids, ['up_for_reschedule'] satisfies TiFrom<'scheduled'>[], { ...tiMove('scheduled', { reason: 'reschedule date reached', ...by }, now), continue_try: 1 });
}

/** `none → skipped | upstream_failed`: the trigger rule decided the instances will never run. */
export async function endUnstarted(db: Db, ids: readonly string[], to: 'skipped' | 'upstream_failed', now: number, by: MoveBy = SCHEDULER): Promise<string[]> {
  const reason = to === 'skipped' ? 'trigger rule: skipped' : 'trigger rule: an upstream task failed';
  return moveTis(db, ids, ['none'] satisfies TiFrom<typeof to>[], { ...tiMove(to, { reason, ...by }, now), end_date: now });
}

/** `none → skipped | failed` for waiting instances that end before they start (a mapped task that cannot expand). */
export async function endWaiting(db: Db, ids: readonly string[], ending: { to: 'skipped' } | { to: 'failed'; failure: FailureReason }, reason: string, now: number, by: MoveBy = SCHEDULER): Promise<string[]> {
  const kind = ending.to === 'failed' ? ending.failure.kind : null;
  return moveTis(db, ids, ['none'] satisfies TiFrom<'skipped' | 'failed'>[], { ...tiMove(ending.to, { ...by, reason }, now), end_date: now, failure_reason: reason, failure_kind: kind });
}

/** `→ removed`: the instances no longer exist in the DAG or its expansion. `from` narrows the table's guard. */
export async function removeTis(db: Db, ids: readonly string[], reason: string, now: number, options: { onlyWaiting?: boolean; by?: MoveBy } = {}): Promise<string[]> {
  const from = options.onlyWaiting === true ? (['none'] satisfies TiFrom<'removed'>[]) : statesLeadingTo('removed');
  return moveTis(db, ids, from, { ...tiMove('removed', { ...(options.by ?? SCHEDULER), reason }, now), end_date: now, failure_reason: reason });
}

/**
 * `none → skipped` for the last waiting index of a mapped task that expanded to nothing, turned back into
 * its placeholder (`map_index` -1). True when it moved.
 */
export async function skipAsPlaceholder(db: Db, id: string, reason: string, now: number, by: MoveBy = SCHEDULER): Promise<boolean> {
  const moved = await moveTis(db, [id], ['none'] satisfies TiFrom<'skipped'>[], { ...tiMove('skipped', { ...by, reason }, now), map_index: -1, end_date: now, failure_reason: reason });
  return moved.length > 0;
}

/**
 * `none | scheduled → skipped` for tasks `taskIds` of one run (every map index) that have not started:
 * the skips of a branching task, committed with its success.
 */
export async function skipUnstartedTasks(db: Db, dagRunId: number, taskIds: readonly string[], reason: string, by: MoveBy, now: number): Promise<string[]> {
  if (taskIds.length === 0) return [];
  const rows = await db
    .updateTable('task_instance')
    .set({ ...tiMove('skipped', { ...by, reason }, now), end_date: now, failure_reason: reason })
    .where('dag_run_id', '=', dagRunId)
    .where('task_id', 'in', taskIds)
    .where('state', 'in', ['none', 'scheduled'] satisfies TiFrom<'skipped'>[])
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/** `→ skipped` for unfinished instances of a run that timed out (`dagrunTimeout`). */
export async function skipUnfinished(db: Db, ids: readonly string[], reason: string, now: number, by: MoveBy = SCHEDULER): Promise<string[]> {
  return moveTis(db, ids, statesLeadingTo('skipped'), { ...tiMove('skipped', { ...by, reason }, now), end_date: now, failure_reason: reason });
}

/** `scheduled → failed`: the instances cannot be queued as defined (an unknown pool). */
export async function failUnqueueable(db: Db, ids: readonly string[], failure: FailureReason, now: number, by: MoveBy = SCHEDULER): Promise<string[]> {
  return moveTis(db, ids, ['scheduled'] satisfies TiFrom<'failed'>[], { ...tiMove('failed', { ...by, reason: failure.message }, now), end_date: now, failure_reason: failure.message, failure_kind: failure.kind });
}

/**
 * `scheduled → queued` for many instances (one UPDATE and one INSERT per 500): the try number goes up by
 * one (a try continued after a deferral or reschedule keeps its number) and a try row is written.
 * Returns the new try number of each one that was still scheduled.
 */
export async function queueTis(tx: Db, ids: readonly string[], executor: string, now: number, jobId: string | null, by: MoveBy = SCHEDULER): Promise<Map<string, number>> {
  const queued = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await tx
      .updateTable('task_instance')
      .set({
        ...tiMove('queued', { reason: `queued on ${executor}`, ...by }, now),
        // A try continued after a deferral or a reschedule keeps its number (Airflow's rule) and, until
        // its new process claims it, the previous process's pid: that process's exit must not end it.
        try_number: sql<number>`try_number + 1 - continue_try`,
        continue_try: 0,
        reschedule_count: sql<number>`case when continue_try = 1 then reschedule_count else 0 end`,
        queued_at: now,
        executor,
        queued_by_job_id: jobId,
        start_date: null,
        end_date: null,
        duration_ms: null,
        hostname: null,
        pid: sql<number | null>`case when continue_try = 1 then pid else null end`,
        exit_code: null,
        failure_reason: null,
        failure_kind: null,
        next_retry_at: null,
        last_heartbeat_at: null,
      })
      .where('id', 'in', ids.slice(i, i + 500))
      .where('state', '=', 'scheduled' satisfies TiFrom<'queued'>)
      .returning(['id', 'try_number', 'dag_id', 'run_id', 'task_id', 'map_index'])
      .execute();
    if (rows.length === 0) continue;
    await tx
      .insertInto('task_instance_try')
      .values(
        rows.map((row) => ({
          ti_id: row.id,
          try_number: row.try_number,
          dag_id: row.dag_id,
          run_id: row.run_id,
          task_id: row.task_id,
          map_index: row.map_index,
          state: 'queued' as const,
          executor,
          queued_at: now,
        })),
      )
      .onConflict((oc) => oc.columns(['ti_id', 'try_number']).doUpdateSet({ state: 'queued', executor, queued_at: now }))
      .execute();
    for (const row of rows) queued.set(row.id, row.try_number);
  }
  return queued;
}
