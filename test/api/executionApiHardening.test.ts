/**
 * Execution API hardening over real HTTP: tokens act only for the try that is current (`start` while it is
 * queued, everything else while it runs; a `closing` token from `finish` for callbacks and the rest of the
 * log), short-lived tokens handed back by start/heartbeat/finish, bodies checked field by field (never a
 * 5xx), bodies bounded in size (the log upload while it streams), shipped log chunks masked server-side,
 * and a DAG's `secretAccess` declaration. The test plays the task process: its executor launches nothing.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Executor, TaskWorkload } from '../../src/executors/types.ts';
import { taskLogPath } from '../../src/logging/taskLog.ts';
import { createFernet } from '../../src/crypto/index.ts';
import { VariableStore } from '../../src/store/variables.ts';
import { ConnectionStore, connectionFromUri } from '../../src/store/connections.ts';
import { pullXCom } from '../../src/store/xcom.ts';
import type { TaskInstanceRow } from '../../src/store/schema.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { waitFor } from '../support/processes.ts';
import { stopPostgres } from '../support/postgres.ts';

/** Queues tries and never starts them: the test is the task process. */
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
const work = task({ taskId: 'work' }, () => 'real');
export default dag({ dagId: 'hardening', schedule: null }, () => { work(); });
export const limited = dag({ dagId: 'limited', schedule: null, secretAccess: { variables: ['report_*'], connections: [] } }, () => { work(); });
`;
const SECRET_VALUE = 's3cr3t-served-to-the-try';

after(() => stopPostgres());

for (const dialect of ['sqlite', 'postgres'] as const) describe(`Execution API hardening [${dialect}]`, () => {
  let t: TestEngine;
  let base: string;
  before(async () => {
    t = await startTestEngine({ dialect, dags: { 'hardening.ts': DAG }, executor: () => new IdleExecutor(), triggerer: false });
    base = `${t.api.url}/execution/v1`;
    const fernet = createFernet(t.engine.config.core.fernetKey);
    await new VariableStore(t.engine.db, { fernet }).set('db_password', SECRET_VALUE);
    await new VariableStore(t.engine.db, { fernet }).set('report_bucket', 'reports');
    await new ConnectionStore(t.engine.db, { fernet }).add(connectionFromUri('warehouse', 'postgresql://etl:pw-1234@db:5432/dw'));
  });
  after(async () => {
    await t.stop();
  });

  const call = async (method: string, path: string, token: string | null, body?: string, contentType = 'application/json') => {
    const res = await fetch(base + path, {
      method,
      headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': contentType }) },
      ...(body === undefined ? {} : { body }),
    });
    const text = await res.text();
    return { status: res.status, json: text === '' ? null : (JSON.parse(text) as Record<string, unknown> & { error?: { code: string; message: string }; token?: string; state?: string }) };
  };
  const launchToken = (ti: TaskInstanceRow) => t.engine.tokens.issue(ti.id, ti.try_number, Date.now());
  const queuedTi = async (dagId: string, runId: string): Promise<TaskInstanceRow> => {
    await t.trigger(dagId, { runId });
    let ti: TaskInstanceRow | undefined;
    await waitFor(async () => {
      ti = (await t.taskInstances(dagId, runId)).find((x) => x.state === 'queued');
      return ti !== undefined;
    }, `${dagId}/${runId} never queued`);
    return ti as TaskInstanceRow;
  };
  const started = async (dagId: string, runId: string) => {
    const ti = await queuedTi(dagId, runId);
    const r = await call('POST', `/task-instances/${ti.id}/start`, launchToken(ti), JSON.stringify({ hostname: 'test', pid: process.pid }));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(typeof r.json?.token, 'string');
    return { ti, token: r.json?.token as string };
  };

  test('no input produces a 5xx: malformed bodies are 400 naming the field', async () => {
    const { ti, token } = await started('hardening', 'input');
    const finish = `/task-instances/${ti.id}/finish`;
    const cases: Array<[string, string, string, RegExp]> = [
      ['POST', finish, '{}', /^outcome: /],
      ['POST', finish, '{"outcome":{"kind":"failed"}}', /^outcome\.reason: /],
      ['POST', finish, '{"outcome":{"kind":"nope"}}', /^outcome\.kind: /],
      ['POST', finish, '{"outcome":{"kind":"deferred","trigger":{"classpath":""},"method":"m","kwargs":{},"timeoutMs":null}}', /^outcome\.trigger\.classpath: /],
      ['POST', finish, 'null', /^body: /],
      ['POST', finish, '[1,2]', /^body: /],
      ['POST', finish, '"text"', /^body: /],
      ['POST', finish, '{not json', /not valid JSON/],
      ['POST', `/task-instances/${ti.id}/start`, 'null', /^body: /],
      ['POST', `/task-instances/${ti.id}/start`, '{"hostname":"h","pid":99999999999}', /^pid: /],
      ['POST', finish, '{"outcome":{"kind":"rescheduled","rescheduleAt":1e300}}', /^outcome\.rescheduleAt: /],
      ['POST', finish, '{"outcome":{"kind":"failed","reason":"r","retryable":true,"exitCode":1e12}}', /^outcome\.exitCode: /],
      // A task may say how its pod ended, but not what only the scheduler judges (a lost heartbeat, unknown).
      ['POST', finish, '{"outcome":{"kind":"failed","failure":{"kind":"heartbeatLost","message":"m"}}}', /^outcome\.failure\.kind: /],
      ['POST', finish, '{"outcome":{"kind":"failed","failure":{"kind":"unknown","message":"m"}}}', /^outcome\.failure\.kind: /],
      ['POST', finish, '{"outcome":{"kind":"failed","failure":{"kind":"oomKilled","message":"m","exitCode":1e12}}}', /^outcome\.failure\.exitCode: /],
      ['POST', `/task-instances/${ti.id}/start`, '{"hostname":"h","pid":"1"}', /^pid: /],
      ['POST', `/task-instances/${ti.id}/heartbeat`, '42', /^body: /],
      ['PUT', `/task-instances/${ti.id}/xcom/k`, '{}', /^value: /],
      ['PUT', `/task-instances/${ti.id}/rendered-fields`, '{"renderedFields":[1]}', /^renderedFields: /],
      ['GET', `/task-instances/${ti.id}/xcom/work/return_value?mapIndex=abc`, '', /mapIndex/],
      ['GET', `/task-instances/${ti.id}/xcom/work/return_value?mapIndex=1e20`, '', /mapIndex/],
      ['PUT', `/task-instances/${ti.id}/xcom/${'k'.repeat(600)}`, '{"value":1}', /at most 512 characters/],
    ];
    for (const [method, path, body, message] of cases) {
      const r = await call(method, path, token, method === 'GET' ? undefined : body);
      assert.equal(r.status, 400, `${method} ${path} ${body} → ${r.status} ${JSON.stringify(r.json)}`);
      assert.equal(r.json?.error?.code, 'invalid_argument');
      assert.match(r.json?.error?.message ?? '', message, `${method} ${path} ${body}`);
    }
    // Still running: none of the bad calls changed the try.
    assert.equal((await t.taskInstances('hardening', 'input'))[0]?.state, 'running');
  });

  test('tokens with a null, non-JSON or try-0 payload, or for a missing task instance, are 401', async () => {
    const sign = (payload: string) => `${payload}.${createHmac('sha256', Buffer.from(t.engine.config.api.secretKey)).update(payload).digest('base64url')}`;
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    const { ti } = await started('hardening', 'tokens');
    for (const payload of ['null', '42', '{"tiId":1}', '{{{', JSON.stringify({ tiId: ti.id, tryNumber: 0, exp: Date.now() + 60_000 })]) {
      const r = await call('POST', `/task-instances/${ti.id}/heartbeat`, sign(b64(payload)), '{}');
      assert.equal(r.status, 401, `payload ${payload} → ${r.status}`);
    }
    const ghost = t.engine.tokens.issue('no-such-ti', 1, Date.now());
    assert.equal((await call('POST', '/task-instances/no-such-ti/start', ghost, JSON.stringify({ hostname: 'h', pid: 1 }))).status, 401);
    assert.equal((await call('POST', '/task-instances/no-such-ti/heartbeat', ghost, '{}')).status, 401);
    assert.equal((await call('GET', '/variables/db_password', ghost)).status, 401);
  });

  test('a running try: heartbeats hand back fresh tokens; a token for another try of the same task instance is refused', async () => {
    const { ti } = await started('hardening', 'running');
    const token = launchToken(ti);
    const hb = await call('POST', `/task-instances/${ti.id}/heartbeat`, token, '{}');
    assert.equal(hb.status, 200);
    assert.equal(typeof hb.json?.token, 'string');
    const fresh = t.engine.tokens.verify(hb.json?.token as string, Date.now());
    assert.deepEqual([fresh.tiId, fresh.tryNumber, fresh.phase], [ti.id, ti.try_number, 'run']);
    assert.ok(fresh.exp <= Date.now() + t.engine.config.api.taskTokenRefreshTtlMs);
    assert.equal((await call('GET', '/variables/report_bucket', hb.json?.token as string)).json?.value, 'reports');
    const otherTry = t.engine.tokens.issue(ti.id, ti.try_number + 1, Date.now());
    const r = await call('GET', '/variables/report_bucket', otherTry);
    assert.equal(r.status, 409);
    assert.equal(r.json?.error?.code, 'conflict');
    assert.equal((await call('POST', `/task-instances/${ti.id}/start`, otherTry, JSON.stringify({ hostname: 'h', pid: 2 }))).status, 409);
  });

  test('a finished try: a stale token can neither read secrets nor overwrite its XCom, rendered fields or log', async () => {
    const { ti, token } = await started('hardening', 'stale');
    const path = `/task-instances/${ti.id}`;
    const logKey = { dagId: 'hardening', runId: 'stale', taskId: 'work', mapIndex: -1, tryNumber: ti.try_number };
    assert.equal((await call('PUT', `${path}/logs?offset=0`, token, '2026-01-01T00:00:00.000Z INFO working\n', 'application/octet-stream')).status, 200);
    const done = await call('POST', `${path}/finish`, token, JSON.stringify({ outcome: { kind: 'success' }, returnValue: 'real' }));
    assert.equal(done.status, 200, JSON.stringify(done.json));
    assert.equal(done.json?.state, 'success');
    const closing = done.json?.token as string;
    // The closing token: callbacks may read, the log may be completed — once.
    assert.equal((await call('GET', '/variables/report_bucket', closing)).status, 200);
    assert.equal((await call('PUT', `${path}/xcom/late`, closing, '{"value":1}')).status, 409);
    const size = Buffer.byteLength('2026-01-01T00:00:00.000Z INFO working\n');
    assert.equal((await call('PUT', `${path}/logs?offset=${size}`, closing, '2026-01-01T00:00:01.000Z INFO ::capstan:: end of log\n', 'application/octet-stream')).status, 200);
    const logBefore = readFileSync(taskLogPath(t.engine.config.logging.baseLogFolder, logKey), 'utf8');

    for (const tok of [token, launchToken(ti), closing]) {
      const forged = await call('POST', `${path}/finish`, tok, JSON.stringify({ outcome: { kind: 'success' }, returnValue: 'forged' }));
      assert.ok(forged.status === 409 || forged.status === 401, `finish → ${forged.status}`);
      assert.equal((await call('PUT', `${path}/xcom/return_value`, tok, '{"value":"forged"}')).status, 409);
      assert.equal((await call('PUT', `${path}/rendered-fields`, tok, '{"renderedFields":{"bashCommand":"forged"}}')).status, 409);
      const offset = Buffer.byteLength(logBefore);
      assert.equal((await call('PUT', `${path}/logs?offset=${offset}`, tok, '2026-01-01T00:00:02.000Z INFO forged line\n', 'application/octet-stream')).status, 409);
    }
    for (const tok of [token, launchToken(ti)]) {
      assert.equal((await call('GET', '/variables/db_password', tok)).status, 409);
      assert.equal((await call('GET', '/connections/warehouse', tok)).status, 409);
      assert.equal((await call('POST', `${path}/heartbeat`, tok, '{}')).status, 409);
      assert.equal((await call('POST', `${path}/start`, tok, JSON.stringify({ hostname: 'test', pid: process.pid + 1 }))).status, 409);
    }
    const run = await t.waitForRun('hardening', 'stale');
    assert.equal(await pullXCom(t.engine.db, run.id, 'work', 'return_value', -1), 'real');
    assert.equal(readFileSync(taskLogPath(t.engine.config.logging.baseLogFolder, logKey), 'utf8'), logBefore);
  });

  test('shipped log chunks are masked server-side with the secrets the try was served and the server\'s own keys', async () => {
    const { ti, token } = await started('hardening', 'masking');
    assert.equal((await call('GET', '/variables/db_password', token)).json?.value, SECRET_VALUE);
    const key = t.engine.config.api.secretKey;
    const line = `2026-01-01T00:00:00.000Z INFO leaked ${SECRET_VALUE} and ${key} ok\n`;
    const r = await call('PUT', `/task-instances/${ti.id}/logs?offset=0`, token, line, 'application/octet-stream');
    assert.equal(r.status, 200);
    assert.equal(r.json?.size, Buffer.byteLength(line), 'masking keeps the byte length, so offsets stay valid');
    const stored = readFileSync(taskLogPath(t.engine.config.logging.baseLogFolder, { dagId: 'hardening', runId: 'masking', taskId: 'work', mapIndex: -1, tryNumber: ti.try_number }), 'utf8');
    assert.ok(!stored.includes(SECRET_VALUE) && !stored.includes(key), stored);
    assert.match(stored, /leaked \*+ and \*+ ok/);
  });

  test('a DAG that declares secretAccess reads only what it lists (403 naming the key); others read everything', async () => {
    const { token } = await started('limited', 'access');
    assert.equal((await call('GET', '/variables/report_bucket', token)).status, 200);
    const refused = await call('GET', '/variables/db_password', token);
    assert.equal(refused.status, 403);
    assert.equal(refused.json?.error?.code, 'forbidden');
    assert.match(refused.json?.error?.message ?? '', /variable 'db_password'/);
    const conn = await call('GET', '/connections/warehouse', token);
    assert.equal(conn.status, 403);
    assert.match(conn.json?.error?.message ?? '', /connection 'warehouse'/);
    const open = await started('hardening', 'open');
    assert.equal((await call('GET', '/connections/warehouse', open.token)).status, 200);
  });

  test('bodies are bounded: 413 for an oversized JSON body, and a log upload is refused while it streams', async () => {
    const { ti, token } = await started('hardening', 'limits');
    // Over the body limit (1 MiB, plus room for an XCom of core.xcomMaxBytes): refused before it is parsed.
    const big = JSON.stringify({ value: 'x'.repeat(2 * 1024 * 1024) });
    const refused = await call('PUT', `/task-instances/${ti.id}/xcom/big`, token, big);
    assert.equal(refused.status, 413);
    assert.equal(refused.json?.error?.code, 'payload_too_large');
    assert.match(refused.json?.error?.message ?? '', /request body is larger than \d+ bytes/);
    // A chunked upload without an end: the answer must come while it is still being sent.
    const url = new URL(`${base}/task-instances/${ti.id}/logs?offset=0`);
    const { status, sent } = await new Promise<{ status: number; sent: number }>((resolve, reject) => {
      let sent = 0;
      const req = request(url, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' } });
      req.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, sent });
        req.destroy();
      });
      req.on('error', (err) => (sent > 0 ? undefined : reject(err)));
      const piece = Buffer.alloc(256 * 1024, 0x61);
      const pump = () => {
        while (sent < 64 * 1024 * 1024) {
          sent += piece.length;
          if (!req.write(piece)) return void req.once('drain', pump);
        }
        reject(new Error('64 MiB sent without an answer: the upload was buffered'));
      };
      pump();
    });
    assert.equal(status, 413);
    assert.ok(sent < 64 * 1024 * 1024);
  });
});

describe('a real task process outlives its launch token on the tokens its heartbeats bring', () => {
  let t: TestEngine;
  before(async () => {
    const dag = `
