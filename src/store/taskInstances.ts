/**
 * Task instances and their tries. Every state change is a conditional update guarded by the states it
 * may come from (see `core/states.ts`), so two processes racing on one task instance cannot both win.
 */
import { sql, type Transaction } from 'kysely';
import { NotFound } from '../core/errors.ts';
import { statesLeadingTo, type TaskInstanceState } from '../core/states.ts';
import type { MetadataDb } from './db.ts';
import type { Database, TaskInstanceRow, TaskInstanceTryRow, TaskInstanceUpdate } from './schema.ts';

/** The light row the scheduler keeps per task instance. */
export interface TiStateRow {
  id: string;
  task_id: string;
  map_index: number;
  state: TaskInstanceState;
  try_number: number;
  next_retry_at: number | null;
  updated_at: number;
}

const STATE_COLUMNS = ['id', 'task_id', 'map_index', 'state', 'try_number', 'next_retry_at', 'updated_at'] as const;

export async function tiStatesOfRun(m: MetadataDb, dagRunId: number): Promise<TiStateRow[]> {
  return m.db.selectFrom('task_instance').select(STATE_COLUMNS).where('dag_run_id', '=', dagRunId).execute();
}

/** Task instances of a run updated at or after `since` (the scheduler's incremental sync). */
export async function tiChangesSince(m: MetadataDb, dagRunId: number, since: number): Promise<TiStateRow[]> {
  return m.db
    .selectFrom('task_instance')
    .select(STATE_COLUMNS)
    .where('dag_run_id', '=', dagRunId)
    .where('updated_at', '>=', since)
    .execute();
}

/**
 * Move the task instances in `ids` to `to` if they are still in a state that may lead there (and in
 * `onlyFrom` when given). Returns the ids that moved.
 */
export async function transitionTis(
  m: MetadataDb | Transaction<Database>,
  ids: string[],
  to: TaskInstanceState,
  now: number,
  options: { onlyFrom?: TaskInstanceState[]; set?: TaskInstanceUpdate } = {},
): Promise<string[]> {
  if (ids.length === 0) return [];
  const db = 'db' in m ? m.db : m;
  const from = options.onlyFrom ?? statesLeadingTo(to);
  const moved: string[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .updateTable('task_instance')
      .set({ ...options.set, state: to, updated_at: now })
      .where('id', 'in', ids.slice(i, i + 500))
      .where('state', 'in', from)
      .returning('id')
      .execute();
    for (const r of rows) moved.push(r.id);
  }
  return moved;
}

/**
 * Skip the task instances of `taskIds` (every map index) in one run that have not started: only from
 * `none` or `scheduled`, with a fresh `updated_at` so schedulers' incremental syncs see them. Returns
 * the ids that moved.
 */
