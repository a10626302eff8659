/**
 * Marking task instances and runs by hand (Airflow's "mark success" / "mark failed"), and run and
 * task-instance notes. Used by `capstan tasks mark-success|mark-failed|note`, `capstan dags mark-run|note`
 * and the REST API.
 *
 * Marking a task: the selected tasks (plus, on request, all their upstream / downstream tasks) of one run
 * (plus, on request, every earlier / later run by logical date) are set to the state with one guarded
 * update per batch, from any state that may lead there, and a fresh `updated_at`. A running try marked
 * failed or success is not retried: its worker learns from its next heartbeat that the try is no longer
 * running and stops, exactly as after a clear. A finished run whose task states changed goes back to
 * `running`, so the scheduler judges it again from its task states (a failed run whose failed tasks are
 * all marked success becomes successful); a DAG-level callback that already ran for the run is not run
 * again.
 *
 * Marking a run (as Airflow's set_dag_run_state_to_success / _failed): success marks every task instance
 * success; failed marks running (and deferred / up_for_reschedule) task instances failed and the ones
 * that have not finished skipped. The run takes the state at once.
 */
import {
  type DagRunState,
  InvalidArgument,
  isTerminal,
  statesLeadingTo,
  type TaskInstanceState,
} from '../core/index.ts';
import {
  AuditLog,
  getDagRun,
  getSerializedDag,
  inTransaction,
  listDagRuns,
  listTaskInstances,
  markRun,
  markTis,
  notifyTiChanged,
  reopenRun,
  setRunNote,
  setTiNote,
  syncTryRow,
  type DagRunRow,
  type MetadataDb,
  type TaskInstanceRow,
  type TiNoteKey,
} from '../store/index.ts';
import { selectClearedTasks } from './clear.ts';

export type MarkState = 'success' | 'failed';

export interface MarkTasksRequest {
  dagId: string;
  runId: string;
  taskIds: string[];
  state: MarkState;
  /** Also mark every upstream task of the selected ones. */
  upstream?: boolean;
  /** Also mark every downstream task of the selected ones. */
  downstream?: boolean;
  /** Also in every run with an earlier logical date. */
  past?: boolean;
  /** Also in every run with a later logical date. */
  future?: boolean;
  /** Report what would change without changing it. */
  dryRun?: boolean;
}

export type MarkedTaskInstance = {
  runId: string;
  taskId: string;
  mapIndex: number;
  previousState: TaskInstanceState;
};

export interface MarkTasksResult {
  dryRun: boolean;
  state: MarkState;
  taskInstances: MarkedTaskInstance[];
}

export interface MarkRunResult {
  runId: string;
  previousState: DagRunState;
  state: MarkState;
  taskInstances: Array<MarkedTaskInstance & { state: TaskInstanceState }>;
}

const MARK_STATES: readonly string[] = ['success', 'failed'];

function checkState(state: string): asserts state is MarkState {
  if (!MARK_STATES.includes(state)) throw new InvalidArgument(`state must be 'success' or 'failed', not '${state}'`);
}

const marked = (t: TaskInstanceRow): MarkedTaskInstance => ({ runId: t.run_id, taskId: t.task_id, mapIndex: t.map_index, previousState: t.state });

