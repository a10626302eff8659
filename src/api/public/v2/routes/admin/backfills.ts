/**
 * Backfills (Airflow 3's `/backfills`): create (and plan with a dry run), list, get with progress, pause,
 * unpause, cancel — all through src/services/backfill.ts, which records its own audit entries. The DAG is
 * named in the body or found from the backfill, so the caller's DAG grants are checked here.
 */
import { z } from '@hono/zod-openapi';
import type { RouteAccess } from '../../../../auth/routePermissions.ts';
import type { JsonObject } from '../../../../../core/index.ts';
import { backfillProgress, BACKFILL_SORT_FIELDS, cancelBackfill, createBackfill, getBackfill, pageBackfills, parseBackfillDate, REPROCESS_BEHAVIORS, setBackfillPaused, type BackfillInfo, type BackfillPlanEntry, type ReprocessBehavior } from '../../../../../services/index.ts';
import { confSchema, InvalidField } from '../../../../http/index.ts';
import { can } from '../../access.ts';
import type { V2Deps } from '../../deps.ts';
import { boolQuery, intQuery, orderByQuery, pageQuery } from '../../input.ts';
import { defineRoute } from '../../route.ts';
import { DagId, pageOf } from '../../schemas/common.ts';
import { actor, iso, requireDagGrant, visibleDagFilter } from './common.ts';

const TAGS = ['Backfill'];

/** A backfill route whose engine service audits its successes (the middleware records refusals and failures). */
const audited = (action: 'create' | 'edit', event: string): RouteAccess => ({ kind: 'permission', resource: 'backfill', action, event, auditedBy: 'service' });

const ReprocessSchema = z.enum(REPROCESS_BEHAVIORS as [ReprocessBehavior, ...ReprocessBehavior[]]).openapi('ReprocessBehavior');

const BackfillSchema = z
  .object({
    id: z.number().int(),
    dagId: z.string(),
    fromDate: z.string().openapi({ format: 'date-time' }),
    toDate: z.string().openapi({ format: 'date-time' }),
    reprocessBehavior: ReprocessSchema,
    maxActiveRuns: z.number().int(),
    dagRunConf: z.record(z.string(), z.unknown()),
    isPaused: z.boolean(),
    createdAt: z.string().openapi({ format: 'date-time' }),
    completedAt: z.string().nullable().openapi({ format: 'date-time', description: 'when every run finished, or when it was cancelled' }),
  })
  .openapi('Backfill');

const BackfillDetailSchema = BackfillSchema.extend({
  runs: z.object({ total: z.number().int(), queued: z.number().int(), running: z.number().int(), success: z.number().int(), failed: z.number().int() }),
  tasks: z.object({ done: z.number().int(), total: z.number().int() }),
  skipped: z.number().int().openapi({ description: 'dates skipped because a run existed or was in flight' }),
  complete: z.boolean(),
}).openapi('BackfillDetail');

const PlanEntrySchema = z
  .object({
    logicalDate: z.string().openapi({ format: 'date-time' }),
    dataIntervalEnd: z.string().openapi({ format: 'date-time' }),
    dagRunId: z.string(),
    action: z.enum(['create', 'rerun', 'skip']),
    reason: z.string().optional().openapi({ description: 'why a date is skipped: already_exists or in_flight' }),
    existingState: z.string().optional(),
  })
  .openapi('BackfillPlanEntry');

const backfillDate = z.string().regex(/^[0-9][0-9TZ:.+-]{0,39}$/, 'must be an ISO 8601 date or date-time');
const NewBackfillBody = z
  .object({
    dagId: DagId,
    fromDate: backfillDate.openapi({ description: 'first logical date (inclusive), ISO 8601 date or date-time' }),
    toDate: backfillDate.openapi({ description: 'last logical date (inclusive)' }),
    reprocessBehavior: ReprocessSchema.optional().openapi({ description: 'none (default): skip dates with a run; failed: re-run failed ones; completed: re-run finished ones' }),
    maxActiveRuns: z.number().int().min(1).max(10_000).optional().openapi({ description: 'runs of this backfill at once (default: the DAG’s maxActiveRuns)' }),
    dagRunConf: z.record(z.string(), z.unknown()).optional().openapi({ description: "conf of every run, checked against the DAG's params" }),
  })
  .strict()
  .openapi('BackfillCreate');

