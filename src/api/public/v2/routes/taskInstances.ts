/**
 * Task instances: list per run or across runs and DAGs (`~`), a batch list by body, one instance (any map
 * index) and a mapped task's indexes, mark with upstream/downstream/past/future and a dry run, its note, clear,
 * "why is this not running", and rendered template fields (tries and state moves: tries.ts).
 */
import { z } from '@hono/zod-openapi';
import { NotFound } from '../../../../core/index.ts';
import { explainTaskInstance, clearTaskInstances, markTaskInstances, setTaskInstanceNote } from '../../../../services/index.ts';
import {
  findTaskInstance,
  getDagRun,
  getSerializedDag,
  loadRenderedFields,
  searchTaskInstances,
  TI_SORT_FIELDS,
  tiDependencyFacts,
  type TiSearch,
} from '../../../../store/index.ts';
import { onDag, onDagAudited } from '../access.ts';
import { dateQuery, intQuery, listQuery, orderByQuery, pageQuery, searchQuery } from '../input.ts';
import { defineRoute } from '../route.ts';
import { DagId, DagIdOrAll, pageOf, RunId, RunIdOrAll, TaskId, TaskIdField } from '../schemas/common.ts';
import { ClearResultSchema, clearResultView, MarkResultSchema, markResultView } from '../schemas/actions.ts';
import { MAX_NOTE_LENGTH, TaskInstanceSchema, TaskInstanceStateSchema, taskInstanceView } from '../schemas/runs.ts';
import { actor, dagScope } from './scope.ts';

const TAGS = ['TaskInstance'];
const TiPath = { dagId: DagId, dagRunId: RunId, taskId: TaskId };
/** `mapIndex` of a per-instance route: -1 (default) for an unmapped task. */
export const MapIndexQuery = intQuery({ min: -1, max: 1_000_000, description: 'map index; -1 (default) for an unmapped task' })
  .optional()
  .transform((v) => v ?? -1)
  .openapi({ type: 'integer', minimum: -1, default: -1, description: 'map index; -1 (default) for an unmapped task' });

const TiFilterFields = {
  taskId: listQuery(TaskIdField, 'only these tasks'),
  taskIdPattern: searchQuery('case-insensitive substring of the task id'),
  state: listQuery(TaskInstanceStateSchema, 'in any of these states'),
  pool: listQuery(z.string().min(1).max(256), 'in any of these pools'),
  queue: listQuery(z.string().min(1).max(256), 'on any of these queues'),
  operator: listQuery(z.string().min(1).max(256), 'of any of these operators'),
  mapIndex: listQuery(intQuery({ min: -1, max: 1_000_000 }), 'these map indexes'),
  startDateGte: dateQuery(),
  startDateLte: dateQuery(),
  endDateGte: dateQuery(),
  endDateLte: dateQuery(),
  logicalDateGte: dateQuery("of the run's logical date"),
  logicalDateLte: dateQuery(),
  durationGte: intQuery({ min: 0, max: Number.MAX_SAFE_INTEGER, description: 'milliseconds' }).optional(),
  durationLte: intQuery({ min: 0, max: Number.MAX_SAFE_INTEGER, description: 'milliseconds' }).optional(),
};

type TiFilterInput = {
  taskId?: string[] | undefined;
  taskIdPattern?: string | undefined;
  state?: TiSearch['states'] | undefined;
  pool?: string[] | undefined;
  queue?: string[] | undefined;
  operator?: string[] | undefined;
  mapIndex?: number[] | undefined;
  startDateGte?: number | undefined;
  startDateLte?: number | undefined;
  endDateGte?: number | undefined;
  endDateLte?: number | undefined;
  logicalDateGte?: number | undefined;
  logicalDateLte?: number | undefined;
  durationGte?: number | undefined;
  durationLte?: number | undefined;
};

const range = (gte: number | undefined, lte: number | undefined) => ({ ...(gte === undefined ? {} : { gte }), ...(lte === undefined ? {} : { lte }) });

function tiSearch(q: TiFilterInput): TiSearch {
  return {
    ...(q.taskId ? { taskIds: q.taskId } : {}),
    ...(q.taskIdPattern === undefined ? {} : { taskIdPattern: q.taskIdPattern }),
    ...(q.state ? { states: q.state } : {}),
    ...(q.pool ? { pools: q.pool } : {}),
    ...(q.queue ? { queues: q.queue } : {}),
    ...(q.operator ? { operators: q.operator } : {}),
    ...(q.mapIndex ? { mapIndexes: q.mapIndex } : {}),
    startDate: range(q.startDateGte, q.startDateLte),
    endDate: range(q.endDateGte, q.endDateLte),
    logicalDate: range(q.logicalDateGte, q.logicalDateLte),
    duration: range(q.durationGte, q.durationLte),
  };
}

