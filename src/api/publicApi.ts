/**
 * The public REST API v1 (`/api/v1`), deprecated in favour of `/api/v2`: DAGs, runs and task instances. Every
 * answer carries `Deprecation` and a `Link` to its v2 successor (RFC 9745). Routes call stores and engine
 * services; they hold no SQL. Every route checks its path parameters, query and JSON body against strict
 * schemas before it reads anything (unknown fields and wrong types are a 400 naming the field); list routes
 * take `limit` (default 100, at most 1000) and `offset` and answer `totalEntries` beside their list.
 */
import { Hono, type Context } from 'hono';
import { visibleDagIds } from '../auth/dagGrants.ts';
import { actorName } from '../auth/permissions.ts';
import type { ApiEnv } from './auth/index.ts';
import { z } from 'zod';
import { InvalidArgument, NotFound } from '../core/errors.ts';
import type { JsonObject } from '../core/serialized.ts';
import { DEFAULT_RUN_ID_PATTERN } from '../config/defaults.ts';
import { backfillProgress, createBackfill, getBackfill, listBackfills, parseBackfillDate, REPROCESS_BEHAVIORS, type BackfillInfo, type BackfillPlanEntry, type ReprocessBehavior } from '../engine/backfill.ts';
import { clearTaskInstances, type ClearRequest } from '../engine/clear.ts';
import { markDagRun, markTaskInstances, setDagRunNote } from '../engine/mark.ts';
import { MAX_RUN_ID_LENGTH, triggerDagRun } from '../engine/triggerRun.ts';
import type { MetadataDb } from '../store/db.ts';
import { countDags, getDag, listDags, setPaused } from '../store/dags.ts';
import { countDagRuns, getDagRun, listDagRuns } from '../store/dagRuns.ts';
import { countTaskInstances, listTaskInstances } from '../store/taskInstances.ts';
import { AuditLog } from '../store/auditLog.ts';
import type { TaskLogHandler } from '../logging/logHandler.ts';
import { readTryLog, type LiveTaskLogSource } from '../logging/tryLog.ts';
import { errorResponse } from './errors.ts';
import { confSchema, DagIdParam, PageQuery, parseInput, pathParams, PositiveIntParam, queryParams, readJsonBody, RunIdParam, TaskIdParam } from './http/index.ts';
import { dagJson, runJson, tiJson } from './views.ts';

export interface PublicApiDeps {
  db: MetadataDb;
  now: () => number;
  /** Called after a run is triggered, e.g. to wake a scheduler in the same process. */
  onTriggered?: () => void;
  /** Where task logs are read: the log store, then live sources (a worker pod's log). Absent: no logs route. */
  taskLogs?: { handler: TaskLogHandler; live?: readonly LiveTaskLogSource[] };
  /** Input limits (`api.maxConfBytes`, `api.maxConfDepth`, `core.allowedRunIdPattern`); defaults as in the config table. */
  limits?: Partial<PublicApiLimits>;
}

export interface PublicApiLimits {
  maxConfBytes: number;
  maxConfDepth: number;
  allowedRunIdPattern: string;
}

const DEFAULT_LIMITS: PublicApiLimits = { maxConfBytes: 64 * 1024, maxConfDepth: 32, allowedRunIdPattern: DEFAULT_RUN_ID_PATTERN };

/** When v1 was deprecated (RFC 9745 structured date: seconds since the epoch), the day /api/v2 shipped. */
export const V1_DEPRECATED_SINCE = `@${Date.UTC(2026, 11, 7) / 1000}`;

/** The v2 path answering what a v1 path answers (v2 keeps the v1 paths, backfills moved to `/backfills`). */
export function v2Successor(v1Path: string): string {
  const rest = v1Path.replace(/^\/api\/v1/, '');
  return /^\/dags\/[^/]+\/backfills/.test(rest) ? '/api/v2/backfills' : `/api/v2${rest}`;
}

