/**
 * The public REST API (`/api/v1`): DAGs, runs and task instances. Routes call stores and engine
 * services; they hold no SQL.
 */
import { Hono, type Context } from 'hono';
import { visibleDagIds } from '../auth/dagGrants.ts';
import { actorName } from '../auth/permissions.ts';
import type { ApiEnv } from './auth/index.ts';
import { z } from 'zod';
import { InvalidArgument, NotFound } from '../core/errors.ts';
import type { JsonObject, JsonValue } from '../core/serialized.ts';
import { backfillProgress, createBackfill, getBackfill, listBackfills, parseBackfillDate, REPROCESS_BEHAVIORS, type BackfillInfo, type BackfillPlanEntry, type ReprocessBehavior } from '../engine/backfill.ts';
import { clearTaskInstances, type ClearRequest } from '../engine/clear.ts';
import { markDagRun, markTaskInstances, setDagRunNote } from '../engine/mark.ts';
import { triggerDagRun } from '../engine/triggerRun.ts';
import type { MetadataDb } from '../store/db.ts';
import { getDag, listDags, setPaused } from '../store/dags.ts';
import { getDagRun, listDagRuns } from '../store/dagRuns.ts';
import { listTaskInstances } from '../store/taskInstances.ts';
import { AuditLog } from '../store/auditLog.ts';
import type { TaskLogHandler } from '../logging/logHandler.ts';
import { readTryLog, type LiveTaskLogSource } from '../logging/tryLog.ts';
import { errorResponse } from './errors.ts';
import { dagJson, runJson, tiJson } from './views.ts';

export interface PublicApiDeps {
  db: MetadataDb;
  now: () => number;
  /** Called after a run is triggered, e.g. to wake a scheduler in the same process. */
  onTriggered?: () => void;
  /** Where task logs are read: the log store, then live sources (a worker pod's log). Absent: no logs route. */
  taskLogs?: { handler: TaskLogHandler; live?: readonly LiveTaskLogSource[] };
}