export const listTaskInstances = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances',
  operationId: 'listTaskInstances',
  tags: TAGS,
  summary: 'List task instances',
  description: 'Task instances of one run; `~` as the run id lists across the DAG’s runs, `~` as both ids across every DAG the caller may see.',
  access: onDag('task_instance', 'read'),
  params: { dagId: DagIdOrAll, dagRunId: RunIdOrAll },
  query: { ...pageQuery(), orderBy: orderByQuery(TI_SORT_FIELDS, 'id'), ...TiFilterFields },
  response: { schema: pageOf('taskInstances', TaskInstanceSchema) },
  handler: async (c, { params, query: q }, d) => {
    const scope = await dagScope(c, d, params.dagId);
    if (params.dagRunId !== '~') {
      if (scope.dagId === undefined) throw new NotFound('with `~` as the DAG id, the run id must be `~` too');
      await getDagRun(d.db, scope.dagId, params.dagRunId);
    }
    const { tis, total } = await searchTaskInstances(d.db, { ...scope, ...(params.dagRunId === '~' ? {} : { runId: params.dagRunId }), ...tiSearch(q) }, q, { by: q.orderBy.field, descending: q.orderBy.descending });
    return { taskInstances: tis.map(taskInstanceView), totalEntries: total };
  },
});

const BatchBody = z
  .object({
    dagIds: z.array(DagId).max(1000).optional(),
    dagRunIds: z.array(RunId).max(1000).optional(),
    taskIds: z.array(TaskIdField).max(10_000).optional(),
    state: z.array(TaskInstanceStateSchema).max(20).optional(),
    pool: z.array(z.string().min(1).max(256)).max(100).optional(),
    queue: z.array(z.string().min(1).max(256)).max(100).optional(),
    limit: z.number().int().min(1).max(1000).default(100),
    offset: z.number().int().min(0).default(0),
    orderBy: z.enum(TI_SORT_FIELDS.flatMap((f) => [f, `-${f}`]) as [string, ...string[]]).default('id'),
  })
  .strict()
  .openapi('TaskInstanceBatchQuery');

export const batchListTaskInstances = defineRoute({
  method: 'post',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/list',
  operationId: 'getTaskInstancesBatch',
  tags: TAGS,
  summary: 'List task instances by a body of filters',
  description: 'For selections too long for a query string (thousands of task ids). Use `~` for both path ids.',
  access: onDag('task_instance', 'read'),
  params: { dagId: DagIdOrAll, dagRunId: RunIdOrAll },
  body: BatchBody,
  bodyRequired: false,
  response: { schema: pageOf('taskInstances', TaskInstanceSchema) },
  handler: async (c, { params, body }, d) => {
    const scope = await dagScope(c, d, params.dagId);
    let dagIds = scope.dagIds;
    if (body.dagIds) dagIds = dagIds ? body.dagIds.filter((x) => dagIds?.includes(x)) : body.dagIds;
    const desc = body.orderBy.startsWith('-');
    const by = (desc ? body.orderBy.slice(1) : body.orderBy) as (typeof TI_SORT_FIELDS)[number];
    const all: Awaited<ReturnType<typeof searchTaskInstances>> = { tis: [], total: 0 };
    const runIds = params.dagRunId !== '~' ? [params.dagRunId] : (body.dagRunIds ?? [undefined]);
    for (const runId of runIds) {
      const r = await searchTaskInstances(
        d.db,
        {
          ...(scope.dagId === undefined ? {} : { dagId: scope.dagId }),
          ...(dagIds === undefined ? {} : { dagIds }),
          ...(runId === undefined ? {} : { runId }),
          ...(body.taskIds ? { taskIds: body.taskIds } : {}),
          ...(body.state ? { states: body.state } : {}),
          ...(body.pool ? { pools: body.pool } : {}),
          ...(body.queue ? { queues: body.queue } : {}),
        },
        { limit: body.limit, offset: runIds.length === 1 ? body.offset : 0 },
        { by, descending: desc },
      );
      all.tis.push(...r.tis);
      all.total += r.total;
    }
    return { taskInstances: all.tis.slice(0, body.limit).map(taskInstanceView), totalEntries: all.total };
  },
});