/** Path parameters by name; every route checks all of its own before it reads anything. */
const P = { dagId: DagIdParam, runId: RunIdParam, taskId: TaskIdParam, tryNumber: PositiveIntParam, id: PositiveIntParam };
const NO_QUERY = {};

export function publicApi(d: PublicApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  /** Who the audit log and the engine services record as having acted. */
  const actor = (c: Context<ApiEnv>): string => actorName(c.get('principal'));
  const audit = new AuditLog(d.db);
  const limits = { ...DEFAULT_LIMITS, ...d.limits };
  if (!isRegExp(limits.allowedRunIdPattern, 'u')) throw new InvalidArgument(`core.allowedRunIdPattern is not a valid regular expression`, 'fix the pattern (JavaScript syntax, u flag), e.g. ^[A-Za-z0-9_.~:+-]+$');
  const conf = confSchema({ maxBytes: limits.maxConfBytes, maxDepth: limits.maxConfDepth });
  const TriggerBody = z
    .object({
      // Checked here for its type and length, and by triggerDagRun against core.allowedRunIdPattern.
      runId: z.string().min(1).max(MAX_RUN_ID_LENGTH).optional(),
      conf: conf.optional(),
      logicalDate: isoDateTime.optional(),
      note: z.string().max(MAX_NOTE_LENGTH).nullable().optional(),
    })
    .strict();
  const BackfillBody = BackfillFields.extend({ dagRunConf: conf.optional() }).strict();
  app.onError((err, c) => errorResponse(c, err));
  app.use('*', async (c, next) => {
    await next();
    c.header('Deprecation', V1_DEPRECATED_SINCE);
    c.header('Link', `<${v2Successor(c.req.path)}>; rel="successor-version", </api/v2/docs>; rel="deprecation"`);
  });

  app.get('/dags', async (c) => {
    const q = queryParams(c, PageQuery);
    // A custom role sees only the DAGs granted to it.
    const visible = await visibleDagIds(d.db, c.get('principal').dags);
    const filter = visible === 'all' ? {} : { dagIds: visible };
    const [dags, total] = await Promise.all([listDags(d.db, { ...filter, limit: q.limit, offset: q.offset }), countDags(d.db, filter)]);
    return c.json({ dags: dags.map(dagJson), totalEntries: total });
  });
  app.get('/dags/:dagId', async (c) => {
    const { dagId } = pathParams(c, { dagId: P.dagId });
    queryParams(c, NO_QUERY);
    return c.json(dagJson(await getDag(d.db, dagId)));
  });
  app.patch('/dags/:dagId', async (c) => {
    const { dagId } = pathParams(c, { dagId: P.dagId });
    queryParams(c, NO_QUERY);
    const body = parseInput(PatchDagBody, await readJsonBody(c), 'dag');
    if (body.isPaused !== undefined) {
      await setPaused(d.db, dagId, body.isPaused);
      await audit.append({ actor: actor(c), event: body.isPaused ? 'dag.pause' : 'dag.unpause', dagId });
    }
    return c.json(dagJson(await getDag(d.db, dagId)));
  });
  app.get('/dags/:dagId/dagRuns', async (c) => {
    const { dagId } = pathParams(c, { dagId: P.dagId });
    const q = queryParams(c, PageQuery);
    const [runs, total] = await Promise.all([listDagRuns(d.db, { dagId, limit: q.limit, offset: q.offset }), countDagRuns(d.db, { dagId })]);
    return c.json({ dagRuns: runs.map(runJson), totalEntries: total });
  });
  app.post('/dags/:dagId/dagRuns', async (c) => {
    const { dagId } = pathParams(c, { dagId: P.dagId });
    queryParams(c, NO_QUERY);
    const body = parseInput(TriggerBody.optional(), await readJsonBody(c), 'dagRun') ?? {};
    const run = await triggerDagRun(
      d.db,
      {
        dagId,
        runIdPattern: limits.allowedRunIdPattern,
        ...(body.runId === undefined ? {} : { runId: body.runId }),
        ...(body.conf === undefined ? {} : { conf: body.conf as JsonObject }),
        ...(body.logicalDate === undefined ? {} : { logicalDate: body.logicalDate }),
        ...(body.note === undefined || body.note === null ? {} : { note: body.note }),
      },
      d.now(),
    );
    await audit.append({ actor: actor(c), event: 'dag.trigger', dagId: run.dag_id, runId: run.run_id });
    d.onTriggered?.();
    return c.json(runJson(run), 201);
  });
  app.post('/dags/:dagId/clearTaskInstances', async (c) => {
    const { dagId } = pathParams(c, { dagId: P.dagId });
    queryParams(c, NO_QUERY);
    const body = parseClearBody(await readJsonBody(c));
    const result = await clearTaskInstances(d.db, { dagId, ...body }, d.now(), actor(c));
    if (!result.dryRun && result.taskInstances.length > 0) d.onTriggered?.();
    return c.json(result);
  });
  app.post('/dags/:dagId/backfills', async (c) => {
    const { dagId } = pathParams(c, { dagId: P.dagId });
    queryParams(c, NO_QUERY);
    const b = parseInput(BackfillBody, await readJsonBody(c), 'backfill');
    const result = await createBackfill(
      d.db,
      {
        dagId,
        from: parseBackfillDate(b.fromDate, 'fromDate'),
        to: parseBackfillDate(b.toDate, 'toDate'),
        reprocess: b.reprocessBehavior as ReprocessBehavior,
        ...(b.maxActiveRuns === undefined ? {} : { maxActiveRuns: b.maxActiveRuns }),
        ...(b.dagRunConf === undefined ? {} : { conf: b.dagRunConf as JsonObject }),
        dryRun: b.dryRun,
      },
      d.now(),
      actor(c),
    );
    if (result.backfill) d.onTriggered?.();
    const plan = result.plan.map(backfillPlanJson);
    const notEnded = result.notEnded.map((t) => new Date(t).toISOString());
    return result.backfill ? c.json({ backfill: backfillJson(result.backfill), plan, notEnded }, 201) : c.json({ dryRun: true, plan, notEnded });
  });
  app.get('/dags/:dagId/backfills', async (c) => {
    const { dagId } = pathParams(c, { dagId: P.dagId });
    const q = queryParams(c, PageQuery);
    const all = await listBackfills(d.db, dagId);
    return c.json({ backfills: all.slice(q.offset, q.offset + q.limit).map(backfillJson), totalEntries: all.length });
  });
  app.get('/dags/:dagId/backfills/:id', async (c) => {
    const { dagId, id } = pathParams(c, { dagId: P.dagId, id: P.id });
    queryParams(c, NO_QUERY);
    const found = await getBackfill(d.db, id);
    if (!found || found.dagId !== dagId) throw new NotFound(`DAG '${dagId}' has no backfill ${id}`);
    const p = await backfillProgress(d.db, id, d.now());
    return c.json({ ...backfillJson(p.backfill), runs: p.runs, tasks: p.tasks, skipped: p.skipped, complete: p.complete });
  });
  app.get('/dags/:dagId/dagRuns/:runId', async (c) => {
    const { dagId, runId } = pathParams(c, { dagId: P.dagId, runId: P.runId });
    queryParams(c, NO_QUERY);
    return c.json(runJson(await getDagRun(d.db, dagId, runId)));
  });
  app.patch('/dags/:dagId/dagRuns/:runId', async (c) => {
    const ids = pathParams(c, { dagId: P.dagId, runId: P.runId });
    queryParams(c, NO_QUERY);
    const body = parseInput(PatchRunBody, await readJsonBody(c), 'dagRun');
    if (body.note !== undefined) await setDagRunNote(d.db, { ...ids, note: body.note }, d.now(), actor(c));
    if (body.state !== undefined) {
      await markDagRun(d.db, { ...ids, state: body.state }, d.now(), actor(c));
      d.onTriggered?.();
    }
    return c.json(runJson(await getDagRun(d.db, ids.dagId, ids.runId)));
  });
  app.patch('/dags/:dagId/dagRuns/:runId/taskInstances/:taskId', async (c) => {
    const { dagId, runId, taskId } = pathParams(c, { dagId: P.dagId, runId: P.runId, taskId: P.taskId });
    queryParams(c, NO_QUERY);
    const body = parseInput(PatchTiBody, await readJsonBody(c), 'taskInstance');
    const result = await markTaskInstances(
      d.db,
      {
        dagId,
        runId,
        taskIds: [taskId],
        state: body.newState,
        upstream: body.includeUpstream,
        downstream: body.includeDownstream,
        past: body.includePast,
        future: body.includeFuture,
        dryRun: body.dryRun,
      },
      d.now(),
      actor(c),
    );
    if (!result.dryRun && result.taskInstances.length > 0) d.onTriggered?.();
    return c.json(result);
  });
  app.get('/dags/:dagId/dagRuns/:runId/taskInstances', async (c) => {
    const { dagId, runId } = pathParams(c, { dagId: P.dagId, runId: P.runId });
    const q = queryParams(c, PageQuery);
    const [tis, total] = await Promise.all([listTaskInstances(d.db, { dagId, runId, limit: q.limit, offset: q.offset }), countTaskInstances(d.db, { dagId, runId })]);
    return c.json({ taskInstances: tis.map(tiJson), totalEntries: total });
  });
  // A try's log from byte `fromByte` (default 0): `{ text, nextByte, ended, source }`, source `store` or `live`.
  app.get('/dags/:dagId/dagRuns/:runId/taskInstances/:taskId/logs/:tryNumber', async (c) => {
    const { dagId, runId, taskId, tryNumber } = pathParams(c, { dagId: P.dagId, runId: P.runId, taskId: P.taskId, tryNumber: P.tryNumber });
    const q = queryParams(c, LogQuery);
    if (d.taskLogs === undefined) throw new NotFound('this API server reads no task logs');
    const key = { dagId, runId, taskId, mapIndex: q.mapIndex, tryNumber };
    try {
      return c.json(await readTryLog(key, { handler: d.taskLogs.handler, fromByte: q.fromByte, ...(d.taskLogs.live ? { live: d.taskLogs.live } : {}) }));
    } catch (err) {
      // The log store's own message names the file on the server; the client learns which try has none.
      if (err instanceof NotFound) throw new NotFound(`no log of try ${tryNumber} of task '${taskId}' in run '${runId}' of DAG '${dagId}'`, err.hint);
      throw err;
    }
  });
  return app;
}

