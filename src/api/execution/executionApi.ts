/**
 * The Execution API: the only way a task process (local child or pod) talks to Capstan. Every route
 * is scoped by the bearer token to one task try, and acts only while that try is the task instance's
 * current one: `start` while it is queued, everything else while it runs (a `closing` token from `finish`
 * lets the reporting process run its callbacks and ship the rest of its log). Bodies are checked with zod
 * and bounded in size; no input produces a 5xx. The routes call engine services and stores, never SQL.
 *
 *   POST /execution/v1/task-instances/:id/start      claim the try (409 if it is not queued)
 *   POST /execution/v1/task-instances/:id/heartbeat  still running? (returns the current state and a fresh token)
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
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { CapstanError } from '../../core/index.ts';
import type { JsonObject } from '../../core/index.ts';
import type { SerializedDagCache, TaskLifecycle, TryOutcome, TrySuspension } from '../../services/index.ts';
import {
  clearXComs,
  encodeXCom,
  findTaskInstanceById,
  getDagRunById,
  parseNextKwargs,
  previousSuccessfulRun,
  pullMappedXComs,
  pullXCom,
  pushXCom,
  RETURN_VALUE_KEY,
  saveRenderedFields,
  tryStartDate,
  type MetadataDb,
  type TaskInstanceRow,
} from '../../store/index.ts';
import { resolveParams } from '../../scheduler/index.ts';
import { SecretMasker, secretAccessAllows, type SecretsLookup } from '../../secrets/index.ts';
import type { TaskRunContext } from './executionTypes.ts';
import type { TaskTokenClaims, TaskTokenIssuer } from '../../auth/index.ts';
import { errorResponse } from '../errors.ts';
import { TaskLogGapError, type TaskLogHandler } from '../../logging/taskLogs.ts';
import type { TaskLogKey } from '../../logging/taskLogs.ts';

/** Largest log chunk one request may ship; shippers send longer logs in several chunks. */
export const MAX_LOG_CHUNK_BYTES = 4 * 1024 * 1024;

/** Largest JSON body of any other Execution API request, unless configured. */
export const DEFAULT_MAX_JSON_BODY_BYTES = 1024 * 1024;

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
  /** Secrets of this server (signing and encryption keys, the database password), masked in shipped logs. */
  serverSecrets?: readonly string[];
  /** Largest JSON request body. Default 1 MiB, or room for an XCom of `xcomMaxBytes` when that is larger. */
  maxJsonBodyBytes?: number;
}

type Env = { Variables: { claims: TaskTokenClaims } };

/** Thrown when a try may not do what it asked: answered 409 with the task instance's state. */
class NotCurrent extends CapstanError {
  readonly state: string;
  constructor(message: string, state: string) {
    super('conflict', message);
    this.state = state;
  }
}

// Bounds are the columns' (int4 pids and exit codes, varchar lengths, BIGINT epoch ms), so no value reaches
// the database that it would refuse with an error.
const json = z.json();
const INT4_MAX = 2_147_483_647;
/** Epoch ms or a duration in ms, rounded up to whole ms, at most the largest date JavaScript has. */
const millis = z.number().min(0).max(8.64e15).transform(Math.ceil);
const startBody = z.object({ hostname: z.string().min(1).max(1000), pid: z.int().min(0).max(INT4_MAX).nullable(), externalExecutorId: z.string().max(250).nullish() });
const objectBody = z.looseObject({});
const suspensionKinds = [
  z.object({
    kind: z.literal('deferred'),
    trigger: z.object({ classpath: z.string().min(1).max(1000), kwargs: z.record(z.string(), json) }),
    method: z.string().min(1).max(1000),
    kwargs: z.record(z.string(), json),
    timeoutMs: millis.nullable(),
  }),
  z.object({ kind: z.literal('rescheduled'), rescheduleAt: millis }),
] as const;
/**
 * The failures a task process may report: its own, and how a pod it ran ended (a KubernetesPodOperator watches
 * its pod, so an OOM kill or an eviction is recorded as such). What only the scheduler and executor can judge —
 * a lost heartbeat, a configuration error, `unknown` — is not accepted from a task.
 */
