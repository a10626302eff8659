/**
 * DAG runs: list per DAG or across DAGs (`~`), trigger (conf checked against the DAG's params; a retry
 * with the same client-chosen run id and conf answers the run it made), get, patch state/note, delete,
 * clear with a dry run.
 */
import { z } from '@hono/zod-openapi';
import { CapstanError } from '../../../../core/index.ts';
import type { JsonObject } from '../../../../core/index.ts';
import { clearTaskInstances, markDagRun, setDagRunNote, confProblems, MAX_RUN_ID_LENGTH, triggerDagRun } from '../../../../services/index.ts';
import {
  AuditLog,
  countTaskInstances,
  deleteDagRun,
  findDagRun,
  getDagRun,
  getSerializedDag,
  RUN_SORT_FIELDS,
  searchDagRuns,
} from '../../../../store/index.ts';
import { confSchema, InvalidField } from '../../../http/index.ts';
import { onDag, onDagAudited } from '../access.ts';
import { dateQuery, listQuery, orderByQuery, pageQuery, searchQuery } from '../input.ts';
import { defineRoute } from '../route.ts';
import { DagId, DagIdOrAll, pageOf, RunId } from '../schemas/common.ts';
import { DagRunStateSchema } from '../schemas/dags.ts';
import { DagRunSchema, DagRunTypeSchema, dagRunView, MAX_NOTE_LENGTH } from '../schemas/runs.ts';
import { ClearResultSchema, clearResultView } from '../schemas/actions.ts';
import { actor, dagScope } from './scope.ts';

const TAGS = ['DagRun'];
const RunPath = { dagId: DagId, dagRunId: RunId };

/** An ISO 8601 date-time with a zone, as epoch milliseconds. */
const isoDateTime = z.iso
  .datetime({ offset: true })
  .transform((t) => Date.parse(t))
  .openapi({ type: 'string', format: 'date-time' });

export const listDagRuns = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/dagRuns',
  operationId: 'listDagRuns',
  tags: TAGS,
  summary: 'List DAG runs',
  description: 'Runs of one DAG, or of every DAG the caller may see with `~` as the DAG id.',
  access: onDag('dag_run', 'read'),
  params: { dagId: DagIdOrAll },
  query: {
    ...pageQuery(),
    orderBy: orderByQuery(RUN_SORT_FIELDS, '-id'),
    state: listQuery(DagRunStateSchema, 'runs in any of these states'),
    runType: listQuery(DagRunTypeSchema, 'runs of any of these types'),
    runIdPattern: searchQuery('case-insensitive substring of the run id'),
    logicalDateGte: dateQuery(),
    logicalDateLte: dateQuery(),
    startDateGte: dateQuery(),
    startDateLte: dateQuery(),
    endDateGte: dateQuery(),
    endDateLte: dateQuery(),
  },
  response: { schema: pageOf('dagRuns', DagRunSchema) },
  handler: async (c, { params, query: q }, d) => {
    const scope = await dagScope(c, d, params.dagId);
    const { runs, total } = await searchDagRuns(
      d.db,
      {
        ...scope,
        ...(q.state ? { states: q.state } : {}),
        ...(q.runType ? { runTypes: q.runType } : {}),
        ...(q.runIdPattern === undefined ? {} : { runIdPattern: q.runIdPattern }),
        logicalDate: { ...(q.logicalDateGte === undefined ? {} : { gte: q.logicalDateGte }), ...(q.logicalDateLte === undefined ? {} : { lte: q.logicalDateLte }) },
        startDate: { ...(q.startDateGte === undefined ? {} : { gte: q.startDateGte }), ...(q.startDateLte === undefined ? {} : { lte: q.startDateLte }) },
        endDate: { ...(q.endDateGte === undefined ? {} : { gte: q.endDateGte }), ...(q.endDateLte === undefined ? {} : { lte: q.endDateLte }) },
      },
      q,
      { by: q.orderBy.field, descending: q.orderBy.descending },
    );
    return { dagRuns: runs.map(dagRunView), totalEntries: total };
  },
});

