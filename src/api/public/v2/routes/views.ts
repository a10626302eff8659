/**
 * Views the UI draws at Airflow's known breaking points: the grid (task structure × the latest N runs'
 * states, mapped tasks summarised, with incremental `changedSince` answers) and the graph (nodes, edges,
 * groups from dotted task ids, optionally one run's states). Each is two or three queries at any size.
 */
import { z } from '@hono/zod-openapi';
import type { SerializedDag, TaskInstanceState } from '../../../../core/index.ts';
import {
  getDagRun,
  getSerializedDag,
  type GridCell,
  gridCells,
  latestRuns,
  mappedCells,
} from '../../../../store/index.ts';
import type { DagRunRow } from '../../../../store/index.ts';
import { onDag } from '../access.ts';
import { intQuery, listQuery } from '../input.ts';
import { defineRoute } from '../route.ts';
import { DagId, RunId } from '../schemas/common.ts';
import { DagRunStateSchema } from '../schemas/dags.ts';
import { DagRunSchema, DagRunTypeSchema, dagRunView, TaskInstanceStateSchema } from '../schemas/runs.ts';

const TAGS = ['View'];
/** How far back an incremental read looks again, so a late commit with an earlier stamp is not missed. */
const RESCAN_MS = 2000;

/** Which state a mapped task shows: the most urgent of its indexes. */
const URGENCY: readonly TaskInstanceState[] = ['failed', 'upstream_failed', 'up_for_retry', 'up_for_reschedule', 'running', 'deferred', 'queued', 'scheduled', 'none', 'removed', 'skipped', 'success'];

export function summaryState(counts: ReadonlyMap<TaskInstanceState, number>): TaskInstanceState {
  for (const s of URGENCY) if ((counts.get(s) ?? 0) > 0) return s;
  return ([...counts.keys()][0] ?? 'none') as TaskInstanceState;
}

const MappedSummarySchema = z.object({ total: z.number().int(), states: z.record(z.string(), z.number().int()).openapi({ description: 'map indexes per state' }) }).openapi('MappedSummary');
const GridCellSchema = z
  .object({ dagRunId: z.string(), taskId: z.string(), state: TaskInstanceStateSchema.nullable(), tryNumber: z.number().int().nullable(), mapped: MappedSummarySchema.nullable() })
  .openapi('GridCell');

const GridSchema = z
  .object({
    dagId: z.string(),
    cursor: z.number().int().openapi({ description: 'pass as changedSince to get only what changed after this answer' }),
    incremental: z.boolean(),
    tasks: z
      .array(z.object({ taskId: z.string(), operator: z.string(), isMapped: z.boolean(), upstreamTaskIds: z.array(z.string()) }))
      .optional()
      .openapi({ description: 'the task rows in DAG order (full answers only)' }),
    dagRuns: z.array(DagRunSchema).openapi({ description: 'full: the runs, newest first; incremental: runs that changed' }),
    states: z
      .record(z.string(), z.array(TaskInstanceStateSchema.nullable()))
      .optional()
      .openapi({ description: 'full answers: per run id, one state per task in `tasks` order (null: no instance); a mapped task shows its most urgent index' }),
    mapped: z.record(z.string(), z.record(z.string(), MappedSummarySchema)).optional().openapi({ description: 'full answers: per run id and mapped task id, its indexes per state' }),
    changes: z.array(GridCellSchema).optional().openapi({ description: 'incremental answers: the cells that changed' }),
  })
  .openapi('Grid');

interface Aggregate {
  counts: Map<TaskInstanceState, number>;
  tryNumber: number;
  mapped: boolean;
}

