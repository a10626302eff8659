/**
 * Verbs of one try, each keyed by task instance id and try number so a late or duplicate caller (a stale
 * task process, a second executor) finds its try moved on instead of overwriting it.
 */
import { sql } from 'kysely';
import type { FailureReason, TiFrom } from '../../core/index.ts';
import type { TaskInstanceRow } from '../schema.ts';
import { moveTry, tiMove, type Db, type MoveBy, type MoveResult, type TryKey } from './move.ts';

/** Only a queued try starts (a claim by its task process). */
const START_FROM = ['queued'] as const satisfies readonly TiFrom<'running'>[];
/** Only a running try pauses. */
const SUSPEND_FROM = ['running'] as const satisfies readonly (TiFrom<'deferred'> & TiFrom<'up_for_reschedule'>)[];

/** A deferred try resumes into `scheduled`. */
const RESUME_FROM = ['deferred'] as const satisfies readonly TiFrom<'scheduled'>[];
/** Only a queued, unclaimed try goes back to `scheduled`. */
const REQUEUE_FROM = ['queued'] as const satisfies readonly TiFrom<'scheduled'>[];

/** Where a try may end from: the states the table lets lead to every end (queued, running, deferred). */
export type TryEndFrom = TiFrom<'success'> & TiFrom<'failed'> & TiFrom<'up_for_retry'> & TiFrom<'skipped'>;

/** Who claims a try. */
export interface StartInfo {
  hostname: string;
  pid: number | null;
  externalExecutorId?: string | null;
}

/** `queued → running` for exactly this try. */
export async function startTry(db: Db, key: TryKey, info: StartInfo, by: MoveBy, now: number): Promise<MoveResult<TaskInstanceRow>> {
  return moveTry(db, key, START_FROM, {
    ...tiMove('running', by, now),
    start_date: now,
    hostname: info.hostname,
    pid: info.pid,
    last_heartbeat_at: now,
    ...(info.externalExecutorId ? { external_executor_id: info.externalExecutorId } : {}),
  });
}

/**
 * Record a heartbeat of a running try (no state change, so no history row): `moved` while the try is
 * still running, `stale` with the row otherwise.
 */
export async function heartbeatTry(db: Db, key: TryKey, now: number): Promise<'running' | 'stale'> {
  const r = await db
    .updateTable('task_instance')
    .set({ last_heartbeat_at: now })
    .where('id', '=', key.tiId)
    .where('try_number', '=', key.tryNumber)
    .where('state', '=', 'running')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0 ? 'running' : 'stale';
}

/** The end columns of a try: its duration, exit code, and "nothing to resume". */
export interface TryEnd {
  /** The state the caller read the try in: the move only happens if it is still there. */
  from: TryEndFrom;
  endDate: number;
  durationMs: number | null;
  exitCode: number | null;
}

function ended(end: TryEnd) {
  // The try is over: a next try starts with execute(), not with the method a deferral resumed into.
  return { end_date: end.endDate, duration_ms: end.durationMs, exit_code: end.exitCode, next_method: null, next_kwargs: null, trigger_id: null, trigger_timeout_at: null };
}

/** `→ success`. */
export async function succeedTry(db: Db, key: TryKey, end: TryEnd, by: MoveBy, now: number): Promise<MoveResult<TaskInstanceRow>> {
  return moveTry(db, key, [end.from], { ...tiMove('success', by, now), ...ended(end), failure_reason: null, failure_kind: null, next_retry_at: null });
}

/** `→ skipped` (the task raised a skip, or a pod exit code maps to skip). */
export async function skipTry(db: Db, key: TryKey, end: TryEnd, reason: string, by: MoveBy, now: number): Promise<MoveResult<TaskInstanceRow>> {
  return moveTry(db, key, [end.from], { ...tiMove('skipped', by, now), ...ended(end), failure_reason: reason, failure_kind: null, next_retry_at: null });
}

/**
 * `→ up_for_retry` when `retryAt` is a time (the caller decided retries remain and the failure's policy
 * allows one), else `→ failed`. The failure's kind and message are stored beside each other.
 */
export async function failOrRetryTry(db: Db, key: TryKey, end: TryEnd, failure: FailureReason, retryAt: number | null, by: Omit<MoveBy, 'reason'>, now: number): Promise<MoveResult<TaskInstanceRow>> {
  const to = retryAt === null ? 'failed' : 'up_for_retry';
  return moveTry(db, key, [end.from], {
    ...tiMove(to, { ...by, reason: failure.message }, now),
    ...ended(end),
    failure_reason: failure.message,
    failure_kind: failure.kind,
    next_retry_at: retryAt,
  });
}

/** What a deferral stores: its trigger, where to resume, and its deadline. */
export interface Deferral {
  triggerId: number;
  method: string;
  /** `next_kwargs` as stored (JSON). */
  nextKwargs: string;
  timeoutAt: number | null;
}

/** `running → deferred`: the try waits on a trigger and continues with the same try number. */
export async function deferTry(db: Db, key: TryKey, d: Deferral, by: MoveBy, now: number): Promise<MoveResult<TaskInstanceRow>> {
  return moveTry(db, key, SUSPEND_FROM, {
    ...tiMove('deferred', { reason: `deferred on trigger ${d.triggerId}`, ...by }, now),
    trigger_id: d.triggerId,
    next_method: d.method,
    next_kwargs: d.nextKwargs,
    trigger_timeout_at: d.timeoutAt,
  });
}

/** `running → up_for_reschedule`: a reschedule-mode sensor frees its slot until `rescheduleAt`. */
export async function rescheduleTry(db: Db, key: TryKey, rescheduleAt: number, by: MoveBy, now: number): Promise<MoveResult<TaskInstanceRow>> {
  return moveTry(db, key, SUSPEND_FROM, {
    ...tiMove('up_for_reschedule', { reason: `rescheduled to ${new Date(rescheduleAt).toISOString()}`, ...by }, now),
    next_retry_at: rescheduleAt,
    reschedule_count: sql<number>`reschedule_count + 1`,
    end_date: now,
  });
}

/**
 * `deferred → scheduled` for this try: its trigger fired (or timed out into its failure path); it
 * continues with the same try number in `method` (null: keep the stored one).
 */
export async function resumeTry(db: Db, key: TryKey, resume: { method: string | null; nextKwargs: string }, by: MoveBy, now: number): Promise<MoveResult<TaskInstanceRow>> {
  return moveTry(db, key, RESUME_FROM, {
    ...tiMove('scheduled', by, now),
    continue_try: 1,
    trigger_id: null,
    trigger_timeout_at: null,
    next_kwargs: resume.nextKwargs,
    ...(resume.method === null ? {} : { next_method: resume.method }),
  });
}

/**
 * `queued → scheduled` for a try no task process ever claimed (its scheduler died first). The try number
 * is not reused — a late process holding the old try's token must find it stale — but `max_tries` grows
 * by one so the abandoned try does not cost a retry.
 */
export async function requeueUnclaimedTry(db: Db, key: TryKey, reason: string, by: Omit<MoveBy, 'reason'>, now: number): Promise<MoveResult<TaskInstanceRow>> {
  return moveTry(db, key, REQUEUE_FROM, { ...tiMove('scheduled', { ...by, reason }, now), max_tries: sql<number>`max_tries + 1`, queued_by_job_id: null });
}
