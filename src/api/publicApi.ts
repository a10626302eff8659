/**
 * The public REST API (`/api/v1`): DAGs, runs and task instances. Routes call stores and engine
 * services; they hold no SQL.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { InvalidArgument } from '../core/errors.ts';
import type { JsonValue } from '../core/serialized.ts';
import { clearTaskInstances, type ClearRequest } from '../engine/clear.ts';
import { markDagRun, markTaskInstances, setDagRunNote } from '../engine/mark.ts';
import { triggerDagRun } from '../engine/triggerRun.ts';
import type { MetadataDb } from '../store/db.ts';
import { getDag, listDags, setPaused } from '../store/dags.ts';
import { getDagRun, listDagRuns } from '../store/dagRuns.ts';
import { listTaskInstances } from '../store/taskInstances.ts';
import { AuditLog } from '../store/auditLog.ts';
import { errorResponse } from './errors.ts';
import { dagJson, runJson, tiJson } from './views.ts';

export interface PublicApiDeps {
  db: MetadataDb;
  now: () => number;
  /** Called after a run is triggered, e.g. to wake a scheduler in the same process. */
  onTriggered?: () => void;
}

export function publicApi(d: PublicApiDeps): Hono {
  const app = new Hono();
  const audit = new AuditLog(d.db);
  app.onError((err, c) => errorResponse(c, err));

  app.get('/dags', async (c) => c.json({ dags: (await listDags(d.db)).map(dagJson) }));
  app.get('/dags/:dagId', async (c) => c.json(dagJson(await getDag(d.db, c.req.param('dagId')))));
  app.patch('/dags/:dagId', async (c) => {
    const body = await c.req.json<{ isPaused?: boolean }>();
    if (typeof body.isPaused === 'boolean') {
      await setPaused(d.db, c.req.param('dagId'), body.isPaused);
      await audit.append({ actor: 'api', event: body.isPaused ? 'dag.pause' : 'dag.unpause', dagId: c.req.param('dagId') });
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
    await audit.append({ actor: 'api', event: 'dag.trigger', dagId: run.dag_id, runId: run.run_id });
    d.onTriggered?.();
    return c.json(runJson(run), 201);
  });
  app.post('/dags/:dagId/clearTaskInstances', async (c) => {
    const body = parseClearBody(await c.req.json<unknown>());
    const result = await clearTaskInstances(d.db, { dagId: c.req.param('dagId'), ...body }, d.now(), 'api');
    if (!result.dryRun && result.taskInstances.length > 0) d.onTriggered?.();
    return c.json(result);
  });
  app.get('/dags/:dagId/dagRuns/:runId', async (c) => c.json(runJson(await getDagRun(d.db, c.req.param('dagId'), c.req.param('runId')))));
  app.patch('/dags/:dagId/dagRuns/:runId', async (c) => {
    const body = parseBody(PatchRunBody, 'dagRun', await c.req.json<unknown>());
    const ids = { dagId: c.req.param('dagId'), runId: c.req.param('runId') };
    if (body.note !== undefined) await setDagRunNote(d.db, { ...ids, note: body.note }, d.now(), 'api');
    if (body.state !== undefined) {
      await markDagRun(d.db, { ...ids, state: body.state }, d.now(), 'api');
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
      'api',
    );
    if (!result.dryRun && result.taskInstances.length > 0) d.onTriggered?.();
    return c.json(result);
  });
  app.get('/dags/:dagId/dagRuns/:runId/taskInstances', async (c) =>
    c.json({ taskInstances: (await listTaskInstances(d.db, { dagId: c.req.param('dagId'), runId: c.req.param('runId') })).map(tiJson) }),
  );
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
