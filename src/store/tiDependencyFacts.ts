/**
 * What the scheduler weighs before it runs a task instance, read in one go for the "why is this task not
 * running" explanation: its upstreams' states, its pool's size and use, the active counts its DAG and the
 * installation are limited by, and the same task's state in the previous run (for `dependsOnPast`).
 */
import type { TaskInstanceState } from '../core/index.ts';
import type { MetadataDb } from './db.ts';
import type { DagRow, DagRunRow, TaskInstanceRow } from './schema.ts';

export interface TiDependencyFacts {
  dag: DagRow | undefined;
  run: DagRunRow | undefined;
  /** State of every task instance of the run, by task id (a mapped task's indexes all listed). */
  runStates: Map<string, TaskInstanceState[]>;
  /** The pool row, undefined when the pool does not exist. */
  pool: { slots: number; includeDeferred: boolean } | undefined;
  /** Slots held in the pool now (queued + running, and deferred when the pool counts them). */
  poolUsed: number;
  /** Queued or running task instances of the DAG. */
  dagActiveTasks: number;
  /** Queued or running task instances anywhere (against `core.parallelism`). */
  activeTasks: number;
  /** Runs of the DAG that are running (against the DAG's maxActiveRuns). */
  dagRunningRuns: number;
  /** The same task's state in the previous run by logical date, null when there is none. */
  previousRunState: TaskInstanceState | null;
}

export async function tiDependencyFacts(m: MetadataDb, ti: TaskInstanceRow): Promise<TiDependencyFacts> {
  const db = m.db;
  const [dag, run, rows, pool, poolUse, dagActive, active, runningRuns] = await Promise.all([
    db.selectFrom('dag').selectAll().where('dag_id', '=', ti.dag_id).executeTakeFirst(),
    db.selectFrom('dag_run').selectAll().where('id', '=', ti.dag_run_id).executeTakeFirst(),
    db.selectFrom('task_instance').select(['task_id', 'state']).where('dag_run_id', '=', ti.dag_run_id).execute(),
    db.selectFrom('pool').select(['slots', 'include_deferred']).where('name', '=', ti.pool).executeTakeFirst(),
    db
      .selectFrom('task_instance')
      .select(['state', (eb) => eb.fn.sum<number>('pool_slots').as('slots')])
      .where('pool', '=', ti.pool)
      .where('state', 'in', ['queued', 'running', 'deferred'])
      .groupBy('state')
      .execute(),
    db.selectFrom('task_instance').select((eb) => eb.fn.countAll<number>().as('n')).where('dag_id', '=', ti.dag_id).where('state', 'in', ['queued', 'running']).executeTakeFirstOrThrow(),
    db.selectFrom('task_instance').select((eb) => eb.fn.countAll<number>().as('n')).where('state', 'in', ['queued', 'running']).executeTakeFirstOrThrow(),
    db.selectFrom('dag_run').select((eb) => eb.fn.countAll<number>().as('n')).where('dag_id', '=', ti.dag_id).where('state', '=', 'running').executeTakeFirstOrThrow(),
  ]);
  const runStates = new Map<string, TaskInstanceState[]>();
  for (const r of rows) runStates.set(r.task_id, [...(runStates.get(r.task_id) ?? []), r.state]);
  const includeDeferred = pool !== undefined && Number(pool.include_deferred) === 1;
  const poolUsed = poolUse.filter((u) => u.state !== 'deferred' || includeDeferred).reduce((n, u) => n + Number(u.slots), 0);
  let previousRunState: TaskInstanceState | null = null;
  if (run?.logical_date !== null && run?.logical_date !== undefined) {
    const prev = await db
      .selectFrom('task_instance')
      .innerJoin('dag_run', 'dag_run.id', 'task_instance.dag_run_id')
      .select('task_instance.state')
      .where('task_instance.dag_id', '=', ti.dag_id)
      .where('task_instance.task_id', '=', ti.task_id)
      .where('task_instance.map_index', '=', ti.map_index)
      .where('dag_run.logical_date', '<', run.logical_date)
      .orderBy('dag_run.logical_date', 'desc')
      .limit(1)
      .executeTakeFirst();
    previousRunState = prev?.state ?? null;
  }
  return {
    dag,
    run,
    runStates,
    pool: pool === undefined ? undefined : { slots: Number(pool.slots), includeDeferred },
    poolUsed,
    dagActiveTasks: Number(dagActive.n),
    activeTasks: Number(active.n),
    dagRunningRuns: Number(runningRuns.n),
    previousRunState,
  };
}