export function publicApi(d: PublicApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  /** Who the audit log and the engine services record as having acted. */
  const actor = (c: Context<ApiEnv>): string => actorName(c.get('principal'));
  const audit = new AuditLog(d.db);
  app.onError((err, c) => errorResponse(c, err));

  app.get('/dags', async (c) => {
    // A custom role sees only the DAGs granted to it.
    const visible = await visibleDagIds(d.db, c.get('principal').dags);
    const dags = await listDags(d.db);
    const granted = visible === 'all' ? undefined : new Set(visible);
    return c.json({ dags: (granted === undefined ? dags : dags.filter((x) => granted.has(x.dag_id))).map(dagJson) });
  });
  app.get('/dags/:dagId', async (c) => c.json(dagJson(await getDag(d.db, c.req.param('dagId')))));
  app.patch('/dags/:dagId', async (c) => {
    const body = await c.req.json<{ isPaused?: boolean }>();
    if (typeof body.isPaused === 'boolean') {
      await setPaused(d.db, c.req.param('dagId'), body.isPaused);
      await audit.append({ actor: actor(c), event: body.isPaused ? 'dag.pause' : 'dag.unpause', dagId: c.req.param('dagId') });
    }
    return c.json(dagJson(await getDag(d.db, c.req.param('dagId'))));
  });
  app.get('/dags/:dagId/dagRuns', async (c) => c.json({ dagRuns: (await listDagRuns(d.db, { dagId: c.req.param('dagId') })).map(runJson) }));
  app.post('/dags/:dagId/dagRuns', async (c) => {
    const body = await c.req.json<{ runId?: string; conf?: JsonValue; logicalDate?: string; note?: string }>().catch(() => ({}));
    const run = await triggerDagRun(
      d.db,
      {
        dagId: c.req.param('dagId'),
        ...('runId' in body && body.runId ? { runId: body.runId } : {}),
        ...('conf' in body && body.conf !== undefined ? { conf: body.conf } : {}),
        ...('logicalDate' in body && body.logicalDate ? { logicalDate: Date.parse(body.logicalDate) } : {}),
        ...('note' in body && body.note ? { note: body.note } : {}),
      },
      d.now(),
    );
    await audit.append({ actor: actor(c), event: 'dag.trigger', dagId: run.dag_id, runId: run.run_id });
    d.onTriggered?.();
    return c.json(runJson(run), 201);
  });
  app.post('/dags/:dagId/clearTaskInstances', async (c) => {
    const body = parseClearBody(await c.req.json<unknown>());
    const result = await clearTaskInstances(d.db, { dagId: c.req.param('dagId'), ...body }, d.now(), actor(c));
    if (!result.dryRun && result.taskInstances.length > 0) d.onTriggered?.();
    return c.json(result);
  });
  app.post('/dags/:dagId/backfills', async (c) => {
    const b = parseBody(BackfillBody, 'backfill', await c.req.json<unknown>());
    const result = await createBackfill(
      d.db,
      {
        dagId: c.req.param('dagId'),
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
  app.get('/dags/:dagId/backfills', async (c) => c.json({ backfills: (await listBackfills(d.db, c.req.param('dagId'))).map(backfillJson) }));
  app.get('/dags/:dagId/backfills/:id', async (c) => {
    const id = Number(c.req.param('id'));
    const found = Number.isInteger(id) ? await getBackfill(d.db, id) : undefined;
    if (!found || found.dagId !== c.req.param('dagId')) throw new NotFound(`DAG '${c.req.param('dagId')}' has no backfill '${c.req.param('id')}'`);
    const p = await backfillProgress(d.db, id, d.now());
    return c.json({ ...backfillJson(p.backfill), runs: p.runs, tasks: p.tasks, skipped: p.skipped, complete: p.complete });
  });
  app.get('/dags/:dagId/dagRuns/:runId', async (c) => c.json(runJson(await getDagRun(d.db, c.req.param('dagId'), c.req.param('runId')))));
  app.patch('/dags/:dagId/dagRuns/:runId', async (c) => {
    const body = parseBody(PatchRunBody, 'dagRun', await c.req.json<unknown>());
    const ids = { dagId: c.req.param('dagId'), runId: c.req.param('runId') };
    if (body.note !== undefined) await setDagRunNote(d.db, { ...ids, note: body.note }, d.now(), actor(c));
    if (body.state !== undefined) {
      await markDagRun(d.db, { ...ids, state: body.state }, d.now(), actor(c));
      d.onTriggered?.();
    }
    return c.json(runJson(await getDagRun(d.db, ids.dagId, ids.runId)));
  });
  app.patch('/dags/:dagId/dagRuns/:runId/taskInstances/:taskId', async (c) => {
    const body = parseBody(PatchTiBody, 'taskInstance', await c.req.json<unknown>());
    const result = await markTaskInstances(
      d.db,
      {
        dagId: c.req.param('dagId'),
        runId: c.req.param('runId'),
        taskIds: [c.req.param('taskId')],
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
  app.get('/dags/:dagId/dagRuns/:runId/taskInstances', async (c) =>
    c.json({ taskInstances: (await listTaskInstances(d.db, { dagId: c.req.param('dagId'), runId: c.req.param('runId') })).map(tiJson) }),
  );
  // A try's log from byte `fromByte` (default 0): `{ text, nextByte, ended, source }`, source `store` or `live`.
  app.get('/dags/:dagId/dagRuns/:runId/taskInstances/:taskId/logs/:tryNumber', async (c) => {
    if (d.taskLogs === undefined) throw new NotFound('this API server reads no task logs');
    const tryNumber = Number(c.req.param('tryNumber'));
    const mapIndex = Number(c.req.query('mapIndex') ?? '-1');
    const fromByte = Number(c.req.query('fromByte') ?? '0');
    if (!Number.isInteger(tryNumber) || tryNumber < 1) throw new InvalidArgument(`tryNumber must be an integer ≥ 1, got '${c.req.param('tryNumber')}'`);
    if (!Number.isInteger(mapIndex) || mapIndex < -1) throw new InvalidArgument(`mapIndex must be an integer ≥ -1, got '${c.req.query('mapIndex') ?? ''}'`);
    if (!Number.isInteger(fromByte) || fromByte < 0) throw new InvalidArgument(`fromByte must be an integer ≥ 0, got '${c.req.query('fromByte') ?? ''}'`);
    const key = { dagId: c.req.param('dagId'), runId: c.req.param('runId'), taskId: c.req.param('taskId'), mapIndex, tryNumber };
    return c.json(await readTryLog(key, { handler: d.taskLogs.handler, fromByte, ...(d.taskLogs.live ? { live: d.taskLogs.live } : {}) }));
  });
  return app;
}

/**
 * Body of `POST /dags/:dagId/clearTaskInstances` (Airflow's clearTaskInstances in camelCase): `dryRun`
 * (default true, as in Airflow), `dagRunId`, `taskIds`, `taskRegex`, `includeUpstream`,
 * `includeDownstream`, `onlyFailed`, `startDate`, `endDate` (ISO-8601).
 */
const ClearBody = z
  .object({
    dryRun: z.boolean().default(true),
    dagRunId: z.string().min(1).optional(),
    taskIds: z.array(z.string().min(1)).optional(),
    taskRegex: z.string().optional(),
    includeUpstream: z.boolean().default(false),
    includeDownstream: z.boolean().default(false),
    onlyFailed: z.boolean().default(false),
    startDate: z.iso.datetime({ offset: true }).optional(),
    endDate: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

function parseClearBody(raw: unknown): Omit<ClearRequest, 'dagId'> {
  const parsed = ClearBody.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArgument(`clearTaskInstances: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
  }
  const b = parsed.data;
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
const BackfillBody = z
  .object({
    fromDate: z.string().min(1),
    toDate: z.string().min(1),
    reprocessBehavior: z.enum(REPROCESS_BEHAVIORS as [ReprocessBehavior, ...ReprocessBehavior[]]).default('none'),
    maxActiveRuns: z.number().int().min(1).optional(),
    dagRunConf: z.record(z.string(), z.json()).optional(),
    dryRun: z.boolean().default(false),
  })
  .strict();

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
    note: z.string().nullable().optional(),
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

function parseBody<T>(schema: z.ZodType<T>, what: string, raw: unknown): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArgument(`${what}: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