/** A run's conf as the trigger body carries it; the API's limits are applied again in the handler. */
const TriggerBody = z
  .object({
    dagRunId: z.string().min(1).max(MAX_RUN_ID_LENGTH).optional().openapi({ description: 'default manual__<logical date>; a retry with the same id and conf answers the existing run (200)' }),
    conf: z.record(z.string(), z.unknown()).optional().openapi({ description: "checked against the DAG's params" }),
    logicalDate: isoDateTime.optional(),
    note: z.string().max(MAX_NOTE_LENGTH).nullable().optional(),
  })
  .strict()
  .openapi('TriggerDagRun');

export const triggerDagRunRoute = defineRoute({
  method: 'post',
  path: '/dags/{dagId}/dagRuns',
  operationId: 'triggerDagRun',
  tags: TAGS,
  summary: 'Trigger a DAG run',
  description: "Creates a queued manual run. `conf` must satisfy the DAG's params (a 400 names the first bad field, e.g. `conf.n`). With a client-chosen `dagRunId`, retrying the same request answers 200 with the run the first one made; a different conf or logical date under that id is a 409.",
  access: onDagAudited('dag_run', 'create', 'dag.trigger'),
  params: { dagId: DagId },
  body: TriggerBody,
  bodyRequired: false,
  response: { status: 201, schema: DagRunSchema, description: 'Created (200 when an identical earlier trigger made it)' },
  handler: async (c, { params, body }, d) => {
    const conf = body.conf === undefined ? {} : parseConf(body.conf, d.limits);
    const dag = await getSerializedDag(d.db, params.dagId);
    const problems = confProblems(dag, conf);
    if (problems.length > 0) {
      const first = problems[0] as string;
      throw new InvalidField(first.slice(0, first.indexOf(':')), problems.join('; '));
    }
    if (body.dagRunId !== undefined) {
      const existing = await findDagRun(d.db, params.dagId, body.dagRunId);
      if (existing) {
        const same = canonical(JSON.parse(existing.conf)) === canonical(conf) && (body.logicalDate === undefined || body.logicalDate === existing.logical_date);
        if (!same) throw new CapstanError('conflict', `DAG '${params.dagId}' already has a run '${body.dagRunId}' with another conf or logical date`, { hint: 'pick another run id' });
        return c.json(dagRunView(existing), 200);
      }
    }
    const run = await triggerDagRun(
      d.db,
      {
        dagId: params.dagId,
        runIdPattern: d.limits.allowedRunIdPattern,
        conf,
        ...(body.dagRunId === undefined ? {} : { runId: body.dagRunId }),
        ...(body.logicalDate === undefined ? {} : { logicalDate: body.logicalDate }),
        ...(body.note === undefined || body.note === null ? {} : { note: body.note }),
      },
      d.now(),
      dag,
    ).catch((err: unknown) => {
      if (err instanceof CapstanError && err.code === 'invalid_argument' && /runId/.test(err.message)) throw new InvalidField('dagRunId', err.message, err.hint);
      throw err;
    });
    await new AuditLog(d.db).append({ actor: actor(c), event: 'dag.trigger', dagId: run.dag_id, runId: run.run_id });
    d.onTriggered?.();
    return dagRunView(run);
  },
});

export const getDagRunRoute = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/dagRuns/{dagRunId}',
  operationId: 'getDagRun',
  tags: TAGS,
  summary: 'One DAG run',
  access: onDag('dag_run', 'read'),
  params: RunPath,
  response: { schema: DagRunSchema },
  handler: async (_c, { params }, d) => dagRunView(await getDagRun(d.db, params.dagId, params.dagRunId)),
});

const PatchRunBody = z
  .object({
    state: z.enum(['success', 'failed']).optional().openapi({ description: 'mark the run (and its unfinished task instances)' }),
    note: z.string().max(MAX_NOTE_LENGTH).nullable().optional(),
  })
  .strict()
  .openapi('DagRunPatch');

