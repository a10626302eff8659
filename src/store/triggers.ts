/**
 * The `trigger` table and the deferral verbs on task instances. A trigger row is written with the
 * `running → deferred` update of its task instance (in `TaskLifecycle.finish`), claimed by one triggerer
 * (`triggerer_id`), and deleted when its event resumes the task. Every resume is a guarded update
 * (`… WHERE trigger_id = ? AND state = 'deferred'`), so an event is written at most once whatever number
 * of triggerers saw it.
 */
import { sql, type ExpressionBuilder, type Transaction } from 'kysely';
import type { JsonObject, JsonValue, SerializedTrigger } from '../core/index.ts';
import type { MetadataDb } from './db.ts';
import type { Database, TriggerRow } from './schema.ts';
import { resumeTry, type MoveBy } from './transitions/index.ts';

/** `task_instance.next_kwargs` as stored: the `defer()` kwargs, and the trigger's event once it fired. */
export interface NextKwargs {
  kwargs: JsonObject;
  event?: JsonValue;
}

/** Insert a trigger row; returns its id. */
export async function insertTrigger(db: MetadataDb['db'] | Transaction<Database>, t: SerializedTrigger, now: number): Promise<number> {
  const row = await db.insertInto('trigger').values({ classpath: t.classpath, kwargs: JSON.stringify(t.kwargs), created_at: now, triggerer_id: null }).returning('id').executeTakeFirstOrThrow();
  return Number(row.id);
}

/** A trigger with the task instance waiting on it. */
export interface AssignedTrigger {
  id: number;
  classpath: string;
  kwargs: JsonObject;
  tiId: string;
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
}

/** How a claim judges the current owners: a triggerer job is live while `running` with a heartbeat within `thresholdMs` of `now`. */
export interface TriggererLiveness {
  thresholdMs: number;
  now: number;
}

/**
 * Claim up to `limit` triggers that have a deferred task and no live triggerer (unassigned, or assigned to
 * a triggerer job that has ended or whose heartbeat aged out) for `jobId`.
 *
 * Liveness is read from the `job` table inside the claiming statements, not passed in as a list: a list
 * read before the claim misses a triggerer that registered after it, whose fresh claims then look like a
 * dead one's and were taken over — two triggerers ran the same triggers. An owner's job row is committed
 * before its first claim, so any snapshot that sees the claim sees its owner alive. On PostgreSQL the
 * candidates are locked `SKIP LOCKED`, so two triggerers claiming at once take different rows; the update
 * re-checks the owner either way.
 */
export async function claimTriggers(m: MetadataDb, jobId: string, liveness: TriggererLiveness, limit: number): Promise<number[]> {
  if (limit <= 0) return [];
  const since = liveness.now - liveness.thresholdMs;
  return m.db.transaction().execute(async (tx) => {
    let q = tx
      .selectFrom('trigger')
      .select('trigger.id')
      .where((eb) => eb.or([eb('trigger.triggerer_id', 'is', null), eb.not(eb.exists(liveTriggererJob(eb, since)))]))
      .where((eb) => eb.exists(eb.selectFrom('task_instance').select('task_instance.id').whereRef('task_instance.trigger_id', '=', 'trigger.id').where('task_instance.state', '=', 'deferred')))
      .orderBy('trigger.id')
      .limit(limit);
    if (m.dialect === 'postgres') q = q.forUpdate().skipLocked();
    const ids = (await q.execute()).map((r) => Number(r.id));
    if (ids.length === 0) return [];
    const claimed = await tx
      .updateTable('trigger')
      .set({ triggerer_id: jobId })
      .where('trigger.id', 'in', ids)
      .where((eb) => eb.or([eb('trigger.triggerer_id', 'is', null), eb.not(eb.exists(liveTriggererJob(eb, since)))]))
      .returning('trigger.id')
      .execute();
    return claimed.map((r) => Number(r.id));
  });
}

/** The live triggerer job that owns the outer query's `trigger` row, if any. */
function liveTriggererJob(eb: ExpressionBuilder<Database, 'trigger'>, since: number) {
  return eb
    .selectFrom('job')
    .select('job.id')
    .whereRef('job.id', '=', 'trigger.triggerer_id')
    .where('job.job_type', '=', 'triggerer')
    .where('job.state', '=', 'running')
    .where('job.latest_heartbeat', '>=', since);
}

/** The triggers assigned to `jobId` whose task instance is still deferred on them. */
export async function assignedTriggers(m: MetadataDb, jobId: string): Promise<AssignedTrigger[]> {
  const rows = await m.db
    .selectFrom('trigger')
    .innerJoin('task_instance', 'task_instance.trigger_id', 'trigger.id')
    .select(['trigger.id', 'trigger.classpath', 'trigger.kwargs', 'task_instance.id as ti_id', 'task_instance.dag_id', 'task_instance.run_id', 'task_instance.task_id', 'task_instance.map_index'])
    .where('trigger.triggerer_id', '=', jobId)
    .where('task_instance.state', '=', 'deferred')
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    classpath: r.classpath,
    kwargs: JSON.parse(r.kwargs) as JsonObject,
    tiId: r.ti_id,
    dagId: r.dag_id,
    runId: r.run_id,
    taskId: r.task_id,
    mapIndex: r.map_index,
  }));
}