export async function skipTaskInstancesOfRun(
  db: MetadataDb['db'] | Transaction<Database>,
  dagRunId: number,
  taskIds: string[],
  now: number,
  reason: string,
): Promise<string[]> {
  if (taskIds.length === 0) return [];
  const rows = await db
    .updateTable('task_instance')
    .set({ state: 'skipped', end_date: now, updated_at: now, failure_reason: reason })
    .where('dag_run_id', '=', dagRunId)
    .where('task_id', 'in', taskIds)
    .where('state', 'in', ['none', 'scheduled'])
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

export async function getTaskInstance(m: MetadataDb, id: string): Promise<TaskInstanceRow> {
  const row = await m.db.selectFrom('task_instance').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFound(`no task instance with id ${id}`);
  return row;
}

export async function findTaskInstance(m: MetadataDb, dagId: string, runId: string, taskId: string, mapIndex = -1): Promise<TaskInstanceRow> {
  const row = await m.db
    .selectFrom('task_instance')
    .selectAll()
    .where('dag_id', '=', dagId)
    .where('run_id', '=', runId)
    .where('task_id', '=', taskId)
    .where('map_index', '=', mapIndex)
    .executeTakeFirst();
  if (!row) throw new NotFound(`DAG '${dagId}' run '${runId}' has no task '${taskId}'${mapIndex >= 0 ? ` [${mapIndex}]` : ''}`);
  return row;
}

/** Which task instances a listing covers. */
export interface TaskInstanceFilter {
  dagId?: string;
  runId?: string;
  state?: TaskInstanceState;
  dagRunId?: number;
}

/** Every matching task instance, or `limit` of them from `offset` when a limit is given. */
export async function listTaskInstances(m: MetadataDb, filter: TaskInstanceFilter & { limit?: number; offset?: number }): Promise<TaskInstanceRow[]> {
  let q = m.db.selectFrom('task_instance').selectAll().orderBy('dag_run_id').orderBy('task_id').orderBy('map_index');
  if (filter.dagId) q = q.where('dag_id', '=', filter.dagId);
  if (filter.runId) q = q.where('run_id', '=', filter.runId);
  if (filter.dagRunId !== undefined) q = q.where('dag_run_id', '=', filter.dagRunId);
  if (filter.state) q = q.where('state', '=', filter.state);
  if (filter.limit !== undefined) q = q.limit(filter.limit).offset(filter.offset ?? 0);
  return q.execute();
}

/** How many task instances {@link listTaskInstances} would list without a limit. */
export async function countTaskInstances(m: MetadataDb, filter: TaskInstanceFilter): Promise<number> {
  let q = m.db.selectFrom('task_instance').select((eb) => eb.fn.countAll<number>().as('n'));
  if (filter.dagId) q = q.where('dag_id', '=', filter.dagId);
  if (filter.runId) q = q.where('run_id', '=', filter.runId);
  if (filter.dagRunId !== undefined) q = q.where('dag_run_id', '=', filter.dagRunId);
  if (filter.state) q = q.where('state', '=', filter.state);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

export async function listTries(m: MetadataDb, tiId: string): Promise<TaskInstanceTryRow[]> {
  return m.db.selectFrom('task_instance_try').selectAll().where('ti_id', '=', tiId).orderBy('try_number').execute();
}

/** Counts of task instances by state (for metrics and limits). */
export async function countTisByState(m: MetadataDb): Promise<Map<TaskInstanceState, number>> {
  const rows = await m.db.selectFrom('task_instance').select(['state', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('state').execute();
  return new Map(rows.map((r) => [r.state, Number(r.n)]));
}

/**
 * Queue one scheduled task instance: `scheduled → queued`, the try number goes up by one and a try row
 * is written. Returns the new try number, or null when another scheduler got there first.
 */
export async function queueTaskInstance(tx: Transaction<Database>, id: string, executor: string, now: number, jobId: string | null): Promise<number | null> {
  return (await queueTaskInstances(tx, [id], executor, now, jobId)).get(id) ?? null;
}

/**
 * Queue many scheduled task instances at once (one UPDATE and one INSERT per 500): the batch form of
 * {@link queueTaskInstance}. Returns the new try number of each one that was still scheduled.
 */
export async function queueTaskInstances(tx: Transaction<Database>, ids: readonly string[], executor: string, now: number, jobId: string | null): Promise<Map<string, number>> {
  const queued = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await tx
      .updateTable('task_instance')
      .set({
        state: 'queued',
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
        next_retry_at: null,
        last_heartbeat_at: null,
        updated_at: now,
      })
      .where('id', 'in', ids.slice(i, i + 500))
      .where('state', '=', 'scheduled')
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

/** Fields of a try row that change as the try progresses. */
export type TryRowUpdate = Partial<Pick<TaskInstanceTryRow, 'state' | 'hostname' | 'pid' | 'external_executor_id' | 'start_date' | 'end_date' | 'duration_ms' | 'exit_code' | 'failure_reason'>>;

/** Update one try row with values the caller already knows (no read). */
export async function updateTryRow(db: MetadataDb['db'] | Transaction<Database>, tiId: string, tryNumber: number, set: TryRowUpdate): Promise<void> {
  await db.updateTable('task_instance_try').set(set).where('ti_id', '=', tiId).where('try_number', '=', tryNumber).execute();
}

/** Copy the task instance's current fields onto its try row (after a try's state changes). */
export async function syncTryRow(db: MetadataDb['db'] | Transaction<Database>, id: string): Promise<void> {
  const ti = await db.selectFrom('task_instance').selectAll().where('id', '=', id).executeTakeFirst();
  if (!ti || ti.try_number === 0) return;
  await db
    .updateTable('task_instance_try')
    .set({
      state: ti.state,
      hostname: ti.hostname,
      pid: ti.pid,
      external_executor_id: ti.external_executor_id,
      start_date: ti.start_date,
      end_date: ti.end_date,
      duration_ms: ti.duration_ms,
      exit_code: ti.exit_code,
      failure_reason: ti.failure_reason,
    })
    .where('ti_id', '=', id)
    .where('try_number', '=', ti.try_number)
    .execute();
}

/**
 * Put a queued try that no task process ever claimed back to `scheduled` (its scheduler died before
 * the process started). The try number is not reused — a late process holding the old try's token must
 * find it stale — but `max_tries` grows by one, so the abandoned try does not cost a retry. The old try
 * row is closed as `removed` with `reason`. Returns false when the try moved on meanwhile.
 */
export async function requeueUnclaimedTry(m: MetadataDb, tiId: string, tryNumber: number, now: number, reason: string): Promise<boolean> {
  return m.db.transaction().execute(async (tx) => {
    const r = await tx
      .updateTable('task_instance')
      .set({ state: 'scheduled', max_tries: sql<number>`max_tries + 1`, queued_by_job_id: null, updated_at: now })
      .where('id', '=', tiId)
      .where('try_number', '=', tryNumber)
      .where('state', '=', 'queued')
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return false;
    await updateTryRow(tx, tiId, tryNumber, { state: 'removed', end_date: now, failure_reason: reason });
    return true;
  });
}

/**
 * A user's clear: move the task instances in `ids` back to `none` (from any state that may lead there)
 * with a fresh `updated_at`, so schedulers syncing by `updated_at` see them. A running try learns of it
 * from its next heartbeat and stops. Each cleared instance gets `retries` more tries than it has used
 * (`max_tries = try_number + retries`), as in Airflow. Returns the ids that moved.
 */
export async function clearTaskInstanceRows(
  m: MetadataDb | Transaction<Database>,
  ids: string[],
  retries: number,
  now: number,
): Promise<string[]> {
  if (ids.length === 0) return [];
  const db = 'db' in m ? m.db : m;
  const moved: string[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .updateTable('task_instance')
      // A cleared task starts afresh: no deferral to resume, no try to continue.
      .set({ state: 'none', max_tries: sql<number>`try_number + ${retries}`, next_retry_at: null, next_method: null, next_kwargs: null, trigger_id: null, trigger_timeout_at: null, continue_try: 0, updated_at: now })
      .where('id', 'in', ids.slice(i, i + 500))
      .where('state', 'in', statesLeadingTo('none'))
      .returning('id')
      .execute();
    for (const r of rows) moved.push(r.id);
  }
  return moved;
}

/**
 * Make scheduler job `jobId` the owner of a try another scheduler queued (it died): a guarded update on
 * the previous owner, so when several schedulers find the same orphan only one takes it over. Returns
 * false when someone else took it or the try moved on.
 */
export async function takeOverTry(m: MetadataDb, ti: Pick<TaskInstanceRow, 'id' | 'try_number' | 'state' | 'queued_by_job_id'>, jobId: string): Promise<boolean> {
  let q = m.db
    .updateTable('task_instance')
    .set({ queued_by_job_id: jobId })
    .where('id', '=', ti.id)
    .where('try_number', '=', ti.try_number)
    .where('state', '=', ti.state);
  q = ti.queued_by_job_id === null ? q.where('queued_by_job_id', 'is', null) : q.where('queued_by_job_id', '=', ti.queued_by_job_id);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