import { dag, task, getCurrentContext } from 'capstan';
const slow = task({ taskId: 'slow' }, async () => {
  await new Promise((r) => setTimeout(r, 5000)); // past the 2 s launch token
  await getCurrentContext().xcomPush('late', 'pushed');
  return await getCurrentContext().getVariable('report_bucket');
});
export default dag({ dagId: 'refresh', schedule: null }, () => { slow(); });
const huge = task({ taskId: 'huge' }, () => 'x'.repeat(3 * 1024 * 1024));
export const tooLarge = dag({ dagId: 'too_large', schedule: null }, () => { huge(); });
`;
    t = await startTestEngine({
      dags: { 'refresh.ts': dag },
      env: { CAPSTAN__API__TASK_TOKEN_TTL_MS: '2000', CAPSTAN__API__TASK_TOKEN_REFRESH_TTL_MS: '4000', CAPSTAN__SCHEDULER__TASK_HEARTBEAT_TIMEOUT_MS: '3000' },
      triggerer: false,
    });
    await new VariableStore(t.engine.db, { fernet: createFernet(t.engine.config.core.fernetKey) }).set('report_bucket', 'reports');
  });
  after(async () => {
    await t.stop();
  });

  test('it reads, pushes and reports after the launch token expired', async () => {
    await t.trigger('refresh', { runId: 'r1' });
    const run = await t.waitForRun('refresh', 'r1', { timeoutMs: 30_000 });
    assert.equal(run.state, 'success', JSON.stringify(await t.taskInstances('refresh', 'r1')));
    assert.equal(await pullXCom(t.engine.db, run.id, 'slow', 'return_value', -1), 'reports');
    assert.equal(await pullXCom(t.engine.db, run.id, 'slow', 'late', -1), 'pushed');
  });

  test('a return value over the body limit fails the try saying why, like one over core.xcomMaxBytes', async () => {
    await t.trigger('too_large', { runId: 'r1' });
    const run = await t.waitForRun('too_large', 'r1', { timeoutMs: 30_000 });
    assert.equal(run.state, 'failed');
    const [ti] = await t.taskInstances('too_large', 'r1');
    assert.match(ti?.failure_reason ?? '', /the return value is too large to store as an XCom .*larger than \d+ bytes/);
  });
});
