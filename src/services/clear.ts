/**
 * Clearing task instances (Airflow's "clear"): matching task instances go back to `none` so the scheduler
 * runs them again, and their runs go back to `queued` when they had finished. Used by `capstan tasks clear`
 * and the REST API.
 *
 * Selection follows Airflow: a task-id regex picks tasks (default all), `upstream` / `downstream` add
 * every ancestor / descendant of those, then `onlyFailed` keeps only `failed` and `upstream_failed`
 * instances. Instances already in `none` are left alone. A running try is cleared too: its worker learns
 * from its next heartbeat that the try is no longer running and stops (there is no separate
 * "restarting" state, so the new try may start before the old process has exited).
 */
import { InvalidArgument, NotFound } from '../core/index.ts';
import type { DagRunState, SerializedDag, TaskInstanceState } from '../core/index.ts';
import {
  AuditLog,
  clearRun,
  clearTis,
  getDagRun,
  getSerializedDag,
  inTransaction,
  listDagRuns,
  listTaskInstances,
  notifyRunsQueued,
  notifyTiChanged,
  type MetadataDb,
} from '../store/index.ts';

export interface ClearRequest {
  dagId: string;
  /** Only this run. Default: every run of the DAG (within the date bounds). */
  runId?: string;
  /** Tasks whose id matches this regular expression (searched, not anchored). Default: all. */
  taskRegex?: string;
  /** Only these tasks (combined with `taskRegex` when both are given). */
  taskIds?: string[];
  /** Also clear every upstream task of the matched ones. */
  upstream?: boolean;
  /** Also clear every downstream task of the matched ones. */
  downstream?: boolean;
  /** Only instances in `failed` or `upstream_failed`. */
  onlyFailed?: boolean;
  /** Runs with a logical date at or after this (epoch ms). */
  startDate?: number;
  /** Runs with a logical date at or before this (epoch ms). */
  endDate?: number;
  /** Report what would be cleared without changing anything. */
  dryRun?: boolean;
}

export type ClearedTaskInstance = {
  runId: string;
  taskId: string;
  mapIndex: number;
  /** The state it was cleared from. */
  previousState: TaskInstanceState;
};

export type ClearedRun = {
  runId: string;
  previousState: DagRunState;
  state: DagRunState;
  clearNumber: number;
};

export interface ClearResult {
  dryRun: boolean;
  taskInstances: ClearedTaskInstance[];
  runs: ClearedRun[];
}

const FAILED_STATES: ReadonlySet<TaskInstanceState> = new Set(['failed', 'upstream_failed']);

/**
 * The task ids a clear covers: the tasks matching `regex` plus, on request, all their ancestors and
 * descendants. Throws `invalid_argument` for a bad regular expression.
 */
export function selectClearedTasks(dag: SerializedDag, options: Pick<ClearRequest, 'taskRegex' | 'taskIds' | 'upstream' | 'downstream'>): Set<string> {
  let pattern: RegExp | undefined;
  if (options.taskRegex !== undefined) {
    try {
      pattern = new RegExp(options.taskRegex);
    } catch (err) {
      throw new InvalidArgument(`--task-regex '${options.taskRegex}' is not a regular expression: ${(err as Error).message}`);
    }
  }
  const byId = new Map(dag.tasks.map((t) => [t.taskId, t]));
  const ids = options.taskIds === undefined ? undefined : new Set(options.taskIds);
  const unknown = options.taskIds?.filter((id) => !byId.has(id)) ?? [];
  if (unknown.length > 0) throw new InvalidArgument(`DAG '${dag.dagId}' has no task ${unknown.map((id) => `'${id}'`).join(', ')}`);
  const matched = dag.tasks.filter((t) => (!pattern || pattern.test(t.taskId)) && (!ids || ids.has(t.taskId))).map((t) => t.taskId);
  const selected = new Set(matched);
  const walk = (start: string[], next: (id: string) => string[]) => {
    const stack = [...start];
    while (stack.length > 0) {
      for (const n of next(stack.pop() as string)) {
        if (!selected.has(n)) {
          selected.add(n);
          stack.push(n);
        }
      }
    }
  };
  // Ancestors and descendants of the matched tasks (no cycles, so the two walks never meet).
  if (options.upstream) walk(matched, (id) => byId.get(id)?.upstream ?? []);
  if (options.downstream) walk(matched, (id) => byId.get(id)?.downstream ?? []);
  return selected;
}

