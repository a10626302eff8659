/**
 * Property-based fuzzing of every route of the API server — the REST API, /auth, /health, /metrics and the
 * Execution API, enumerated from the Hono app's own `app.routes` so a new route is covered without editing
 * this file. For each route, fast-check generates bad requests: wrong and random methods, JSON of the wrong
 * shape, non-JSON, huge and deeply nested bodies, odd content types, path parameters with unicode, NUL,
 * `..` and 5,000 characters, random query strings, random Origins and Authorization headers. A share of the
 * requests carries a valid admin token (REST) or a valid task token of a real queued or running task
 * instance (Execution API), so they reach the handlers. A request fails the test when it answers 5xx, when
 * it takes longer than {@link REQUEST_TIMEOUT_MS}, when an error body is not the `{ error: { code, message } }`
 * shape or names a server path, and when a refused (4xx) request changed stored state — every mutable table
 * is hashed before and after (the audit log, which records refusals by design, and last-used/last-login
 * stamps are left out).
 *
 * The engine is real (SQLite in a temp dir, DAG files parsed by the DAG processor, runs and task instances
 * created by the scheduler), with an executor that launches nothing, so no state moves behind the test's back.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { createEngine, type Engine } from '../../src/app/components.ts';
import { createApiAppFor, createDagProcessor, createScheduler } from '../../src/app/roles.ts';
import { listen, type RunningServer } from '../../src/api/server.ts';
import { loadConfig } from '../../src/config/index.ts';
import { triggerDagRun } from '../../src/services/triggerRun.ts';
import type { Executor, TaskWorkload } from '../../src/executors/types.ts';
import { openMetadataDb, type MetadataDb } from '../../src/store/db.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import type { TaskInstanceRow } from '../../src/store/schema.ts';
import { listTaskInstances } from '../../src/store/taskInstances.ts';

/** Generated requests per route. */
const RUNS_PER_ROUTE = 200;
/** A request slower than this is a hang. */
const REQUEST_TIMEOUT_MS = 5_000;
/** A new seed every run, so CI explores new inputs; a failure prints it, and FUZZ_SEED=<seed> replays that run. */
const SEED = process.env['FUZZ_SEED'] === undefined ? Date.now() % 2 ** 31 : Number(process.env['FUZZ_SEED']);

/** Queues tries and never starts them: the fuzzer plays the task processes. */
class IdleExecutor implements Executor {
  readonly name = 'IdleExecutor';
  readonly queued: TaskWorkload[] = [];
  async start(): Promise<void> {}
  openSlots(): number {
    return 100;
  }
  queueWorkloads(w: TaskWorkload[]): void {
    this.queued.push(...w);
  }
  async sync() {
    return [];
  }
  async terminate(): Promise<void> {}
  async tryAdopt(tis: TaskInstanceRow[]): Promise<TaskInstanceRow[]> {
    return tis;
  }
  async end(): Promise<void> {}
}

const DAG = `
import { dag, task } from 'capstan';
const a = task({ taskId: 'a' }, () => 1);
const b = task({ taskId: 'b' }, () => 2);
export default dag({ dagId: 'fuzz_dag', schedule: null, params: { n: 1 } }, () => { a(); b(); });
`;

/** Who a request claims to be; {@link authorization} turns it into the header (the one place auth is built). */
type Caller = 'admin' | 'queuedTask' | 'runningTask' | 'garbage' | 'none';

interface Fixture {
  engine: Engine;
  home: string;
  dbFile: string;
  adminToken: string;
  queued: TaskInstanceRow;
  running: TaskInstanceRow;
  queuedToken: string;
  runningToken: string;
}

function authorization(f: Fixture, caller: Caller, garbage: string): Record<string, string> {
  switch (caller) {
    case 'admin':
      return { authorization: `Bearer ${f.adminToken}` };
    case 'queuedTask':
      return { authorization: `Bearer ${f.queuedToken}` };
    case 'runningTask':
      return { authorization: `Bearer ${f.runningToken}` };
    case 'garbage':
      return { authorization: garbage };
    case 'none':
      return {};
  }
}

/**
 * A digest of every table a request may change, read through a separate read-only connection. Left out:
 * the audit log (refusals are recorded by design), and the stamps authentication itself writes.
 */