function backfillView(b: BackfillInfo): z.input<typeof BackfillSchema> {
  return { id: b.id, dagId: b.dagId, fromDate: iso(b.from) ?? '', toDate: iso(b.to) ?? '', reprocessBehavior: b.reprocess, maxActiveRuns: b.maxActiveRuns, dagRunConf: b.conf, isPaused: b.isPaused, createdAt: iso(b.createdAt) ?? '', completedAt: iso(b.completedAt) };
}

function planView(p: BackfillPlanEntry): z.input<typeof PlanEntrySchema> {
  const a = p.action;
  return {
    logicalDate: iso(p.logicalDate) ?? '',
    dataIntervalEnd: iso(p.dataIntervalEnd) ?? '',
    dagRunId: p.runId,
    action: a.kind,
    ...(a.kind === 'skip' ? { reason: a.reason, existingState: a.existingState } : {}),
    ...(a.kind === 'rerun' ? { existingState: a.previousState } : {}),
  };
}

/** The request for the engine, the conf within the API's limits (`api.maxConfBytes`, `api.maxConfDepth`). */
function backfillRequest(b: z.output<typeof NewBackfillBody>, d: V2Deps, dryRun: boolean) {
  let conf: JsonObject | undefined;
  if (b.dagRunConf !== undefined) {
    const parsed = confSchema({ maxBytes: d.limits.maxConfBytes, maxDepth: d.limits.maxConfDepth }).safeParse(b.dagRunConf);
    if (!parsed.success) throw new InvalidField(['dagRunConf', ...(parsed.error.issues[0]?.path ?? []).map(String)].join('.'), `body: dagRunConf: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    conf = parsed.data as JsonObject;
  }
  return {
    dagId: b.dagId,
    from: parseBackfillDate(b.fromDate, 'fromDate'),
    to: parseBackfillDate(b.toDate, 'toDate'),
    ...(b.reprocessBehavior === undefined ? {} : { reprocess: b.reprocessBehavior }),
    ...(b.maxActiveRuns === undefined ? {} : { maxActiveRuns: b.maxActiveRuns }),
    ...(conf === undefined ? {} : { conf }),
    dryRun,
  };
}

const BackfillIdParam = { backfillId: intQuery({ min: 1, max: Number.MAX_SAFE_INTEGER, description: 'backfill id' }) };

export const listBackfillsRoute = defineRoute({
  method: 'get',
  path: '/backfills',
  operationId: 'listBackfills',
  tags: TAGS,
  summary: 'List backfills',
  description: 'Backfills of the DAGs the caller may see (of one DAG with `dagId`), newest first by default.',
  access: can('backfill', 'read'),
  query: { ...pageQuery(), orderBy: orderByQuery(BACKFILL_SORT_FIELDS, '-id'), dagId: DagId.optional(), active: boolQuery('only backfills still running (true) or only ended ones (false)') },
  response: { schema: pageOf('backfills', BackfillSchema) },
  handler: async (c, { query: q }, d) => {
    const dagIds = await visibleDagFilter(c, d.db);
    const page = await pageBackfills(d.db, {
      limit: q.limit,
      offset: q.offset,
      sort: { by: q.orderBy.field, descending: q.orderBy.descending },
      ...(q.dagId === undefined ? {} : { dagId: q.dagId }),
      ...(dagIds === undefined ? {} : { dagIds }),
      ...(q.active === undefined ? {} : { active: q.active }),
    });
    return { backfills: page.items.map(backfillView), totalEntries: page.total };
  },
});

export const createBackfillRoute = defineRoute({
  method: 'post',
  path: '/backfills',
  operationId: 'createBackfill',
  tags: TAGS,
  summary: 'Create a backfill',
  description: 'Creates a queued run for every ended schedule interval whose logical date is in [fromDate, toDate] (or re-runs existing ones per `reprocessBehavior`); the scheduler runs them at most `maxActiveRuns` at once. Answers the backfill with its plan, one entry per date.',
  access: audited('create', 'dag.backfill'),
  body: NewBackfillBody,
  response: { status: 201, schema: z.object({ backfill: BackfillSchema, plan: z.array(PlanEntrySchema), notEnded: z.array(z.string()) }).openapi('BackfillCreated') },
  handler: async (c, { body }, d) => {
    await requireDagGrant(c, d.db, body.dagId, 'create');
    const result = await createBackfill(d.db, backfillRequest(body, d, false), d.now(), actor(c));
    if (!result.backfill) throw new Error('createBackfill returned no backfill outside a dry run');
    d.onTriggered?.();
    return { backfill: backfillView(result.backfill), plan: result.plan.map(planView), notEnded: result.notEnded.map((t) => iso(t) ?? '') };
  },
});

export const dryRunBackfill = defineRoute({
  method: 'post',
  path: '/backfills/dryRun',
  operationId: 'dryRunBackfill',
  tags: TAGS,
  summary: 'Plan a backfill without creating it',
  description: 'What `POST /backfills` would do with the same body, date by date; nothing is written.',
  access: can('backfill', 'create'),
  body: NewBackfillBody,
  response: { schema: z.object({ plan: z.array(PlanEntrySchema), notEnded: z.array(z.string()) }).openapi('BackfillPlan') },
  handler: async (c, { body }, d) => {
    await requireDagGrant(c, d.db, body.dagId, 'create');
    const result = await createBackfill(d.db, backfillRequest(body, d, true), d.now(), actor(c));
    return { plan: result.plan.map(planView), notEnded: result.notEnded.map((t) => iso(t) ?? '') };
  },
});

export const getBackfillRoute = defineRoute({
  method: 'get',
  path: '/backfills/{backfillId}',
  operationId: 'getBackfill',
  tags: TAGS,
  summary: 'One backfill with its progress',
  access: can('backfill', 'read'),
  params: BackfillIdParam,
  response: { schema: BackfillDetailSchema },
  handler: async (c, { params }, d) => {
    await requireDagGrant(c, d.db, (await getBackfill(d.db, params.backfillId)).dagId, 'read');
    const p = await backfillProgress(d.db, params.backfillId, d.now());
    return { ...backfillView(p.backfill), runs: p.runs, tasks: p.tasks, skipped: p.skipped, complete: p.complete };
  },
});

function stateChange(name: 'pause' | 'unpause' | 'cancel', summary: string, description: string) {
  return defineRoute({
    method: 'put',
    path: `/backfills/{backfillId}/${name}`,
    operationId: `${name}Backfill`,
    tags: TAGS,
    summary,
    description,
    access: audited('edit', `backfill.${name}`),
    params: BackfillIdParam,
    response: { schema: BackfillSchema },
    handler: async (c, { params }, d) => {
      await requireDagGrant(c, d.db, (await getBackfill(d.db, params.backfillId)).dagId, 'edit');
      const now = d.now();
      const b = name === 'cancel' ? await cancelBackfill(d.db, params.backfillId, now, actor(c)) : await setBackfillPaused(d.db, params.backfillId, name === 'pause', now, actor(c));
      d.onTriggered?.();
      return backfillView(b);
    },
  });
}

export const pauseBackfill = stateChange('pause', 'Pause a backfill', 'Its queued runs wait (running ones finish) until it is unpaused; 409 once it has ended.');
export const unpauseBackfill = stateChange('unpause', 'Unpause a backfill', 'Its queued runs start again within its maxActiveRuns; 409 once it has ended.');
export const cancelBackfillRoute = stateChange('cancel', 'Cancel a backfill', 'Pauses it for good, fails its queued runs and marks it completed; running runs finish. 409 once it has ended.');

export const backfillRoutes = [listBackfillsRoute, createBackfillRoute, dryRunBackfill, getBackfillRoute, pauseBackfill, unpauseBackfill, cancelBackfillRoute];