/** Mark what `req` selects and record it in the audit log as `actor`. */
export async function markTaskInstances(m: MetadataDb, req: MarkTasksRequest, now: number, actor: string): Promise<MarkTasksResult> {
  checkState(req.state);
  if (req.taskIds.length === 0) throw new InvalidArgument('name at least one task to mark');
  const dag = await getSerializedDag(m, req.dagId);
  const tasks = selectClearedTasks(dag, { taskIds: req.taskIds, upstream: req.upstream ?? false, downstream: req.downstream ?? false });
  const target = await getDagRun(m, req.dagId, req.runId);
  let runs: DagRunRow[] = [target];
  if (req.past || req.future) {
    const at = target.logical_date ?? Number.NEGATIVE_INFINITY;
    runs = (await listDagRuns(m, { dagId: req.dagId, limit: Number.MAX_SAFE_INTEGER })).filter((r) => {
      if (r.id === target.id) return true;
      const d = r.logical_date ?? Number.NEGATIVE_INFINITY;
      return (req.past === true && d < at) || (req.future === true && d > at);
    });
  }
  const from = new Set<TaskInstanceState>(statesLeadingTo(req.state));
  const matching: TaskInstanceRow[] = [];
  for (const run of runs) {
    for (const ti of await listTaskInstances(m, { dagRunId: run.id })) if (tasks.has(ti.task_id) && ti.state !== req.state && from.has(ti.state)) matching.push(ti);
  }
  if (req.dryRun || matching.length === 0) return { dryRun: req.dryRun ?? false, state: req.state, taskInstances: matching.map(marked) };
  const reason = req.state === 'failed' ? `marked failed by ${actor}` : null;
  const moved = await inTransaction(m, async ({ db: tx }) => {
    const ids = new Set(await markTis(tx, matching.map((t) => t.id), req.state, reason, { actor }, now));
    for (const id of ids) await syncTryRow(tx, id);
    // A finished run is judged again by the scheduler from its new task states.
    const runIds = new Set(matching.filter((t) => ids.has(t.id)).map((t) => t.dag_run_id));
    for (const run of runs) {
      if (runIds.has(run.id) && (run.state === 'success' || run.state === 'failed')) {
        await reopenRun(tx, run.id, { actor }, now);
      }
    }
    return ids;
  });
  const result = matching.filter((t) => moved.has(t.id));
  for (const runId of new Set(result.map((t) => t.dag_run_id))) await notifyTiChanged(m, runId);
  await new AuditLog(m, { now: () => now }).append({
    event: `task_instance.mark_${req.state}`,
    actor,
    dagId: req.dagId,
    runId: req.runId,
    details: { taskIds: req.taskIds, upstream: req.upstream ?? false, downstream: req.downstream ?? false, past: req.past ?? false, future: req.future ?? false, marked: result.length },
  });
  return { dryRun: false, state: req.state, taskInstances: result.map(marked) };
}

/** States a run marked failed moves to `failed` (the others that have not finished are skipped). */
const RUNNING_LIKE: ReadonlySet<TaskInstanceState> = new Set(['running', 'deferred', 'up_for_reschedule']);

/** Set a whole run to `state` (see the module comment) and record it in the audit log. */
export async function markDagRun(m: MetadataDb, req: { dagId: string; runId: string; state: MarkState }, now: number, actor: string): Promise<MarkRunResult> {
  checkState(req.state);
  const run = await getDagRun(m, req.dagId, req.runId);
  const tis = await listTaskInstances(m, { dagRunId: run.id });
  const changes: Array<MarkedTaskInstance & { state: TaskInstanceState }> = [];
  await inTransaction(m, async ({ db: tx }) => {
    const move = async (rows: TaskInstanceRow[], to: 'success' | 'failed' | 'skipped', reason: string | null) => {
      const ids = new Set(await markTis(tx, rows.map((t) => t.id), to, reason, { actor }, now));
      for (const id of ids) await syncTryRow(tx, id);
      for (const t of rows) if (ids.has(t.id)) changes.push({ ...marked(t), state: to });
    };
    if (req.state === 'success') {
      await move(tis.filter((t) => t.state !== 'success'), 'success', null);
    } else {
      await move(tis.filter((t) => RUNNING_LIKE.has(t.state)), 'failed', `run marked failed by ${actor}`);
      await move(tis.filter((t) => !RUNNING_LIKE.has(t.state) && !isTerminal(t.state)), 'skipped', `run marked failed by ${actor}`);
    }
    await markRun(tx, run, req.state, { actor }, now);
  });
  await notifyTiChanged(m, run.id);
  await new AuditLog(m, { now: () => now }).append({ event: `dag_run.mark_${req.state}`, actor, dagId: req.dagId, runId: req.runId, details: { previousState: run.state, taskInstances: changes.length } });
  return { runId: run.run_id, previousState: run.state, state: req.state, taskInstances: changes };
}

/** Set (or with null, remove) a run's note, audited. */
export async function setDagRunNote(m: MetadataDb, req: { dagId: string; runId: string; note: string | null }, now: number, actor: string): Promise<void> {
  await setRunNote(m, req.dagId, req.runId, req.note, now);
  await new AuditLog(m, { now: () => now }).append({ event: 'dag_run.note', actor, dagId: req.dagId, runId: req.runId, details: { note: req.note } });
}

/**
 * Set (or with null, remove) a task instance's note as `actor`, audited; answers the instance with its note.
 * The note stays with the instance across clears and retries.
 */
export async function setTaskInstanceNote(m: MetadataDb, req: TiNoteKey & { note: string | null }, now: number, actor: string): Promise<TaskInstanceRow> {
  const ti = await setTiNote(m, req, req.note, actor, now);
  await new AuditLog(m, { now: () => now }).append({ event: 'task_instance.note', actor, dagId: req.dagId, runId: req.runId, taskId: req.taskId, details: { mapIndex: req.mapIndex, note: req.note } });
  return ti;
}