function aggregate(cells: readonly GridCell[], mappedTasks: ReadonlySet<string>): Map<number, Map<string, Aggregate>> {
  const byRun = new Map<number, Map<string, Aggregate>>();
  // A mapped task's placeholder (-1) stands for it only until its indexes exist.
  const expanded = new Set(cells.filter((c) => c.map_index >= 0).map((c) => `${c.dag_run_id}|${c.task_id}`));
  for (const c of cells) {
    if (c.map_index === -1 && expanded.has(`${c.dag_run_id}|${c.task_id}`)) continue;
    let row = byRun.get(c.dag_run_id);
    if (!row) byRun.set(c.dag_run_id, (row = new Map()));
    let a = row.get(c.task_id);
    if (!a) row.set(c.task_id, (a = { counts: new Map(), tryNumber: 0, mapped: mappedTasks.has(c.task_id) || c.map_index >= 0 }));
    a.counts.set(c.state, (a.counts.get(c.state) ?? 0) + 1);
    a.tryNumber = Math.max(a.tryNumber, c.try_number);
  }
  return byRun;
}

/** The latest `updated_at` of `rows`, at least `floor`. */
function newest(rows: ReadonlyArray<{ updated_at: number }>, floor: number): number {
  let n = floor;
  for (const r of rows) if (r.updated_at > n) n = r.updated_at;
  return n;
}

const summary = (a: Aggregate) => ({ total: [...a.counts.values()].reduce((n, x) => n + x, 0), states: Object.fromEntries(a.counts) });

export const getGrid = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/grid',
  operationId: 'getGrid',
  tags: TAGS,
  summary: 'Grid: tasks × the latest runs',
  description: 'Full answer: the task rows, the newest `limit` runs and each cell’s state (mapped tasks summarised). With `changedSince` (the `cursor` of an earlier answer) only runs and cells changed since then — small and fast while a run moves.',
  access: onDag('task_instance', 'read'),
  params: { dagId: DagId },
  query: {
    limit: intQuery({ min: 1, max: 1000, description: 'runs (default 25)' }).optional(),
    offset: intQuery({ min: 0, max: Number.MAX_SAFE_INTEGER }).optional(),
    runState: listQuery(DagRunStateSchema),
    runType: listQuery(DagRunTypeSchema),
    changedSince: intQuery({ min: 0, max: Number.MAX_SAFE_INTEGER, description: 'a cursor from an earlier answer' }).optional(),
  },
  response: { schema: GridSchema },
  etag: true,
  handler: async (_c, { params, query: q }, d) => {
    const dag = await getSerializedDag(d.db, params.dagId);
    const runs = await latestRuns(d.db, params.dagId, { limit: q.limit ?? 25, offset: q.offset ?? 0, ...(q.runState ? { states: q.runState } : {}), ...(q.runType ? { runTypes: q.runType } : {}) });
    const runById = new Map(runs.map((r) => [r.id, r]));
    const mappedTasks = new Set(dag.tasks.filter((t) => t.mapping !== undefined).map((t) => t.taskId));
    const since = q.changedSince === undefined ? undefined : Math.max(0, q.changedSince - RESCAN_MS);
    const cells = await gridCells(d.db, runs.map((r) => r.id), since);
    const cursor = newest(cells, newest(runs, q.changedSince ?? 0));
    if (since === undefined) return fullGrid(dag, runs, aggregate(cells, mappedTasks), cursor);
    // Incremental: re-read every index of a changed mapped task to summarise it again.
    const touched = new Map<string, { dagRunId: number; taskId: string }>();
    for (const c of cells) touched.set(`${c.dag_run_id}|${c.task_id}`, { dagRunId: c.dag_run_id, taskId: c.task_id });
    const mappedPairs = [...touched.values()].filter((p) => mappedTasks.has(p.taskId));
    const full = aggregate([...cells.filter((c) => !mappedTasks.has(c.task_id)), ...(await mappedCells(d.db, mappedPairs))], mappedTasks);
    const changes = [...touched.values()].map((p) => {
      const a = full.get(p.dagRunId)?.get(p.taskId);
      return { dagRunId: runById.get(p.dagRunId)?.run_id ?? '', taskId: p.taskId, state: a ? summaryState(a.counts) : null, tryNumber: a ? a.tryNumber : null, mapped: a?.mapped ? summary(a) : null };
    });
    return { dagId: params.dagId, cursor, incremental: true, dagRuns: runs.filter((r) => r.updated_at >= (since ?? 0)).map(dagRunView), changes };
  },
});