/** Longest run note (Airflow's limit). */
const MAX_NOTE_LENGTH = 1000;

/** An ISO 8601 date-time with a zone (`2026-01-01T00:00:00Z`, `…+02:00`), as epoch milliseconds. */
const isoDateTime = z.iso.datetime({ offset: true }).transform((t) => Date.parse(t));

/** Body of `PATCH /dags/:dagId`: `isPaused`. */
const PatchDagBody = z.object({ isPaused: z.boolean().optional() }).strict();

/** Query of the log route: `mapIndex` (default -1, unmapped) and `fromByte` (default 0). */
const LogQuery = {
  mapIndex: z
    .string()
    .regex(/^(-1|\d{1,6})$/, 'must be -1 or a whole number')
    .transform(Number)
    .default(-1),
  fromByte: z
    .string()
    .regex(/^\d{1,15}$/, 'must be a whole number ≥ 0')
    .transform(Number)
    .default(0),
};

/**
 * Body of `POST /dags/:dagId/clearTaskInstances` (Airflow's clearTaskInstances in camelCase): `dryRun`
 * (default true, as in Airflow), `dagRunId`, `taskIds`, `taskRegex`, `includeUpstream`,
 * `includeDownstream`, `onlyFailed`, `startDate`, `endDate` (ISO-8601).
 */