export const getTaskInstance = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}',
  operationId: 'getTaskInstance',
  tags: TAGS,
  summary: 'One task instance',
  access: onDag('task_instance', 'read'),
  params: TiPath,
  query: { mapIndex: MapIndexQuery },
  response: { schema: TaskInstanceSchema },
  handler: async (_c, { params, query }, d) => {
    const run = await getDagRun(d.db, params.dagId, params.dagRunId);
    return taskInstanceView({ ...(await findTaskInstance(d.db, params.dagId, params.dagRunId, params.taskId, query.mapIndex)), logical_date: run.logical_date });
  },
});

export const listMappedTaskInstances = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/listMapped',
  operationId: 'listMappedTaskInstances',
  tags: TAGS,
  summary: "A mapped task's instances (one per map index)",
  access: onDag('task_instance', 'read'),
  params: TiPath,
  query: { ...pageQuery(), orderBy: orderByQuery(TI_SORT_FIELDS, 'mapIndex'), state: listQuery(TaskInstanceStateSchema) },
  response: { schema: pageOf('taskInstances', TaskInstanceSchema) },
  handler: async (_c, { params, query: q }, d) => {
    await getDagRun(d.db, params.dagId, params.dagRunId);
    const { tis, total } = await searchTaskInstances(d.db, { dagId: params.dagId, runId: params.dagRunId, taskIds: [params.taskId], ...(q.state ? { states: q.state } : {}) }, q, { by: q.orderBy.field, descending: q.orderBy.descending });
    return { taskInstances: tis.map(taskInstanceView), totalEntries: total };
  },
});

const PatchTiBody = z
  .object({
    newState: z.enum(['success', 'failed']),
    mapIndex: z.number().int().min(-1).optional().openapi({ description: 'ignored: marking covers every map index of the task' }),
    includeUpstream: z.boolean().default(false),
    includeDownstream: z.boolean().default(false),
    includePast: z.boolean().default(false),
    includeFuture: z.boolean().default(false),
    dryRun: z.boolean().default(false),
  })
  .strict()
  .openapi('TaskInstancePatch');

export const patchTaskInstance = defineRoute({
  method: 'patch',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}',
  operationId: 'patchTaskInstance',
  tags: TAGS,
  summary: 'Mark a task instance success or failed',
  description: 'With `includeUpstream`/`includeDownstream` the marked set grows along the graph, with `includePast`/`includeFuture` across runs by logical date. `dryRun` answers what would change.',
  access: onDagAudited('task_instance', 'edit', 'task_instance.mark'),
  params: TiPath,
  body: PatchTiBody,
  response: { schema: MarkResultSchema },
  handler: async (c, { params, body }, d) => {
    await getDagRun(d.db, params.dagId, params.dagRunId);
    const result = await markTaskInstances(
      d.db,
      { dagId: params.dagId, runId: params.dagRunId, taskIds: [params.taskId], state: body.newState, upstream: body.includeUpstream, downstream: body.includeDownstream, past: body.includePast, future: body.includeFuture, dryRun: body.dryRun },
      d.now(),
      actor(c),
    );
    if (!result.dryRun && result.taskInstances.length > 0) d.onTriggered?.();
    return markResultView(result);
  },
});

const TiNoteBody = z
  .object({ note: z.string().max(MAX_NOTE_LENGTH).nullable().openapi({ description: `at most ${MAX_NOTE_LENGTH} characters; null removes the note` }) })
  .strict()
  .openapi('TaskInstanceNote');

export const setTaskInstanceNoteRoute = defineRoute({
  method: 'patch',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/note',
  operationId: 'setTaskInstanceNote',
  tags: TAGS,
  summary: "Set or remove a task instance's note",
  description: 'The note belongs to the instance (one map index), not to one try: it stays across clears and retries. The answer carries who set it and when.',
  access: onDagAudited('task_instance', 'edit', 'task_instance.note'),
  params: TiPath,
  query: { mapIndex: MapIndexQuery },
  body: TiNoteBody,
  response: { schema: TaskInstanceSchema },
  handler: async (c, { params, query, body }, d) => {
    const run = await getDagRun(d.db, params.dagId, params.dagRunId);
    const ti = await setTaskInstanceNote(d.db, { dagId: params.dagId, runId: params.dagRunId, taskId: params.taskId, mapIndex: query.mapIndex, note: body.note }, d.now(), actor(c));
    return taskInstanceView({ ...ti, logical_date: run.logical_date });
  },
});