function snapshotter(dbFile: string): { digest(): string; close(): void } {
  const reader = new DatabaseSync(dbFile, { readOnly: true });
  const tables = (reader.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT IN ('audit_log', 'kysely_migration', 'kysely_migration_lock') ORDER BY name`).all() as Array<{ name: string }>).map((r) => r.name);
  const volatile: Record<string, string[]> = { api_token: ['last_used_at'], app_user: ['last_login_at'] };
  const statements = tables.map((t) => reader.prepare(`SELECT * FROM "${t}" ORDER BY rowid`));
  return {
    digest() {
      const h = createHash('sha256');
      statements.forEach((s, i) => {
        const table = tables[i] as string;
        h.update(table);
        for (const row of s.all()) {
          for (const col of volatile[table] ?? []) delete (row as Record<string, unknown>)[col];
          h.update(JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)));
        }
      });
      return h.digest('hex');
    },
    close: () => reader.close(),
  };
}

/** Known-good values of path parameters, so a share of requests addresses real things. */
function knownParams(f: Fixture, caller: Caller): Record<string, string[]> {
  const tiIds = caller === 'queuedTask' ? [f.queued.id] : caller === 'runningTask' ? [f.running.id] : [f.queued.id, f.running.id];
  return {
    dagId: ['fuzz_dag', '~'],
    dagRunId: ['r1', '~'],
    taskId: ['a', 'b'],
    tryNumber: ['1'],
    id: tiIds,
    key: ['return_value', 'k'],
    connId: ['conn'],
    username: ['fuzz_victim', 'nobody'],
    tokenId: ['nosuchtoken0'],
    connectionId: ['conn', 'fuzz_conn'],
    variableKey: ['var', 'fuzz_var'],
    poolName: ['default_pool', 'no_pool'],
    xcomKey: ['return_value'],
    backfillId: ['1'],
    eventLogId: ['1'],
    roleName: ['no-such-role'],
  };
}

const FIELD_NAMES = [
  'runId', 'conf', 'logicalDate', 'note', 'isPaused', 'state', 'newState', 'dryRun', 'taskIds', 'taskRegex', 'dagRunId', 'includeUpstream',
  'fromDate', 'toDate', 'reprocessBehavior', 'maxActiveRuns', 'dagRunConf', 'username', 'password', 'role', 'name', 'baseRole', 'dagIds',
  'active', 'expiresInMs', 'outcome', 'kind', 'hostname', 'pid', 'value', 'renderedFields', 'returnValue', 'reason', 'retryable',
  'connectionId', 'connType', 'host', 'port', 'login', 'schema', 'extra', 'key', 'description', 'slots', 'includeDeferred', 'dagId',
];

/** Strings that break naive handling: control characters, unicode, traversal, shell syntax, huge. */
const nasty = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', '\u0000', 'a\u0000b', '\u001b[31mred', '..', '../../etc/passwd', '%2e%2e', 'r$(id>pwned)', '${7*7}', '{{7*7}}', '\u202e', '😀', 'NaN', '-1', '1e400', '0x10', ' 1', 'true', 'null'),
  fc.integer({ min: 251, max: 5000 }).map((n) => 'x'.repeat(n)),
);

/** JSON-ish values of any shape, including extremes. */
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: nasty },
  { weight: 1, arbitrary: fc.constantFrom(1e308, -0, Number.MAX_SAFE_INTEGER + 2, 2 ** 31, -(2 ** 31) - 1, 123.0, true, null, [], {}) },
  { weight: 1, arbitrary: fc.integer({ min: 33, max: 200 }).map((d) => JSON.parse('['.repeat(d) + ']'.repeat(d)) as unknown) },
  { weight: 1, arbitrary: fc.integer({ min: 30, max: 70 }).map((d) => JSON.parse('{"a":'.repeat(d) + '1' + '}'.repeat(d)) as unknown) },
);

/** A request body as text: JSON of the wrong shape, objects of known fields with wrong values, non-JSON, huge, deep. */
const body = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.string({ maxLength: 8 })), value, { maxKeys: 5 }).map((o) => JSON.stringify(o)) },
  { weight: 2, arbitrary: value.map((v) => JSON.stringify(v) ?? 'null') },
  { weight: 1, arbitrary: fc.constantFrom('null', '123', '"str"', 'true', '{', '{"a":', '[]', 'a=1&b=2', '<xml/>', '\u0000', '{"conf":{"a":1}}garbage') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.integer({ min: 2000, max: 6000 }).map((d) => '{"conf":'.repeat(1) + '{"a":'.repeat(d) + '1' + '}'.repeat(d + 1)) },
  { weight: 1, arbitrary: fc.constantFrom(64 * 1024 + 10, 1024 * 1024 + 10, 5 * 1024 * 1024).map((n) => JSON.stringify({ conf: { big: 'x'.repeat(n) } })) },
);

const contentType = fc.oneof(
  { weight: 5, arbitrary: fc.constant('application/json') },
  { weight: 3, arbitrary: fc.constantFrom(undefined, 'text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/json; charset=utf-8', 'application/merge-patch+json', 'APPLICATION/JSON', 'json', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);

const query = fc.option(
  fc.array(fc.tuple(fc.oneof(fc.constantFrom('limit', 'offset', 'mapIndex', 'fromByte', 'dagId', 'since', 'username', 'includeRevoked', 'x'), fc.string({ maxLength: 10 })), fc.oneof(fc.constantFrom('0', '1', '1001', '-1', '1e3', '99999999999999999999', 'abc', ''), nasty)), { maxLength: 4 }),
  { nil: undefined },
);

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

interface Route {
  method: string;
  path: string;
}

/** One generated request for `route`. */
function requestFor(f: Fixture, route: Route): fc.Arbitrary<{ method: string; url: string; headers: Record<string, string>; body: string | undefined }> {
  const isTask = route.path.startsWith('/execution/');
  const caller: fc.Arbitrary<Caller> = isTask
    ? fc.constantFrom<Caller>('queuedTask', 'runningTask', 'runningTask', 'garbage', 'none', 'admin')
    : fc.constantFrom<Caller>('admin', 'admin', 'admin', 'garbage', 'none', 'queuedTask');
  const names = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1] as string);
  return caller.chain((who) => {
    const known = knownParams(f, who);
    const param = (name: string) => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...(known[name] ?? ['x'])) }, { weight: 2, arbitrary: nasty.filter((s) => s !== '') });
    return fc.record({
      who: fc.constant(who),
      method: fc.oneof({ weight: 6, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
      params: fc.tuple(...names.map(param)),
      query,
      body,
      contentType,
      garbage: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('Bearer', 'Bearer ', 'Basic YWRtaW46YWRtaW4=', 'Bearer a.b.c', `Bearer ${'x'.repeat(5000)}`)),
      origin: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('https://evil.example', 'null', 'http://localhost', 'http://127.0.0.1') }),
      fetchSite: fc.oneof({ weight: 10, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('cross-site', 'same-origin', 'none') }),
    });
  }).map((r) => {
    let i = 0;
    const path = route.path.replace(/:(\w+)/g, () => encodeURIComponent(r.params[i++] ?? 'x'));
    const qs = r.query === undefined ? '' : `?${new URLSearchParams(r.query).toString()}`;
    const withBody = r.method !== 'GET' && r.method !== 'HEAD' && r.body !== undefined;
    const headers: Record<string, string> = { ...authorization(f, r.who, r.garbage) };
    if (withBody && r.contentType !== undefined) headers['content-type'] = r.contentType;
    if (r.origin !== undefined) headers['origin'] = r.origin;
    if (r.fetchSite !== undefined) headers['sec-fetch-site'] = r.fetchSite;
    return { method: r.method, url: `http://127.0.0.1${path}${qs}`, headers, body: withBody ? r.body : undefined };
  });
}