/**
 * Clear what `req` selects and record it in the audit log as `actor`. Throws `not_found` for an unknown
 * DAG or run.
 */
export async function clearTaskInstances(m: MetadataDb, req: ClearRequest, now: number, actor: string): Promise<ClearResult> {
  const dag = await getSerializedDag(m, req.dagId);
  const tasks = selectClearedTasks(dag, req);
  const runFilter = req.runId === undefined ? undefined : await getDagRun(m, req.dagId, req.runId);
  const rows = await listTaskInstances(m, { dagId: req.dagId, ...(runFilter ? { dagRunId: runFilter.id } : {}) });
  const runRows = runFilter ? [runFilter] : await listDagRuns(m, { dagId: req.dagId, limit: Number.MAX_SAFE_INTEGER });
  const runs = new Map(runRows.map((r) => [r.id, r]));
  const matching = rows.filter((ti) => {
    if (!tasks.has(ti.task_id) || ti.state === 'none') return false;
    if (req.onlyFailed && !FAILED_STATES.has(ti.state)) return false;
    const logical = runs.get(ti.dag_run_id)?.logical_date ?? null;
    if (req.startDate !== undefined && (logical === null || logical < req.startDate)) return false;
    if (req.endDate !== undefined && (logical === null || logical > req.endDate)) return false;
    return true;
  });
  if (req.dryRun || matching.length === 0) {
    const runIds = [...new Set(matching.map((t) => t.dag_run_id))];
    return {
      dryRun: req.dryRun ?? false,
      taskInstances: matching.map((t) => ({ runId: t.run_id, taskId: t.task_id, mapIndex: t.map_index, previousState: t.state })),
      runs: runIds.flatMap((id) => {
        const r = runs.get(id);
        return r ? [{ runId: r.run_id, previousState: r.state, state: r.state, clearNumber: r.clear_number }] : [];
      }),
    };
  }
  const retriesOf = new Map(dag.tasks.map((t) => [t.taskId, t.retry.retries]));
  const result = await inTransaction(m, async (inTx) => {
    const tx = inTx.db;
    const byRetries = new Map<number, string[]>();
    for (const ti of matching) {
      const r = retriesOf.get(ti.task_id) ?? ti.max_tries;
      byRetries.set(r, [...(byRetries.get(r) ?? []), ti.id]);
    }
    const moved = new Set<string>();
    for (const [retries, ids] of byRetries) for (const id of await clearTis(tx, ids, retries, { actor }, now)) moved.add(id);
    const cleared = matching.filter((t) => moved.has(t.id));
    const clearedRuns: ClearedRun[] = [];
    for (const runId of new Set(cleared.map((t) => t.dag_run_id))) {
      const before = runs.get(runId);
      const after = await clearRun(tx, runId, { actor }, now);
      if (!after) throw new NotFound(`no DAG run with id ${runId}`);
      clearedRuns.push({ runId: after.run_id, previousState: before?.state ?? after.state, state: after.state, clearNumber: after.clear_number });
      // A scheduler in another process acts on the commit at once (nothing is sent if this rolls back).
      if (after.state === 'queued') await notifyRunsQueued(inTx, [runId]);
      else await notifyTiChanged(inTx, runId);
    }
    return {
      dryRun: false,
      taskInstances: cleared.map((t) => ({ runId: t.run_id, taskId: t.task_id, mapIndex: t.map_index, previousState: t.state })),
      runs: clearedRuns,
    };
  });
  await new AuditLog(m, { now: () => now }).append({
    event: 'task_instance.clear',
    actor,
    dagId: req.dagId,
    runId: req.runId ?? null,
    details: {
      taskRegex: req.taskRegex ?? null,
      taskIds: req.taskIds ?? null,
      upstream: req.upstream ?? false,
      downstream: req.downstream ?? false,
      onlyFailed: req.onlyFailed ?? false,
      cleared: result.taskInstances.length,
      runs: result.runs.map((r) => r.runId),
    },
  });
  return result;
}