const ClearBody = z
  .object({
    dryRun: z.boolean().default(true).openapi({ description: 'default true (as in Airflow): answer what would be cleared' }),
    dagRunId: RunId.optional().openapi({ description: 'only this run; default every run within the dates' }),
    taskIds: z.array(TaskIdField).max(10_000).optional(),
    taskRegex: z
      .string()
      .max(250)
      .refine((r) => {
        try {
          new RegExp(r, 'u');
          return true;
        } catch {
          return false;
        }
      }, 'is not a regular expression')
      .optional(),
    includeUpstream: z.boolean().default(false),
    includeDownstream: z.boolean().default(false),
    onlyFailed: z.boolean().default(false),
    startDate: z.iso.datetime({ offset: true }).optional(),
    endDate: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .openapi('ClearTaskInstances');

export const clearTaskInstancesRoute = defineRoute({
  method: 'post',
  path: '/dags/{dagId}/clearTaskInstances',
  operationId: 'postClearTaskInstances',
  tags: TAGS,
  summary: 'Clear task instances (re-run them)',
  access: onDagAudited('task_instance', 'edit', 'task_instance.clear'),
  params: { dagId: DagId },
  body: ClearBody,
  bodyRequired: false,
  response: { schema: ClearResultSchema },
  handler: async (c, { params, body: b }, d) => {
    const result = await clearTaskInstances(
      d.db,
      {
        dagId: params.dagId,
        dryRun: b.dryRun,
        upstream: b.includeUpstream,
        downstream: b.includeDownstream,
        onlyFailed: b.onlyFailed,
        ...(b.dagRunId === undefined ? {} : { runId: b.dagRunId }),
        ...(b.taskIds === undefined ? {} : { taskIds: b.taskIds }),
        ...(b.taskRegex === undefined ? {} : { taskRegex: b.taskRegex }),
        ...(b.startDate === undefined ? {} : { startDate: Date.parse(b.startDate) }),
        ...(b.endDate === undefined ? {} : { endDate: Date.parse(b.endDate) }),
      },
      d.now(),
      actor(c),
    );
    if (!result.dryRun && result.taskInstances.length > 0) d.onTriggered?.();
    return clearResultView(result);
  },
});

const DependenciesSchema = z
  .object({
    state: TaskInstanceStateSchema,
    dependencies: z.array(z.object({ code: z.string(), message: z.string() })).openapi({ description: 'one line per unmet condition; empty when nothing holds it back' }),
  })
  .openapi('TaskInstanceDependencies');

export const getTaskInstanceDependencies = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/dependencies',
  operationId: 'getTaskInstanceDependencies',
  tags: TAGS,
  summary: 'Why is this task instance not running?',
  description: 'Upstream states against the trigger rule, dependsOnPast, retry delay, deferral, pool slots, the DAG’s maxActiveTasks and maxActiveRuns, executor slots (core.parallelism), queued on the executor.',
  access: onDag('task_instance', 'read'),
  params: TiPath,
  query: { mapIndex: MapIndexQuery },
  response: { schema: DependenciesSchema },
  handler: async (_c, { params, query }, d) => {
    const ti = await findTaskInstance(d.db, params.dagId, params.dagRunId, params.taskId, query.mapIndex);
    const dag = await getSerializedDag(d.db, params.dagId).catch(() => undefined);
    const task = dag?.tasks.find((t) => t.taskId === ti.task_id);
    const facts = await tiDependencyFacts(d.db, ti);
    return { state: ti.state, dependencies: explainTaskInstance(ti, task, facts, { now: d.now(), parallelism: d.parallelism ?? 32 }) };
  },
});

export const getRenderedFields = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/renderedFields',
  operationId: 'getRenderedFields',
  tags: TAGS,
  summary: 'Rendered template fields of a try',
  description: 'As the task rendered them (secrets masked); the latest try that rendered unless `tryNumber` is given.',
  access: onDag('task_instance', 'read'),
  params: TiPath,
  query: { mapIndex: MapIndexQuery, tryNumber: intQuery({ min: 1, max: 1_000_000 }).optional() },
  response: { schema: z.object({ tryNumber: z.number().int(), renderedFields: z.record(z.string(), z.unknown()) }).openapi('RenderedFields') },
  handler: async (_c, { params, query }, d) => {
    const ti = await findTaskInstance(d.db, params.dagId, params.dagRunId, params.taskId, query.mapIndex);
    const found = await loadRenderedFields(d.db, ti.id, query.tryNumber);
    if (!found) throw new NotFound(`task '${params.taskId}' has no rendered fields${query.tryNumber === undefined ? '' : ` for try ${query.tryNumber}`} yet`, 'a try renders its fields when it starts');
    return { tryNumber: found.tryNumber, renderedFields: found.rendered };
  },
});

export const taskInstanceRoutes = [
  listTaskInstances,
  batchListTaskInstances,
  getTaskInstance,
  listMappedTaskInstances,
  patchTaskInstance,
  setTaskInstanceNoteRoute,
  clearTaskInstancesRoute,
  getTaskInstanceDependencies,
  getRenderedFields,
];