function fullGrid(dag: SerializedDag, runs: readonly DagRunRow[], byRun: Map<number, Map<string, Aggregate>>, cursor: number): z.input<typeof GridSchema> {
  const states: Record<string, Array<TaskInstanceState | null>> = {};
  const mapped: Record<string, Record<string, { total: number; states: Record<string, number> }>> = {};
  for (const r of runs) {
    const row = byRun.get(r.id);
    states[r.run_id] = dag.tasks.map((t) => {
      const a = row?.get(t.taskId);
      return a ? summaryState(a.counts) : null;
    });
    for (const [taskId, a] of row ?? []) if (a.mapped) (mapped[r.run_id] ??= {})[taskId] = summary(a);
  }
  return {
    dagId: dag.dagId,
    cursor,
    incremental: false,
    tasks: dag.tasks.map((t) => ({ taskId: t.taskId, operator: t.operator, isMapped: t.mapping !== undefined, upstreamTaskIds: t.upstream })),
    dagRuns: runs.map(dagRunView),
    states,
    mapped,
  };
}

const GraphSchema = z
  .object({
    dagId: z.string(),
    nodes: z.array(
      z.object({
        id: z.string(),
        label: z.string().openapi({ description: 'the task id without its group prefix' }),
        operator: z.string(),
        isMapped: z.boolean(),
        triggerRule: z.string(),
        group: z.string().nullable(),
        state: TaskInstanceStateSchema.nullable().openapi({ description: "with dagRunId: the task's state in that run" }),
      }),
    ),
    edges: z.array(z.object({ sourceId: z.string(), targetId: z.string() })),
    groups: z.array(z.object({ id: z.string(), label: z.string(), parent: z.string().nullable(), children: z.array(z.string()) })).openapi({ description: 'task groups from dotted task ids (`extract.users` is in group `extract`)' }),
  })
  .openapi('Graph');

export const getGraph = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/graph',
  operationId: 'getGraph',
  tags: TAGS,
  summary: 'Graph: nodes, edges and groups',
  access: onDag('dag', 'read'),
  params: { dagId: DagId },
  query: { dagRunId: RunId.optional().openapi({ description: "include each task's state in this run" }) },
  response: { schema: GraphSchema },
  etag: true,
  handler: async (_c, { params, query }, d) => {
    const dag = await getSerializedDag(d.db, params.dagId);
    let states = new Map<string, TaskInstanceState>();
    if (query.dagRunId !== undefined) {
      const run = await getDagRun(d.db, params.dagId, query.dagRunId);
      const mappedTasks = new Set(dag.tasks.filter((t) => t.mapping !== undefined).map((t) => t.taskId));
      const row = aggregate(await gridCells(d.db, [run.id]), mappedTasks).get(run.id);
      states = new Map([...(row ?? [])].map(([taskId, a]) => [taskId, summaryState(a.counts)]));
    }
    const groups = new Map<string, { id: string; label: string; parent: string | null; children: string[] }>();
    const groupOf = (taskId: string): string | null => {
      const dot = taskId.lastIndexOf('.');
      if (dot <= 0) return null;
      const id = taskId.slice(0, dot);
      if (!groups.has(id)) {
        const parent = groupOf(id);
        groups.set(id, { id, label: id.slice(id.lastIndexOf('.') + 1), parent, children: [] });
        if (parent !== null) groups.get(parent)?.children.push(id);
      }
      return id;
    };
    const nodes = dag.tasks.map((t) => {
      const group = groupOf(t.taskId);
      if (group !== null) groups.get(group)?.children.push(t.taskId);
      return { id: t.taskId, label: t.taskId.slice(t.taskId.lastIndexOf('.') + 1), operator: t.operator, isMapped: t.mapping !== undefined, triggerRule: t.triggerRule, group, state: states.get(t.taskId) ?? null };
    });
    const edges = dag.tasks.flatMap((t) => t.upstream.map((u) => ({ sourceId: u, targetId: t.taskId })));
    return { dagId: dag.dagId, nodes, edges, groups: [...groups.values()] };
  },
});

export const viewRoutes = [getGrid, getGraph];