const ClearBody = z
  .object({
    dryRun: z.boolean().default(true),
    dagRunId: z.string().min(1).max(MAX_RUN_ID_LENGTH).optional(),
    taskIds: z.array(TaskIdParam).max(10_000).optional(),
    taskRegex: z.string().max(250).refine((r) => isRegExp(r), 'is not a regular expression').optional(),
    includeUpstream: z.boolean().default(false),
    includeDownstream: z.boolean().default(false),
    onlyFailed: z.boolean().default(false),
    startDate: z.iso.datetime({ offset: true }).optional(),
    endDate: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

function parseClearBody(raw: unknown): Omit<ClearRequest, 'dagId'> {
  const b = parseInput(ClearBody, raw, 'clearTaskInstances');
  return {
    dryRun: b.dryRun,
    upstream: b.includeUpstream,
    downstream: b.includeDownstream,
    onlyFailed: b.onlyFailed,
    ...(b.dagRunId === undefined ? {} : { runId: b.dagRunId }),
    ...(b.taskIds === undefined ? {} : { taskIds: b.taskIds }),
    ...(b.taskRegex === undefined ? {} : { taskRegex: b.taskRegex }),
    ...(b.startDate === undefined ? {} : { startDate: Date.parse(b.startDate) }),
    ...(b.endDate === undefined ? {} : { endDate: Date.parse(b.endDate) }),
  };
}

/**
 * Body of `POST /dags/:dagId/backfills` (Airflow 3's backfill in camelCase): `fromDate`, `toDate`
 * (ISO 8601 dates or date-times, both inclusive), `reprocessBehavior` (none / failed / completed, default
 * none), `maxActiveRuns` (default: the DAG's), `dagRunConf`, `dryRun` (default false).
 */
const backfillDate = z.string().regex(/^[0-9][0-9TZ:.+-]{0,39}$/, 'must be an ISO 8601 date or date-time');
const BackfillFields = z.object({
  fromDate: backfillDate,
  toDate: backfillDate,
  reprocessBehavior: z.enum(REPROCESS_BEHAVIORS as [ReprocessBehavior, ...ReprocessBehavior[]]).default('none'),
  maxActiveRuns: z.number().int().min(1).max(10_000).optional(),
  dryRun: z.boolean().default(false),
});

function backfillJson(b: BackfillInfo): Record<string, unknown> {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return { id: b.id, dagId: b.dagId, fromDate: iso(b.from), toDate: iso(b.to), reprocessBehavior: b.reprocess, maxActiveRuns: b.maxActiveRuns, dagRunConf: b.conf, createdAt: iso(b.createdAt), completedAt: iso(b.completedAt) };
}

function backfillPlanJson(p: BackfillPlanEntry): Record<string, unknown> {
  const { kind, ...detail } = p.action;
  return { logicalDate: new Date(p.logicalDate).toISOString(), dataIntervalEnd: new Date(p.dataIntervalEnd).toISOString(), runId: p.runId, action: kind, ...detail };
}

/** Body of `PATCH /dags/:dagId/dagRuns/:runId`: a new `state` (success / failed) and/or a `note` (null removes it). */
const PatchRunBody = z
  .object({
    state: z.enum(['success', 'failed']).optional(),
    note: z.string().max(MAX_NOTE_LENGTH).nullable().optional(),
  })
  .strict();

/**
 * Body of `PATCH /dags/:dagId/dagRuns/:runId/taskInstances/:taskId` (Airflow's in camelCase): `newState`
 * (success / failed), `includeUpstream`, `includeDownstream`, `includePast`, `includeFuture`, `dryRun`
 * (default false).
 */
const PatchTiBody = z
  .object({
    newState: z.enum(['success', 'failed']),
    includeUpstream: z.boolean().default(false),
    includeDownstream: z.boolean().default(false),
    includePast: z.boolean().default(false),
    includeFuture: z.boolean().default(false),
    dryRun: z.boolean().default(false),
  })
  .strict();

function isRegExp(source: string, flags = ''): boolean {
  try {
    new RegExp(source, flags);
    return true;
  } catch {
    return false;
  }
}
