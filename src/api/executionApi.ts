/**
 * The Execution API: the only way a task process (local child or pod) talks to Capstan. Every route
 * is scoped by the bearer token to one task try; the routes call engine services and stores, never SQL.
 *
 *   POST /execution/v1/task-instances/:id/start      claim the try (409 if it is not queued)
 *   POST /execution/v1/task-instances/:id/heartbeat  still running? (returns the current state)
 *   POST /execution/v1/task-instances/:id/finish     outcome (+ skipTaskIds on success) + return value, or a
 *                                                    suspension: `deferred` (trigger, method, kwargs, timeoutMs)
 *                                                    or `rescheduled` (rescheduleAt)
 *   PUT  /execution/v1/task-instances/:id/xcom/:key  push
 *   PUT  /execution/v1/task-instances/:id/rendered-fields  the try's rendered template fields
 *   GET  /execution/v1/task-instances/:id/xcom/:taskId/:key?mapIndex=  pull within the same run
 *   PUT  /execution/v1/task-instances/:id/logs?offset=N  ship a chunk of the try's log (raw bytes) to the log store
 *   GET  /execution/v1/task-instances/:id/logs/size  bytes of the try's log the store holds
 *   GET  /execution/v1/variables/:key, /execution/v1/connections/:connId
 */
import { Hono, type Context } from 'hono';
import { CapstanError } from '../core/errors.ts';
import type { JsonObject, JsonValue } from '../core/serialized.ts';
import type { SerializedDagCache } from '../engine/dagCache.ts';
import type { TaskLifecycle, TryOutcome, TrySuspension } from '../engine/taskLifecycle.ts';
import { parseNextKwargs } from '../store/triggers.ts';
import { resolveParams } from '../scheduler/params.ts';
import type { SecretsLookup } from '../secrets/index.ts';
import type { MetadataDb } from '../store/db.ts';
import { getDagRunById, previousSuccessfulRun } from '../store/dagRuns.ts';
import { saveRenderedFields } from '../store/renderedFields.ts';
import { getTaskInstance } from '../store/taskInstances.ts';
import { clearXComs, encodeXCom, pullMappedXComs, pullXCom, pushXCom, RETURN_VALUE_KEY } from '../store/xcom.ts';
import type { TaskRunContext } from './executionTypes.ts';
import type { TaskTokenClaims, TaskTokenIssuer } from './taskToken.ts';
import { errorResponse } from './errors.ts';
import { TaskLogGapError, type TaskLogHandler } from '../logging/logHandler.ts';
import type { TaskLogKey } from '../logging/taskLog.ts';

/** Largest log chunk one request may ship; shippers send longer logs in several chunks. */
export const MAX_LOG_CHUNK_BYTES = 4 * 1024 * 1024;

export interface ExecutionApiDeps {
  db: MetadataDb;
  lifecycle: TaskLifecycle;
  dags: SerializedDagCache;
  tokens: TaskTokenIssuer;
  secrets: SecretsLookup;
  xcomMaxBytes: number;
  now: () => number;
  /** Where shipped task logs are stored; without it the logs route answers 501. */
  logs?: TaskLogHandler;
}

type Env = { Variables: { claims: TaskTokenClaims } };