/** Give `jobId`'s triggers back (a triggerer stopping cleanly), so another triggerer claims them at once. */
export async function releaseTriggers(m: MetadataDb, jobId: string): Promise<void> {
  await m.db.updateTable('trigger').set({ triggerer_id: null }).where('triggerer_id', '=', jobId).execute();
}

/**
 * Resume the task deferred on `triggerId` with `event`: `deferred → scheduled`, same try
 * (`continue_try`), `next_kwargs.event` set, trigger row deleted. Returns the resumed task instances'
 * run ids (empty when none was still deferred on it: the event was already written, or the task moved on).
 */
export async function fireTrigger(m: MetadataDb, triggerId: number, event: JsonValue, now: number): Promise<number[]> {
  return resumeDeferred(m, { triggerId }, (next) => ({ method: null, kwargs: { ...next, event } }), now, { actor: 'triggerer', reason: `trigger ${triggerId} fired` });
}

/**
 * Resume the task deferred on `triggerId` into its failure path (`next_method = '__fail__'`), because its
 * trigger failed or its deferral timed out; the worker then fails the try with `failure.error`.
 */
export async function failDeferral(m: MetadataDb, target: { triggerId: number } | { tiId: string }, failure: { kind: 'timeout' | 'error'; error: string }, now: number): Promise<number[]> {
  const by: MoveBy = { actor: failure.kind === 'timeout' ? 'scheduler' : 'triggerer', reason: `resumed to fail: ${failure.error}` };
  return resumeDeferred(m, target, (next) => ({ method: '__fail__', kwargs: { kwargs: next.kwargs, event: failure } }), now, by);
}

/** Deferred task instances whose `trigger_timeout_at` has passed. */
export async function timedOutDeferrals(m: MetadataDb, now: number): Promise<Array<{ id: string; trigger_id: number | null; trigger_timeout_at: number | null; task_id: string }>> {
  return m.db
    .selectFrom('task_instance')
    .select(['id', 'trigger_id', 'trigger_timeout_at', 'task_id'])
    .where('state', '=', 'deferred')
    .where('trigger_timeout_at', '<=', now)
    .execute();
}

/**
 * Whether task instance `tiId` is still deferred on trigger `triggerId`. False once it was marked, cleared,
 * timed out or resumed: a trigger cancelled then is cancelled because its task ended (Airflow's
 * `safe_to_cancel`), and may cancel the external work it watched.
 */
export async function isDeferredOn(m: MetadataDb, tiId: string, triggerId: number): Promise<boolean> {
  const row = await m.db.selectFrom('task_instance').select('id').where('id', '=', tiId).where('trigger_id', '=', triggerId).where('state', '=', 'deferred').executeTakeFirst();
  return row !== undefined;
}

/** Delete trigger rows no deferred task instance waits on (the task was cleared, marked, or timed out). */
export async function deleteUnusedTriggers(m: MetadataDb): Promise<number> {
  const r = await m.db
    .deleteFrom('trigger')
    .where((eb) => eb.not(eb.exists(eb.selectFrom('task_instance').select('task_instance.id').whereRef('task_instance.trigger_id', '=', 'trigger.id').where('task_instance.state', '=', 'deferred'))))
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function getTrigger(m: MetadataDb, id: number): Promise<TriggerRow | undefined> {
  return m.db.selectFrom('trigger').selectAll().where('id', '=', id).executeTakeFirst();
}

async function resumeDeferred(
  m: MetadataDb,
  target: { triggerId: number } | { tiId: string },
  next: (current: NextKwargs) => { method: string | null; kwargs: NextKwargs },
  now: number,
  by: MoveBy,
): Promise<number[]> {
  return m.db.transaction().execute(async (tx) => {
    let q = tx.selectFrom('task_instance').select(['id', 'dag_run_id', 'try_number', 'next_kwargs', 'trigger_id']).where('state', '=', 'deferred');
    q = 'triggerId' in target ? q.where('trigger_id', '=', target.triggerId) : q.where('id', '=', target.tiId);
    const tis = await q.execute();
    const runs: number[] = [];
    for (const ti of tis) {
      const current = parseNextKwargs(ti.next_kwargs);
      const { method, kwargs } = next(current);
      const r = await resumeTry(tx, { tiId: ti.id, tryNumber: ti.try_number }, { method, nextKwargs: JSON.stringify(kwargs) }, by, now);
      if (r.kind !== 'moved') continue;
      if (ti.trigger_id !== null) await tx.deleteFrom('trigger').where('id', '=', ti.trigger_id).execute();
      runs.push(ti.dag_run_id);
    }
    return runs;
  });
}

/** `next_kwargs` of a row (null or legacy text reads as no kwargs). */
export function parseNextKwargs(text: string | null): NextKwargs {
  if (text === null) return { kwargs: {} };
  const v = JSON.parse(text) as Partial<NextKwargs>;
  return { kwargs: v.kwargs ?? {}, ...(v.event === undefined ? {} : { event: v.event }) };
}

/** For tests and metrics: triggers per triggerer (null: unclaimed). */
export async function countTriggersByTriggerer(m: MetadataDb): Promise<Map<string | null, number>> {
  const rows = await m.db.selectFrom('trigger').select(['triggerer_id', sql<number>`count(*)`.as('n')]).groupBy('triggerer_id').execute();
  return new Map(rows.map((r) => [r.triggerer_id, Number(r.n)]));
}