async function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms: ${what}`)), REQUEST_TIMEOUT_MS);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('API fuzzing: every route, bad inputs', () => {
  let f: Fixture;
  let db: MetadataDb;
  let app: ReturnType<typeof createApiAppFor>;
  let snap: ReturnType<typeof snapshotter>;
  let server: RunningServer;

  before(async () => {
    const home = mkdtempSync(join(tmpdir(), 'capstan-fuzz-'));
    const config = loadConfig({
      env: {
        CAPSTAN_HOME: home,
        CAPSTAN__CORE__LOAD_EXAMPLES: 'false',
        CAPSTAN__API__PORT: '0',
        CAPSTAN__LOGGING__LEVEL: 'error',
        CAPSTAN__AUTH__PASSWORD_HASH_COST: '10',
      },
    });
    mkdirSync(config.core.dagsFolder, { recursive: true });
    writeFileSync(join(config.core.dagsFolder, 'fuzz.ts'), DAG);
    const dbFile = join(home, 'capstan.db');
    db = openMetadataDb(`sqlite://${dbFile}`);
    await migrateToLatest(db);
    const engine = createEngine(config, { db });
    await createDagProcessor(engine).processOnce();
    const executor = new IdleExecutor();
    await triggerDagRun(db, { dagId: 'fuzz_dag', runId: 'r1' }, engine.now());
    await createScheduler(engine, executor).runOnce();
    const tis = await listTaskInstances(db, { dagId: 'fuzz_dag', runId: 'r1' });
    const queued = tis.find((t) => t.task_id === 'a');
    const toStart = tis.find((t) => t.task_id === 'b');
    assert.ok(queued?.state === 'queued' && toStart?.state === 'queued', `both tasks queued: ${tis.map((t) => `${t.task_id}=${t.state}`).join(', ')}`);
    const admin = await engine.auth.createUser({ username: 'admin', password: 'fuzz-admin-password', role: 'Admin' });
    await engine.auth.createUser({ username: 'fuzz_victim', password: 'fuzz-victim-password', role: 'Viewer' });
    const { token: adminToken } = await engine.auth.createApiToken(await engine.auth.principalFor(admin), { name: 'fuzz' });
    app = createApiAppFor(engine);
    const started = await app.request(`/execution/v1/task-instances/${toStart.id}/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${engine.tokens.issue(toStart.id, toStart.try_number, Date.now())}`, 'content-type': 'application/json' },
      body: JSON.stringify({ hostname: 'fuzz', pid: process.pid }),
    });
    assert.equal(started.status, 200, await started.clone().text());
    const runningToken = ((await started.json()) as { token: string }).token;
    f = {
      engine,
      home,
      dbFile,
      adminToken,
      queued,
      running: { ...toStart, state: 'running' },
      queuedToken: engine.tokens.issue(queued.id, queued.try_number, Date.now()),
      runningToken,
    };
    snap = snapshotter(dbFile);
    server = await listen(app, '127.0.0.1', 0);
  });

  after(async () => {
    await server?.close();
    snap?.close();
    await db?.close();
    if (f) rmSync(f.home, { recursive: true, force: true });
  });

  /** Send one request in process and check every property; returns the status. */
  const check = async (req: { method: string; url: string; headers: Record<string, string>; body: string | undefined }, before: string): Promise<{ status: number; digest: string }> => {
    const what = `${req.method} ${req.url.slice(0, 300)} ${JSON.stringify(req.headers).slice(0, 200)} body=${JSON.stringify(req.body?.slice(0, 200))}`;
    const res = await withTimeout(Promise.resolve(app.request(req.url, { method: req.method, headers: req.headers, ...(req.body === undefined ? {} : { body: req.body }) })), what);
    // A live stream (SSE) that opened is an answer: its first bytes are all there is to check.
    const streaming = res.headers.get('content-type')?.startsWith('text/event-stream') === true;
    if (streaming) await res.body?.cancel();
    const text = streaming ? '' : await withTimeout(res.text(), what);
    // /health answers 503 when it reports unhealthy (no scheduler runs here): its report, not an error.
    const unhealthyReport = new URL(req.url).pathname === '/health' && res.status === 503 && (req.method === 'HEAD' || text.includes('"status":"unhealthy"'));
    assert.ok(res.status < 500 || unhealthyReport, `${res.status} for ${what}: ${text.slice(0, 300)}`);
    // Successful answers may name DAG files (fileloc) to a signed-in caller; a refusal never names a path.
    if (res.status >= 400) assert.ok(!text.includes(f.home), `an error answer names a server path: ${what}: ${text.slice(0, 300)}`);
    const after = snap.digest();
    if (res.status >= 400) {
      if (req.method !== 'HEAD' && !unhealthyReport) {
        const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
        assert.equal(typeof parsed.error?.code, 'string', `error shape for ${what}: ${text.slice(0, 300)}`);
        assert.equal(typeof parsed.error?.message, 'string', `error shape for ${what}: ${text.slice(0, 300)}`);
      }
      assert.equal(after, before, `a refused request (${res.status}) changed stored state: ${what}: ${text.slice(0, 300)}`);
    }
    return { status: res.status, digest: after };
  };

  test('every route of the app: 200 generated bad requests each, never a 5xx, a hang, or a state change on refusal', { timeout: 600_000 }, async () => {
    const seen = new Set<string>();
    const routes: Route[] = [];
    for (const r of app.routes) {
      const key = `${r.method} ${r.path}`;
      if (r.method === 'ALL' || seen.has(key)) continue;
      seen.add(key);
      routes.push({ method: r.method, path: r.path });
    }
    // The Execution API first: REST calls may end the run whose task instances its tokens belong to.
    routes.sort((a, b) => Number(!a.path.startsWith('/execution/')) - Number(!b.path.startsWith('/execution/')));
    assert.ok(routes.some((r) => r.path.startsWith('/execution/v1/')) && routes.some((r) => r.path.startsWith('/api/v2/')), 'both APIs are routed');
    const statuses = new Map<number, number>();
    let digest = snap.digest();

    let cases = 0;
    const started = performance.now();
    for (const route of routes) {
      await fc.assert(
        fc.asyncProperty(requestFor(f, route), async (req) => {
          const r = await check(req, digest);
          digest = r.digest;
          cases++;
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        }),
        { numRuns: RUNS_PER_ROUTE, seed: SEED, endOnFailure: true },
      );
    }
    assert.ok(cases >= routes.length * RUNS_PER_ROUTE);
    const ms = Math.round(performance.now() - started);
    // Bad input must mostly be refused by the rules, and some requests must get through to handlers.
    const ok = [...statuses].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0);
    assert.ok(ok > 0 && (statuses.get(400) ?? 0) > 0, `statuses: ${JSON.stringify([...statuses])}`);
    process.stdout.write(`# fuzz: ${cases} requests over ${routes.length} routes in ${ms} ms (seed ${SEED}); statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}\n`);
  });

  test('over real HTTP: form and text/plain posts, foreign Hosts and Origins, oversize and deep bodies are refused before any change', async () => {
    const send = (method: string, path: string, headers: Record<string, string>, body?: string | Buffer) =>
      new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }>((resolve, reject) => {
        const req = httpRequest(`${server.url}${path}`, { method, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
        });
        req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer: ${method} ${path}`)));
        req.on('error', reject);
        // A declared length the body does not reach: the server must answer from the header, unread.
        if (headers['content-length'] !== undefined) req.write(body ?? '');
        else req.end(body);
      });
    const auth = { authorization: `Bearer ${f.adminToken}` };
    const trigger = '/api/v2/dags/fuzz_dag/dagRuns';
    const before = snap.digest();
    const cases: Array<[string, Record<string, string>, string | Buffer, number, string]> = [
      ['text/plain CSRF', { ...auth, 'content-type': 'text/plain', origin: 'https://evil.example' }, '{"dagRunId":"r$(id>pwned)"}', 403, 'forbidden'],
      ['text/plain same origin', { ...auth, 'content-type': 'text/plain' }, '{"dagRunId":"plain"}', 415, 'unsupported_media_type'],
      ['form post', { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, 'dagRunId=form', 415, 'unsupported_media_type'],
      ['DNS rebinding Host', { ...auth, 'content-type': 'application/json', host: 'attacker.example:8080' }, '{}', 421, 'host_not_allowed'],
      ['oversize by Content-Length', { ...auth, 'content-type': 'application/json', 'content-length': String(100 * 1024 * 1024) }, '{"conf":', 413, 'payload_too_large'],
      ['deep conf', { ...auth, 'content-type': 'application/json' }, `{"conf":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`, 400, 'invalid_argument'],
      ['bad run id', { ...auth, 'content-type': 'application/json' }, '{"dagRunId":"r$(id>pwned)"}', 400, 'invalid_argument'],
      ['numeric run id', { ...auth, 'content-type': 'application/json' }, '{"dagRunId":123}', 400, 'invalid_argument'],
    ];
    for (const [name, headers, payload, status, code] of cases) {
      const r = await send('POST', trigger, headers, payload);
      assert.equal(r.status, status, `${name}: ${r.text.slice(0, 200)}`);
      assert.equal((JSON.parse(r.text) as { error: { code: string } }).error.code, code, name);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', name);
    }
    assert.equal(snap.digest(), before, 'no refused request created a run');
    const probe = await send('GET', '/health', { host: '10.1.2.3:8080' });
    assert.notEqual(probe.status, 421, 'a kubelet probe with the pod IP as Host is answered');
    const ok = await send('POST', trigger, { ...auth, 'content-type': 'application/json', origin: server.url }, '{"dagRunId":"same_origin_ok"}');
    assert.equal(ok.status, 201, ok.text);
  });
});