export function executionApi(d: ExecutionApiDeps): Hono<Env> {
  const app = new Hono<Env>();
  app.onError((err, c) => errorResponse(c, err));
  app.use('*', async (c, next) => {
    const auth = c.req.header('authorization') ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    c.set('claims', d.tokens.verify(token, d.now()));
    await next();
  });

  const claimsFor = (c: Context<Env>): TaskTokenClaims => {
    const claims = c.get('claims');
    if (claims.tiId !== c.req.param('id')) throw new CapstanError('unauthorized', 'this token is for another task instance');
    return claims;
  };

  app.post('/task-instances/:id/start', async (c) => {
    const claims = claimsFor(c);
    const body = await c.req.json<{ hostname: string; pid: number | null; externalExecutorId?: string | null }>();
    const result = await d.lifecycle.start({ tiId: claims.tiId, tryNumber: claims.tryNumber }, body);
    if (!result.ok) return c.json({ error: { code: 'conflict', message: result.reason }, state: result.state }, 409);
    const ti = result.ti;
    // A try resuming after a deferral keeps what it pushed before deferring (Airflow's rule).
    if (ti.next_method === null) await clearXComs(d.db, ti.dag_run_id, ti.task_id, ti.map_index);
    const tryRow = await d.db.db.selectFrom('task_instance_try').select('start_date').where('ti_id', '=', ti.id).where('try_number', '=', ti.try_number).executeTakeFirst();
    const next = parseNextKwargs(ti.next_kwargs);
    const run = await getDagRunById(d.db, ti.dag_run_id);
    const dag = await d.dags.get(ti.dag_id);
    const conf = JSON.parse(run.conf) as JsonObject;
    const prev = run.logical_date === null ? undefined : await previousSuccessfulRun(d.db, ti.dag_id, run.logical_date);
    const context: TaskRunContext = {
      tiId: ti.id,
      tryNumber: ti.try_number,
      maxTries: ti.max_tries + 1,
      dagId: ti.dag_id,
      taskId: ti.task_id,
      runId: ti.run_id,
      dagRunId: ti.dag_run_id,
      mapIndex: ti.map_index,
      runType: run.run_type,
      logicalDate: run.logical_date,
      dataIntervalStart: run.data_interval_start,
      dataIntervalEnd: run.data_interval_end,
      prevDataIntervalStartSuccess: prev?.data_interval_start ?? null,
      prevDataIntervalEndSuccess: prev?.data_interval_end ?? null,
      conf,
      params: resolveParams(dag.dag, conf),
      fileloc: dag.dag.fileloc,
      executionTimeoutMs: dag.tasks.get(ti.task_id)?.executionTimeoutMs ?? null,
      tryStartedAt: tryRow?.start_date ?? ti.start_date ?? d.now(),
      rescheduleCount: ti.reschedule_count,
      resume: ti.next_method === null ? null : { method: ti.next_method, event: next.event ?? null, kwargs: next.kwargs },
    };
    return c.json(context);
  });

  app.post('/task-instances/:id/heartbeat', async (c) => {
    const claims = claimsFor(c);
    const r = await d.lifecycle.heartbeat({ tiId: claims.tiId, tryNumber: claims.tryNumber });
    return c.json(r, r.current ? 200 : 409);
  });

  app.post('/task-instances/:id/finish', async (c) => {
    const claims = claimsFor(c);
    const body = await c.req.json<{ outcome: TryOutcome | TrySuspension; returnValue?: JsonValue }>();
    const key = { tiId: claims.tiId, tryNumber: claims.tryNumber };
    if (body.outcome.kind === 'deferred' || body.outcome.kind === 'rescheduled') {
      const suspension = checkSuspension(body.outcome);
      const state = await d.lifecycle.finish(key, suspension);
      if (state === null) {
        const ti = await getTaskInstance(d.db, claims.tiId);
        return c.json({ error: { code: 'conflict', message: `the try is ${ti.state}, not running` }, state: ti.state }, 409);
      }
      return c.json({ state, failureReason: null });
    }
    let outcome: TryOutcome = body.outcome;
    if (outcome.kind === 'success' && outcome.skipTaskIds !== undefined && !(Array.isArray(outcome.skipTaskIds) && outcome.skipTaskIds.every((t) => typeof t === 'string'))) {
      throw new CapstanError('invalid_argument', 'outcome.skipTaskIds must be a list of task ids');
    }
    if (outcome.kind === 'success' && body.returnValue !== undefined) {
      const ti = await getTaskInstance(d.db, claims.tiId);
      try {
        const encoded = encodeXCom({ taskId: ti.task_id }, RETURN_VALUE_KEY, body.returnValue, d.xcomMaxBytes);
        await pushXCom(d.db, { dagRunId: ti.dag_run_id, dagId: ti.dag_id, runId: ti.run_id, taskId: ti.task_id, mapIndex: ti.map_index }, RETURN_VALUE_KEY, encoded, d.now());
      } catch (err) {
        if (!(err instanceof CapstanError)) throw err;
        outcome = { kind: 'failed', reason: err.message, retryable: true };
      }
    }
    const state = await d.lifecycle.finish(key, outcome);
    if (state === null) {
      const ti = await getTaskInstance(d.db, claims.tiId);
      return c.json({ error: { code: 'conflict', message: `the try already ended as ${ti.state}` }, state: ti.state }, 409);
    }
    return c.json({ state, failureReason: outcome.kind === 'success' ? null : outcome.reason });
  });

  app.put('/task-instances/:id/xcom/:key', async (c) => {
    const claims = claimsFor(c);
    const ti = await getTaskInstance(d.db, claims.tiId);
    const key = c.req.param('key');
    const value = (await c.req.json<{ value: JsonValue }>()).value;
    const encoded = encodeXCom({ taskId: ti.task_id }, key, value, d.xcomMaxBytes);
    await pushXCom(d.db, { dagRunId: ti.dag_run_id, dagId: ti.dag_id, runId: ti.run_id, taskId: ti.task_id, mapIndex: ti.map_index }, key, encoded, d.now());
    return c.body(null, 204);
  });

  app.put('/task-instances/:id/rendered-fields', async (c) => {
    const claims = claimsFor(c);
    const body = await c.req.json<{ renderedFields: unknown }>();
    const rendered = body.renderedFields;
    if (typeof rendered !== 'object' || rendered === null || Array.isArray(rendered)) throw new CapstanError('invalid_argument', 'renderedFields must be a JSON object');
    await saveRenderedFields(d.db, claims.tiId, claims.tryNumber, rendered as JsonObject);
    return c.body(null, 204);
  });

  app.get('/task-instances/:id/xcom/:taskId/:key', async (c) => {
    const claims = claimsFor(c);
    const ti = await getTaskInstance(d.db, claims.tiId);
    const taskId = c.req.param('taskId');
    const mapIndexParam = c.req.query('mapIndex');
    // Without a map index, a mapped task's XCom is the ordered list of its map indexes' values (Airflow's lazy sequence).
    const mappedUpstream = mapIndexParam === undefined && (await d.dags.get(ti.dag_id)).tasks.get(taskId)?.mapping !== undefined;
    const value = mappedUpstream
      ? await pullMappedXComs(d.db, ti.dag_run_id, taskId, c.req.param('key'))
      : await pullXCom(d.db, ti.dag_run_id, taskId, c.req.param('key'), Number(mapIndexParam ?? '-1'));
    return c.json({ value: value ?? null, found: value !== undefined });
  });

  const logKey = async (claims: TaskTokenClaims): Promise<TaskLogKey> => {
    const ti = await getTaskInstance(d.db, claims.tiId);
    return { dagId: ti.dag_id, runId: ti.run_id, taskId: ti.task_id, mapIndex: ti.map_index, tryNumber: claims.tryNumber };
  };
  const noLogStore = (c: Context<Env>) => c.json({ error: { code: 'invalid_argument', message: 'this API server keeps no shipped task logs' } }, 501);

  app.get('/task-instances/:id/logs/size', async (c) => {
    const claims = claimsFor(c);
    if (d.logs === undefined) return noLogStore(c);
    return c.json({ size: await d.logs.size(await logKey(claims)) });
  });

  app.put('/task-instances/:id/logs', async (c) => {
    const claims = claimsFor(c);
    if (d.logs === undefined) return noLogStore(c);
    const offset = Number(c.req.query('offset'));
    if (!Number.isInteger(offset) || offset < 0) throw new CapstanError('invalid_argument', `offset must be an integer ≥ 0, got '${c.req.query('offset') ?? ''}'`);
    const chunk = new Uint8Array(await c.req.arrayBuffer());
    if (chunk.length > MAX_LOG_CHUNK_BYTES) throw new CapstanError('invalid_argument', `a log chunk holds at most ${MAX_LOG_CHUNK_BYTES} bytes, got ${chunk.length}`);
    try {
      return c.json(await d.logs.write(await logKey(claims), offset, chunk));
    } catch (err) {
      if (err instanceof TaskLogGapError) return c.json({ error: { code: 'conflict', message: err.message }, size: err.size }, 409);
      throw err;
    }
  });

  app.get('/variables/:key', async (c) => {
    const value = await d.secrets.getVariable(c.req.param('key'));
    return c.json({ value: value ?? null, found: value !== undefined });
  });

  app.get('/connections/:connId', async (c) => {
    const conn = await d.secrets.requireConnection(c.req.param('connId'));
    return c.json(conn);
  });

  return app;
}