export const patchDagRun = defineRoute({
  method: 'patch',
  path: '/dags/{dagId}/dagRuns/{dagRunId}',
  operationId: 'patchDagRun',
  tags: TAGS,
  summary: "Mark a run success/failed, or set its note",
  access: onDagAudited('dag_run', 'edit', 'dag_run.patch'),
  params: RunPath,
  body: PatchRunBody,
  response: { schema: DagRunSchema },
  handler: async (c, { params, body }, d) => {
    const ids = { dagId: params.dagId, runId: params.dagRunId };
    await getDagRun(d.db, ids.dagId, ids.runId);
    if (body.note !== undefined) await setDagRunNote(d.db, { ...ids, note: body.note }, d.now(), actor(c));
    if (body.state !== undefined) {
      await markDagRun(d.db, { ...ids, state: body.state }, d.now(), actor(c));
      d.onTriggered?.();
    }
    return dagRunView(await getDagRun(d.db, ids.dagId, ids.runId));
  },
});

export const deleteDagRunRoute = defineRoute({
  method: 'delete',
  path: '/dags/{dagId}/dagRuns/{dagRunId}',
  operationId: 'deleteDagRun',
  tags: TAGS,
  summary: 'Delete a DAG run',
  description: 'Deletes the run with its task instances, tries and XComs. A run with queued or running task instances is refused (409): mark it failed first.',
  access: onDag('dag_run', 'delete', 'dag_run.delete'),
  params: RunPath,
  response: { schema: z.object({ deleted: z.literal(true) }) },
  handler: async (_c, { params }, d) => {
    const run = await getDagRun(d.db, params.dagId, params.dagRunId);
    const active = (await countTaskInstances(d.db, { dagRunId: run.id, state: 'running' })) + (await countTaskInstances(d.db, { dagRunId: run.id, state: 'queued' }));
    if (active > 0) throw new CapstanError('conflict', `run '${params.dagRunId}' has ${active} queued or running task instance(s)`, { hint: 'mark the run failed first (PATCH with {"state":"failed"})' });
    await deleteDagRun(d.db, run.id);
    return { deleted: true as const };
  },
});

const ClearRunBody = z
  .object({
    dryRun: z.boolean().default(true).openapi({ description: 'default true: answer what would be cleared' }),
    onlyFailed: z.boolean().default(false),
  })
  .strict()
  .openapi('ClearDagRun');

export const clearDagRun = defineRoute({
  method: 'post',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/clear',
  operationId: 'clearDagRun',
  tags: TAGS,
  summary: 'Clear a DAG run (re-run its task instances)',
  access: onDagAudited('task_instance', 'edit', 'task_instance.clear'),
  params: RunPath,
  body: ClearRunBody,
  bodyRequired: false,
  response: { schema: ClearResultSchema },
  handler: async (c, { params, body }, d) => {
    await getDagRun(d.db, params.dagId, params.dagRunId);
    const result = await clearTaskInstances(d.db, { dagId: params.dagId, runId: params.dagRunId, dryRun: body.dryRun, onlyFailed: body.onlyFailed }, d.now(), actor(c));
    if (!result.dryRun && result.taskInstances.length > 0) d.onTriggered?.();
    return clearResultView(result);
  },
});

/** The conf within the API's size and depth limits (`api.maxConfBytes`, `api.maxConfDepth`). */
function parseConf(conf: Record<string, unknown>, limits: { maxConfBytes: number; maxConfDepth: number }): JsonObject {
  const parsed = confSchema({ maxBytes: limits.maxConfBytes, maxDepth: limits.maxConfDepth }).safeParse(conf);
  if (!parsed.success) throw new InvalidField(['conf', ...(parsed.error.issues[0]?.path ?? []).map(String)].join('.'), `body: conf: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data as JsonObject;
}

/** JSON with sorted keys, to compare two confs. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x !== null && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));
}

export const dagRunRoutes = [listDagRuns, triggerDagRunRoute, getDagRunRoute, patchDagRun, deleteDagRunRoute, clearDagRun];
