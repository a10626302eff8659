/**
 * The grid's data: a full answer of `GET /dags/{dagId}/grid` once, then — whenever a live change marks it
 * stale — only what changed since its cursor (`changedSince`), merged into the answer held. A 1,000-task ×
 * 25-run grid is ~350 KiB in full; a change is a few hundred bytes.
 */
import { api, data, type Schemas } from '../../../api/v2.ts';

type MappedSummary = Schemas['MappedSummary'];

/** One grid answer: full, or the changes since `changedSince` (an earlier answer's cursor). */
export function fetchGrid(dagId: string, query: { limit: number; changedSince?: number }, signal: AbortSignal) {
  return data(api.GET('/dags/{dagId}/grid', { params: { path: { dagId }, query }, signal }));
}

export type GridData = Awaited<ReturnType<typeof fetchGrid>>;
type RunStates = NonNullable<GridData['states']>[string];

/**
 * `prev` with an incremental answer's runs and cells applied, or undefined when only a full answer can
 * say what the grid now is: a run it does not hold appeared (the window of newest runs moved) or a cell of
 * a task it has no row for (the DAG changed).
 */
export function mergeGridChanges(prev: GridData, delta: GridData): GridData | undefined {
  const runIndex = new Map(prev.dagRuns.map((r, i) => [r.dagRunId, i]));
  if (delta.dagRuns.some((r) => !runIndex.has(r.dagRunId))) return undefined;
  const rowOf = new Map((prev.tasks ?? []).map((t, i) => [t.taskId, i]));
  const dagRuns = [...prev.dagRuns];
  for (const r of delta.dagRuns) dagRuns[runIndex.get(r.dagRunId) as number] = r;
  // Copy only the runs' rows that change, so unchanged rows keep their identity.
  const states = { ...prev.states };
  const mapped: NonNullable<GridData['mapped']> = { ...prev.mapped };
  const copied = new Set<string>();
  for (const c of delta.changes ?? []) {
    if (!runIndex.has(c.dagRunId)) continue;
    const row = rowOf.get(c.taskId);
    if (row === undefined) return undefined;
    if (!copied.has(c.dagRunId)) {
      copied.add(c.dagRunId);
      // A cell with no instance is null (the generated type loses the null).
      states[c.dagRunId] = [...(states[c.dagRunId] ?? (prev.tasks ?? []).map(() => null))] as RunStates;
      mapped[c.dagRunId] = { ...mapped[c.dagRunId] };
    }
    (states[c.dagRunId] as Array<string | null>)[row] = c.state;
    const summaries = mapped[c.dagRunId] as Record<string, MappedSummary>;
    const summary = c.mapped as MappedSummary | null;
    if (summary) summaries[c.taskId] = summary;
    else delete summaries[c.taskId];
  }
  return { ...prev, cursor: delta.cursor, dagRuns, states, mapped };
}