/** A suspension from the wire, checked field by field (it becomes a trigger row or a reschedule date). */
function checkSuspension(o: TrySuspension): TrySuspension {
  const bad = (field: string, expected: string) => new CapstanError('invalid_argument', `outcome.${field} must be ${expected}`);
  if (o.kind === 'rescheduled') {
    if (typeof o.rescheduleAt !== 'number' || !Number.isFinite(o.rescheduleAt)) throw bad('rescheduleAt', 'epoch milliseconds');
    return { kind: 'rescheduled', rescheduleAt: o.rescheduleAt };
  }
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(o.trigger) || typeof o.trigger.classpath !== 'string' || o.trigger.classpath === '') throw bad('trigger.classpath', 'a non-empty string');
  if (!isObject(o.trigger.kwargs)) throw bad('trigger.kwargs', 'a JSON object');
  if (typeof o.method !== 'string' || o.method === '') throw bad('method', 'the name of the method to resume in');
  if (!isObject(o.kwargs)) throw bad('kwargs', 'a JSON object');
  if (o.timeoutMs !== null && (typeof o.timeoutMs !== 'number' || o.timeoutMs < 0)) throw bad('timeoutMs', 'null or a duration in ms');
  return { kind: 'deferred', trigger: { classpath: o.trigger.classpath, kwargs: o.trigger.kwargs }, method: o.method, kwargs: o.kwargs, timeoutMs: o.timeoutMs };
}
