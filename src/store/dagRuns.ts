/**
 * DAG runs. Creating a run creates its task instances in the same transaction, so a run is never seen
 * half-made.
 */
import { randomUUID } from 'node:crypto';
import { CapstanError, NotFound } from '../core/index.ts';
import type { DagRunState, DagRunType, JsonObject, SerializedDag } from '../core/index.ts';
import type { MetadataDb } from './db.ts';
import { notifyRunsQueued } from './notifications.ts';
import type { DagRunRow } from './schema.ts';
import { moveRunTo, type Actor, type MoveBy } from './transitions/index.ts';

export interface NewRun {
  dagId: string;
  runId: string;
  runType: DagRunType;
  logicalDate: number | null;
  dataIntervalStart: number | null;
  dataIntervalEnd: number | null;
  conf: JsonObject;
  note?: string | null;
  /** Who created the run (its first history row); default `scheduler` for scheduled runs, else `unknown`. */
  createdBy?: Actor;
}

/** Up to `limit` queued runs, oldest logical date first: the ones the scheduler considers starting. */
export async function queuedRunsToStart(m: MetadataDb, limit: number): Promise<DagRunRow[]> {
  return m.db.selectFrom('dag_run').selectAll().where('state', '=', 'queued').orderBy('logical_date').orderBy('id').limit(limit).execute();
}

/** Every running run, by id. */
export async function runningRuns(m: MetadataDb): Promise<DagRunRow[]> {
  return m.db.selectFrom('dag_run').selectAll().where('state', '=', 'running').orderBy('id').execute();
}

/** Airflow-style run id: `scheduled__2026-01-01T00:00:00+00:00`; with `millis`, `manual__2026-01-01T00:00:00.123+00:00`. */
export function makeRunId(runType: DagRunType, at: number, options: { millis?: boolean } = {}): string {
  const iso = new Date(at).toISOString();
  return `${runType}__${options.millis ? iso.replace(/Z$/, '+00:00') : iso.replace(/\.\d{3}Z$/, '+00:00')}`;
}

/**
 * The driver error of a unique-key violation: PostgreSQL's SQLSTATE 23505, SQLite's extended result code
 * SQLITE_CONSTRAINT_UNIQUE (2067) as node:sqlite reports it.
 */
function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; errcode?: unknown };
  return e.code === '23505' || (e.code === 'ERR_SQLITE_ERROR' && e.errcode === 2067);
}

/**
 * Insert a queued run and one `none` task instance per task. Throws `conflict` if the run id exists. On
 * PostgreSQL the same transaction notifies listening schedulers ({@link notifyRunsQueued}), so one in
 * another process starts the run at once; a rolled-back insert notifies no one.
 */
export async function createDagRun(m: MetadataDb, run: NewRun, dag: SerializedDag, now: number): Promise<DagRunRow> {
  try {
    return await insertDagRun(m, run, dag, now);
  } catch (err) {
    // Two creators of one run id can both pass the existence check; the unique key decides, reported the same way.
    if (isUniqueViolation(err)) throw new CapstanError('conflict', `DAG '${run.dagId}' already has a run '${run.runId}'`, { hint: 'pick another run id', cause: err });
    throw err;
  }
}