const reportedFailure = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('exception'), message: z.string(), failFast: z.boolean().optional() }),
  z.object({ kind: z.literal('timeout'), message: z.string() }),
  z.object({ kind: z.literal('xcom'), message: z.string() }),
  z.object({ kind: z.literal('exitCode'), message: z.string(), exitCode: z.int().min(-INT4_MAX).max(INT4_MAX).nullable(), signal: z.string().nullish() }),
  z.object({ kind: z.literal('oomKilled'), message: z.string(), exitCode: z.int().min(-INT4_MAX).max(INT4_MAX).nullable() }),
  ...(['containerConfigError', 'deadlineExceeded', 'evicted', 'imagePullFailed', 'nodeLost', 'podDeleted', 'unschedulable'] as const)
    .map((kind) => z.object({ kind: z.literal(kind), message: z.string() })),
  z.object({ kind: z.literal('launchFailed'), message: z.string(), permanent: z.boolean().optional() }),
]);

const finishBody = z.object({
  outcome: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('success'), skipTaskIds: z.array(z.string()).optional() }),
    z.object({ kind: z.literal('skipped'), reason: z.string() }),
    // `failure` is what a task process sends; `reason` + `retryable` is the form of workers before failure kinds.
    z
      .object({ kind: z.literal('failed'), failure: reportedFailure.optional(), reason: z.string().optional(), retryable: z.boolean().optional(), exitCode: z.int().min(-INT4_MAX).max(INT4_MAX).nullish() })
      .refine((o) => o.failure !== undefined || o.reason !== undefined, { message: 'a failure (or a reason) is required', path: ['reason'] }),
    ...suspensionKinds,
  ]),
  returnValue: json.optional(),
});
const xcomBody = z.object({ value: json }).refine((b) => 'value' in b, { message: 'value is required', path: ['value'] });
const renderedFieldsBody = z.object({ renderedFields: z.record(z.string(), json) });

