/**
 * Task instances and their tries: reads, try rows and ownership. State changes are the verbs of
 * ./transitions/ (the only code that writes `task_instance.state`).
 */
import type { Transaction } from 'kysely';
import type { Db } from './transitions/index.ts';
import { NotFound } from '../core/index.ts';
import type { TaskInstanceState } from '../core/index.ts';
import type { MetadataDb } from './db.ts';
import type { Database, TaskInstanceRow, TaskInstanceTryRow, TaskInstanceUpdate } from './schema.ts';
import { moveTisTo, queueTis, type MoveBy } from './transitions/index.ts';

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
 * `onlyFrom` when given). Returns the ids that moved. The generic form of the verbs in ./transitions/,
 * for tools and tests that set a state up directly; the engine calls the named verbs.
 */
export async function transitionTis(
  m: MetadataDb | Transaction<Database>,
  ids: string[],
  to: TaskInstanceState,
  now: number,
  options: { onlyFrom?: TaskInstanceState[]; set?: TaskInstanceUpdate; by?: MoveBy } = {},
): Promise<string[]> {
  return moveTisTo('db' in m ? m.db : m, ids, to, now, options);
}

export async function getTaskInstance(m: MetadataDb, id: string): Promise<TaskInstanceRow> {
  const row = await m.db.selectFrom('task_instance').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFound(`no task instance with id ${id}`);
  return row;
}

/** The task instance with this id, or undefined. */
export async function findTaskInstanceById(m: MetadataDb, id: string): Promise<TaskInstanceRow | undefined> {
  return m.db.selectFrom('task_instance').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Which task instance a note is on. */
export interface TiNoteKey {
  dagId: string;
  runId: string;
  taskId: string;
  /** -1 for an unmapped task. */
  mapIndex: number;
}

/**
 * Set (or with null, remove) a task instance's note, recording who set it and when; the note is the
 * instance's, kept across its tries. Not a state move, but it stamps `updated_at` (the change feed's cursor), so
 * the API's live stream and the grid's incremental view carry the new note to open pages.
 */
export async function setTiNote(m: MetadataDb, key: TiNoteKey, note: string | null, by: string, now: number): Promise<TaskInstanceRow> {
  const row = await m.db
    .updateTable('task_instance')
    .set({ note, note_updated_by: note === null ? null : by, note_updated_at: note === null ? null : now, updated_at: now })
    .where('dag_id', '=', key.dagId)
    .where('run_id', '=', key.runId)
    .where('task_id', '=', key.taskId)
    .where('map_index', '=', key.mapIndex)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new NotFound(`DAG '${key.dagId}' run '${key.runId}' has no task '${key.taskId}'${key.mapIndex >= 0 ? ` [${key.mapIndex}]` : ''}`);
  return row;
}

/** Where a task instance stands — state, current try, end — or undefined (a cheap check for executors). */
export async function tiPosition(m: MetadataDb, id: string): Promise<Pick<TaskInstanceRow, 'state' | 'try_number' | 'end_date'> | undefined> {
  return m.db.selectFrom('task_instance').select(['state', 'try_number', 'end_date']).where('id', '=', id).executeTakeFirst();
}

/** Running task instances. */
export async function runningTis(m: MetadataDb): Promise<TaskInstanceRow[]> {
  return m.db.selectFrom('task_instance').selectAll().where('state', '=', 'running').execute();
}

/** Running task instances whose last heartbeat is before `before` (zombie candidates). */
export async function runningTisSilentSince(m: MetadataDb, before: number): Promise<TaskInstanceRow[]> {
  return m.db.selectFrom('task_instance').selectAll().where('state', '=', 'running').where('last_heartbeat_at', '<', before).execute();
}

/** Task instances queued or running under executor `executor` (adoption candidates). */
export async function activeTisOfExecutor(m: MetadataDb, executor: string): Promise<TaskInstanceRow[]> {
  return m.db.selectFrom('task_instance').selectAll().where('state', 'in', ['queued', 'running']).where('executor', '=', executor).execute();
}

/** The state of `taskId` in the DAG's latest run with a logical date before `before` (null: none). */
export async function previousRunTiState(m: MetadataDb, q: { dagId: string; taskId: string; before: number }): Promise<TaskInstanceState | null> {
  const prev = await m.db
    .selectFrom('task_instance')
    .innerJoin('dag_run', 'dag_run.id', 'task_instance.dag_run_id')
    .select('task_instance.state')
    .where('dag_run.dag_id', '=', q.dagId)
    .where('task_instance.task_id', '=', q.taskId)
    .where('dag_run.logical_date', '<', q.before)
    .orderBy('dag_run.logical_date', 'desc')
    .limit(1)
    .executeTakeFirst();
  return prev?.state ?? null;
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
 * is written (see `queueTis`). Returns the new try number, or null when another scheduler got there first.
 */
export async function queueTaskInstance(tx: Db, id: string, executor: string, now: number, jobId: string | null, by?: MoveBy): Promise<number | null> {
  return (await queueTis(tx, [id], executor, now, jobId, by)).get(id) ?? null;
}

/** Fields of a try row that change as the try progresses. */
export type TryRowUpdate = Partial<Pick<TaskInstanceTryRow, 'state' | 'hostname' | 'pid' | 'external_executor_id' | 'start_date' | 'end_date' | 'duration_ms' | 'exit_code' | 'failure_reason' | 'failure_kind'>>;

/** Update one try row with values the caller already knows (no read). */
export async function updateTryRow(db: MetadataDb['db'] | Transaction<Database>, tiId: string, tryNumber: number, set: TryRowUpdate): Promise<void> {
  await db.updateTable('task_instance_try').set(set).where('ti_id', '=', tiId).where('try_number', '=', tryNumber).execute();
}

/** The start of a try (its first run, for a try continued after a deferral or reschedule); undefined when it has no try row, null when it never started. */
export async function tryStartDate(m: MetadataDb, tiId: string, tryNumber: number): Promise<number | null | undefined> {
  const row = await m.db.selectFrom('task_instance_try').select('start_date').where('ti_id', '=', tiId).where('try_number', '=', tryNumber).executeTakeFirst();
  return row?.start_date;
}

/** A try's state as its try row records it, or undefined without a row. */
export async function tryRowState(m: MetadataDb, tiId: string, tryNumber: number): Promise<TaskInstanceTryRow['state'] | undefined> {
  const row = await m.db.selectFrom('task_instance_try').select('state').where('ti_id', '=', tiId).where('try_number', '=', tryNumber).executeTakeFirst();
  return row?.state;
}

/** Record the try's start at `now` unless it has one (a continued try keeps its first start). */
export async function startTryRowOnce(m: MetadataDb, tiId: string, tryNumber: number, now: number): Promise<void> {
  await m.db.updateTable('task_instance_try').set({ start_date: now }).where('ti_id', '=', tiId).where('try_number', '=', tryNumber).where('start_date', 'is', null).execute();
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
      failure_kind: ti.failure_kind,
    })
    .where('ti_id', '=', id)
    .where('try_number', '=', ti.try_number)
    .execute();
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