async function insertDagRun(m: MetadataDb, run: NewRun, dag: SerializedDag, now: number): Promise<DagRunRow> {
  return m.db.transaction().execute(async (tx) => {
    const exists = await tx.selectFrom('dag_run').select('id').where('dag_id', '=', run.dagId).where('run_id', '=', run.runId).executeTakeFirst();
    if (exists) throw new CapstanError('conflict', `DAG '${run.dagId}' already has a run '${run.runId}'`, { hint: 'pick another run id' });
    const row = await tx
      .insertInto('dag_run')
      .values({
        dag_id: run.dagId,
        run_id: run.runId,
        run_type: run.runType,
        state: 'queued',
        logical_date: run.logicalDate,
        data_interval_start: run.dataIntervalStart,
        data_interval_end: run.dataIntervalEnd,
        conf: JSON.stringify(run.conf),
        queued_at: now,
        start_date: null,
        end_date: null,
        note: run.note ?? null,
        clear_number: 0,
        created_at: now,
        updated_at: now,
        state_actor: run.createdBy ?? (run.runType === 'scheduled' ? 'scheduler' : 'unknown'),
        state_reason: `created (${run.runType})`,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await notifyRunsQueued({ ...m, db: tx }, [row.id]);
    const tis = dag.tasks.map((t) => ({
      id: randomUUID(),
      dag_run_id: row.id,
      dag_id: run.dagId,
      run_id: run.runId,
      task_id: t.taskId,
      map_index: -1,
      state: 'none' as const,
      try_number: 0,
      max_tries: t.retry.retries,
      operator: t.operator,
      pool: t.pool,
      pool_slots: t.poolSlots,
      priority_weight: t.priorityWeight,
      queue: t.queue,
      updated_at: now,
    }));
    // Chunked so PostgreSQL's 65535-parameter limit and SQLite's 32766 are never reached.
    for (let i = 0; i < tis.length; i += 1000) await tx.insertInto('task_instance').values(tis.slice(i, i + 1000)).execute();
    return row;
  });
}

export async function getDagRun(m: MetadataDb, dagId: string, runId: string): Promise<DagRunRow> {
  const row = await m.db.selectFrom('dag_run').selectAll().where('dag_id', '=', dagId).where('run_id', '=', runId).executeTakeFirst();
  if (!row) throw new NotFound(`DAG '${dagId}' has no run '${runId}'`, `list runs with \`capstan dags list-runs ${dagId}\``);
  return row;
}

export async function getDagRunById(m: MetadataDb, id: number): Promise<DagRunRow> {
  const row = await m.db.selectFrom('dag_run').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFound(`no DAG run with id ${id}`);
  return row;
}

/** Newest first; `limit` (default 100) runs from `offset` (default 0). */
export async function listDagRuns(m: MetadataDb, filter: { dagId?: string; state?: DagRunState; limit?: number; offset?: number } = {}): Promise<DagRunRow[]> {
  let q = m.db.selectFrom('dag_run').selectAll().orderBy('id', 'desc').limit(filter.limit ?? 100).offset(filter.offset ?? 0);
  if (filter.dagId) q = q.where('dag_id', '=', filter.dagId);
  if (filter.state) q = q.where('state', '=', filter.state);
  return q.execute();
}

/** How many runs {@link listDagRuns} would list without a limit. */
export async function countDagRuns(m: MetadataDb, filter: { dagId?: string; state?: DagRunState } = {}): Promise<number> {
  let q = m.db.selectFrom('dag_run').select((eb) => eb.fn.countAll<number>().as('n'));
  if (filter.dagId) q = q.where('dag_id', '=', filter.dagId);
  if (filter.state) q = q.where('state', '=', filter.state);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

/**
 * Runs per DAG in `states`, for maxActiveRuns. `excludeRunType: 'backfill'` leaves out backfill runs,
 * which count against their backfill's own limit instead.
 */
export async function countRunsByDag(m: MetadataDb, states: DagRunState[], options: { excludeRunType?: DagRunType } = {}): Promise<Map<string, number>> {
  let q = m.db
    .selectFrom('dag_run')
    .select(['dag_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('state', 'in', states);
  if (options.excludeRunType) q = q.where('run_type', '!=', options.excludeRunType);
  const rows = await q.groupBy('dag_id').execute();
  return new Map(rows.map((r) => [r.dag_id, Number(r.n)]));
}

/** The scheduled run with the latest data interval, to continue a schedule from. */
export async function latestScheduledRun(m: MetadataDb, dagId: string): Promise<DagRunRow | undefined> {
  return m.db
    .selectFrom('dag_run')
    .selectAll()
    .where('dag_id', '=', dagId)
    .where('run_type', 'in', ['scheduled', 'backfill'])
    .orderBy('data_interval_end', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/**
 * Conditional state change; returns false when the run was not in `from`. The generic form of the run
 * verbs in ./transitions/, for tools and tests that set a state up directly.
 */
export async function transitionDagRun(
  m: MetadataDb,
  id: number,
  from: DagRunState[],
  to: DagRunState,
  now: number,
  extra: { start_date?: number; end_date?: number | null; callbackDue?: boolean; by?: MoveBy } = {},
): Promise<boolean> {
  return moveRunTo(m.db, id, from, to, now, extra);
}

/** Set (or with null, remove) a run's note; stamps `updated_at` so the live stream carries it (see setTiNote). */
export async function setRunNote(m: MetadataDb, dagId: string, runId: string, note: string | null, now: number): Promise<void> {
  const r = await m.db.updateTable('dag_run').set({ note, updated_at: now }).where('dag_id', '=', dagId).where('run_id', '=', runId).executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) throw new NotFound(`DAG '${dagId}' has no run '${runId}'`);
}

/** The DAG's latest run with this logical date, if any. */
export async function findDagRunByLogicalDate(m: MetadataDb, dagId: string, logicalDate: number): Promise<DagRunRow | undefined> {
  return m.db.selectFrom('dag_run').selectAll().where('dag_id', '=', dagId).where('logical_date', '=', logicalDate).orderBy('id', 'desc').limit(1).executeTakeFirst();
}

/** The run, or undefined when the DAG has no run with this id. */
export async function findDagRun(m: MetadataDb, dagId: string, runId: string): Promise<DagRunRow | undefined> {
  return m.db.selectFrom('dag_run').selectAll().where('dag_id', '=', dagId).where('run_id', '=', runId).executeTakeFirst();
}

/** Delete a run with its task instances, tries, history and XComs (all in one transaction). */
export async function deleteDagRun(m: MetadataDb, id: number): Promise<void> {
  await m.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('xcom').where('dag_run_id', '=', id).execute();
    await tx.deleteFrom('task_instance_try').where('ti_id', 'in', (eb) => eb.selectFrom('task_instance').select('id').where('dag_run_id', '=', id)).execute();
    await tx.deleteFrom('task_instance_history').where('ti_id', 'in', (eb) => eb.selectFrom('task_instance').select('task_instance.id').where('dag_run_id', '=', id)).execute();
    await tx.deleteFrom('dag_run_history').where('dag_run_id', '=', id).execute();
    await tx.deleteFrom('task_instance').where('dag_run_id', '=', id).execute();
    await tx.deleteFrom('dag_run').where('id', '=', id).execute();
  });
}

/**
 * The DAG's latest successful run with a logical date before `logicalDate` (Airflow's previous
 * successful DAG run, behind `prev_data_interval_start_success`), if any.
 */
export async function previousSuccessfulRun(m: MetadataDb, dagId: string, logicalDate: number): Promise<DagRunRow | undefined> {
  return m.db
    .selectFrom('dag_run')
    .selectAll()
    .where('dag_id', '=', dagId)
    .where('state', '=', 'success')
    .where('logical_date', '<', logicalDate)
    .orderBy('logical_date', 'desc')
    .limit(1)
    .executeTakeFirst();
}