/** The request body as JSON checked against `schema`; a 400 naming the field otherwise. */
async function readBody<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch (err) {
    throw new CapstanError('invalid_argument', `request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue === undefined || issue.path.length === 0 ? 'body' : issue.path.map(String).join('.');
  throw new CapstanError('invalid_argument', `${field}: ${issue?.message ?? 'invalid'}`);
}

export function executionApi(d: ExecutionApiDeps): Hono<Env> {
  const app = new Hono<Env>();
  app.onError((err, c) => {
    if (err instanceof NotCurrent) return c.json({ error: { code: 'conflict', message: err.message }, state: err.state }, 409);
    return errorResponse(c, err);
  });
  const tooLarge = (limit: number) => (c: Context) => errorResponse(c, new CapstanError('payload_too_large', `request body is larger than ${limit} bytes`));
  const jsonLimit = d.maxJsonBodyBytes ?? Math.max(DEFAULT_MAX_JSON_BODY_BYTES, d.xcomMaxBytes + 64 * 1024);
  // The log route has its own, larger limit, counted while the body streams in (never buffered past it).
  app.use('*', async (c, next) => {
    const isLogUpload = c.req.method === 'PUT' && /\/task-instances\/[^/]+\/logs$/.test(c.req.path);
    const limit = isLogUpload ? MAX_LOG_CHUNK_BYTES : jsonLimit;
    return bodyLimit({ maxSize: limit, onError: tooLarge(limit) })(c, next);
  });
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

  /** The try's task instance; 401 when it does not exist (a token for nothing), 409 when another try is current. */
  const currentTi = async (claims: TaskTokenClaims): Promise<TaskInstanceRow> => {
    const ti = await findTaskInstanceById(d.db, claims.tiId);
    if (ti === undefined) throw new CapstanError('unauthorized', `task instance ${claims.tiId} does not exist`);
    if (ti.try_number !== claims.tryNumber) throw new NotCurrent(`try ${claims.tryNumber} is not current: the task instance is at try ${ti.try_number}`, ti.state);
    return ti;
  };
  /** For writes: the try must be running (a `closing` token writes nothing but its log). */
  const runningTi = async (claims: TaskTokenClaims): Promise<TaskInstanceRow> => {
    const ti = await currentTi(claims);
    if (claims.phase !== 'run' || ti.state !== 'running') throw new NotCurrent(`the try is ${ti.state}, not running`, ti.state);
    return ti;
  };
  /** For reads: the try runs, or its process reported the end and runs the task's callbacks (`closing` token). */
  const readingTi = async (claims: TaskTokenClaims): Promise<TaskInstanceRow> => {
    const ti = await currentTi(claims);
    if (claims.phase === 'run' && ti.state !== 'running') throw new NotCurrent(`the try is ${ti.state}, not running`, ti.state);
    return ti;
  };

  // Per try, the secrets it was handed, masked (with this server's own) in the log chunks it ships.
  const maskers = new Map<string, SecretMasker>();
  const maskerOf = (claims: TaskTokenClaims): SecretMasker => {
    const k = `${claims.tiId}#${claims.tryNumber}`;
    let m = maskers.get(k);
    if (m === undefined) {
      m = new SecretMasker();
      for (const s of d.serverSecrets ?? []) m.add(s);
      if (maskers.size >= 10_000) maskers.delete(maskers.keys().next().value as string);
      maskers.set(k, m);
    }
    return m;
  };

  app.post('/task-instances/:id/start', async (c) => {
    const claims = claimsFor(c);
    const body = await readBody(c, startBody);
    const result = await d.lifecycle.start({ tiId: claims.tiId, tryNumber: claims.tryNumber }, { hostname: body.hostname, pid: body.pid, ...(body.externalExecutorId === undefined ? {} : { externalExecutorId: body.externalExecutorId }) });
    if (!result.ok && result.state === 'missing') throw new CapstanError('unauthorized', result.reason);
    if (!result.ok) return c.json({ error: { code: 'conflict', message: result.reason }, state: result.state }, 409);
    const ti = result.ti;
    // A try resuming after a deferral keeps what it pushed before deferring (Airflow's rule).
    if (ti.next_method === null) await clearXComs(d.db, ti.dag_run_id, ti.task_id, ti.map_index);
    const tryStart = await tryStartDate(d.db, ti.id, ti.try_number);
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
      tryStartedAt: tryStart ?? ti.start_date ?? d.now(),
      rescheduleCount: ti.reschedule_count,
      resume: ti.next_method === null ? null : { method: ti.next_method, event: next.event ?? null, kwargs: next.kwargs },
      token: d.tokens.refresh(claims, 'run', d.now()),
    };
    return c.json(context);
  });

  app.post('/task-instances/:id/heartbeat', async (c) => {
    const claims = claimsFor(c);
    await readBody(c, objectBody);
    if (claims.phase !== 'run') throw new CapstanError('unauthorized', 'a closing token cannot heartbeat');
    const r = await d.lifecycle.heartbeat({ tiId: claims.tiId, tryNumber: claims.tryNumber });
    if (r.state === 'missing') throw new CapstanError('unauthorized', `task instance ${claims.tiId} does not exist`);
    if (!r.current) return c.json({ error: { code: 'conflict', message: `the try is ${r.state}, not running` }, ...r }, 409);
    return c.json({ ...r, token: d.tokens.refresh(claims, 'run', d.now()) });
  });

  app.post('/task-instances/:id/finish', async (c) => {
    const claims = claimsFor(c);
    const body = await readBody(c, finishBody);
    if (claims.phase !== 'run') throw new CapstanError('unauthorized', 'a closing token cannot finish a try');
    const key = { tiId: claims.tiId, tryNumber: claims.tryNumber };
    const closing = () => d.tokens.refresh(claims, 'closing', d.now());
    const reported = body.outcome;
    if (reported.kind === 'deferred' || reported.kind === 'rescheduled') {
      const suspension: TrySuspension = reported.kind === 'rescheduled' ? { kind: 'rescheduled', rescheduleAt: reported.rescheduleAt } : { kind: 'deferred', trigger: reported.trigger, method: reported.method, kwargs: reported.kwargs, timeoutMs: reported.timeoutMs };
      const state = await d.lifecycle.finish(key, suspension);
      if (state === null) {
        const ti = await currentTi(claims);
        return c.json({ error: { code: 'conflict', message: `the try is ${ti.state}, not running` }, state: ti.state }, 409);
      }
      return c.json({ state, failureReason: null, token: closing() });
    }
    let outcome: TryOutcome =
      reported.kind === 'success'
        ? { kind: 'success', ...(reported.skipTaskIds === undefined ? {} : { skipTaskIds: reported.skipTaskIds }) }
        : reported.kind === 'skipped'
          ? { kind: 'skipped', reason: reported.reason }
          : {
              kind: 'failed',
              failure: reported.failure ?? { kind: 'exception', message: reported.reason ?? '', failFast: reported.retryable === false },
              ...(reported.exitCode === undefined ? {} : { exitCode: reported.exitCode }),
            };
    if (outcome.kind === 'success' && body.returnValue !== undefined) {
      // Only the running try may set its result: a stale token must not overwrite a finished try's XCom.
      const ti = await runningTi(claims);
      try {
        const encoded = encodeXCom({ taskId: ti.task_id }, RETURN_VALUE_KEY, body.returnValue, d.xcomMaxBytes);
        await pushXCom(d.db, { dagRunId: ti.dag_run_id, dagId: ti.dag_id, runId: ti.run_id, taskId: ti.task_id, mapIndex: ti.map_index }, RETURN_VALUE_KEY, encoded, d.now());
      } catch (err) {
        if (!(err instanceof CapstanError)) throw err;
        outcome = { kind: 'failed', failure: { kind: 'xcom', message: err.message } };
      }
    }
    const state = await d.lifecycle.finish(key, outcome);
    if (state === null) {
      const ti = await currentTi(claims);
      return c.json({ error: { code: 'conflict', message: `the try already ended as ${ti.state}` }, state: ti.state }, 409);
    }
    return c.json({ state, failureReason: outcome.kind === 'success' ? null : outcome.kind === 'failed' ? outcome.failure.message : outcome.reason, token: closing() });
  });

  app.put('/task-instances/:id/xcom/:key', async (c) => {
    const claims = claimsFor(c);
    const { value } = await readBody(c, xcomBody);
    const ti = await runningTi(claims);
    const key = c.req.param('key');
    if (key.length > 512) throw new CapstanError('invalid_argument', `an XCom key has at most 512 characters, got ${key.length}`);
    const encoded = encodeXCom({ taskId: ti.task_id }, key, value, d.xcomMaxBytes);
    await pushXCom(d.db, { dagRunId: ti.dag_run_id, dagId: ti.dag_id, runId: ti.run_id, taskId: ti.task_id, mapIndex: ti.map_index }, key, encoded, d.now());
    return c.body(null, 204);
  });

  app.put('/task-instances/:id/rendered-fields', async (c) => {
    const claims = claimsFor(c);
    const { renderedFields } = await readBody(c, renderedFieldsBody);
    await runningTi(claims);
    await saveRenderedFields(d.db, claims.tiId, claims.tryNumber, renderedFields);
    return c.body(null, 204);
  });

  app.get('/task-instances/:id/xcom/:taskId/:key', async (c) => {
    const claims = claimsFor(c);
    const ti = await readingTi(claims);
    const taskId = c.req.param('taskId');
    const mapIndexParam = c.req.query('mapIndex');
    const mapIndex = Number(mapIndexParam ?? '-1');
    if (!Number.isInteger(mapIndex) || mapIndex < -1 || mapIndex > INT4_MAX) throw new CapstanError('invalid_argument', `mapIndex must be an integer ≥ -1, got '${mapIndexParam ?? ''}'`);
    // Without a map index, a mapped task's XCom is the ordered list of its map indexes' values (Airflow's lazy sequence).
    const mappedUpstream = mapIndexParam === undefined && (await d.dags.get(ti.dag_id)).tasks.get(taskId)?.mapping !== undefined;
    const value = mappedUpstream ? await pullMappedXComs(d.db, ti.dag_run_id, taskId, c.req.param('key')) : await pullXCom(d.db, ti.dag_run_id, taskId, c.req.param('key'), mapIndex);
    return c.json({ value: value ?? null, found: value !== undefined });
  });

  const logKey = (ti: TaskInstanceRow): TaskLogKey => ({ dagId: ti.dag_id, runId: ti.run_id, taskId: ti.task_id, mapIndex: ti.map_index, tryNumber: ti.try_number });
  const noLogStore = (c: Context<Env>) => c.json({ error: { code: 'invalid_argument', message: 'this API server keeps no shipped task logs' } }, 501);

  app.get('/task-instances/:id/logs/size', async (c) => {
    const claims = claimsFor(c);
    if (d.logs === undefined) return noLogStore(c);
    const ti = await readingTi(claims);
    return c.json({ size: await d.logs.size(logKey(ti)) });
  });

  app.put('/task-instances/:id/logs', async (c) => {
    const claims = claimsFor(c);
    if (d.logs === undefined) return noLogStore(c);
    const offset = Number(c.req.query('offset'));
    if (!Number.isSafeInteger(offset) || offset < 0) throw new CapstanError('invalid_argument', `offset must be an integer ≥ 0, got '${c.req.query('offset') ?? ''}'`);
    const ti = await readingTi(claims);
    const key = logKey(ti);
    // A try's log ends with the end marker its process writes on close; nothing may follow it unless the
    // try runs again (a deferred or rescheduled try continues in a new process).
    if (ti.state !== 'running' && (await endsWithEndMarker(d.logs, key))) throw new NotCurrent('the try\'s log is complete (it ends with the end-of-log marker)', ti.state);
    const chunk = maskerOf(claims).maskBytes(new Uint8Array(await c.req.arrayBuffer()));
    try {
      return c.json(await d.logs.write(key, offset, chunk));
    } catch (err) {
      if (err instanceof TaskLogGapError) return c.json({ error: { code: 'conflict', message: err.message }, size: err.size }, 409);
      throw err;
    }
  });

  /** The DAG's `secretAccess` allows `kind`/`key`, else a 403 naming it. */
  const mayRead = async (c: Context<Env>, ti: TaskInstanceRow, kind: 'variables' | 'connections', key: string): Promise<Response | undefined> => {
    const access = (await d.dags.get(ti.dag_id)).dag.secretAccess;
    if (secretAccessAllows(access, kind, key)) return undefined;
    const what = kind === 'variables' ? 'variable' : 'connection';
    return errorResponse(c, new CapstanError('forbidden', `DAG '${ti.dag_id}' may not read ${what} '${key}'`, { hint: `add it to the DAG's secretAccess.${kind}` }));
  };

  app.get('/variables/:key', async (c) => {
    const claims = c.get('claims');
    const ti = await readingTi(claims);
    const key = c.req.param('key');
    const refused = await mayRead(c, ti, 'variables', key);
    if (refused) return refused;
    const value = await d.secrets.getVariable(key);
    if (value !== undefined) maskerOf(claims).addVariable(key, value);
    return c.json({ value: value ?? null, found: value !== undefined });
  });

  app.get('/connections/:connId', async (c) => {
    const claims = c.get('claims');
    const ti = await readingTi(claims);
    const connId = c.req.param('connId');
    const refused = await mayRead(c, ti, 'connections', connId);
    if (refused) return refused;
    const conn = await d.secrets.requireConnection(connId);
    maskerOf(claims).addConnection(conn);
    return c.json(conn);
  });

  return app;
}

/** Whether the stored log's last line is the end-of-log marker. */
async function endsWithEndMarker(logs: TaskLogHandler, key: TaskLogKey): Promise<boolean> {
  const size = await logs.size(key);
  if (size === 0) return false;
  return (await logs.read(key, { fromByte: Math.max(0, size - 512) })).ended;
}
