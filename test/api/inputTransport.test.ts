/**
 * Input and transport rules of the API server, one by one (the fuzz test checks them in bulk): JSON 404/405,
 * security headers, Host and Origin checks, strict bodies, path ids and queries naming the bad field, run id
 * rules and millisecond manual ids, conf limits, pagination with totalEntries, and the CLI's escaping of
 * control characters in stored ids.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Hono } from 'hono';
import { createApiAppFor } from '../../src/app/roles.ts';
import { hostAllowed, httpHygieneOptions, mountHttpHygiene, parseAllowList } from '../../src/api/http/index.ts';
import { printable } from '../../src/cli/output.ts';
import { loadConfig } from '../../src/config/index.ts';
import { checkRunId, triggerDagRun } from '../../src/services/triggerRun.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const DAG = `
import { dag, task } from 'capstan';
const hello = task({ taskId: 'hello' }, () => 'hi');
export default dag({ dagId: 'rules', schedule: null }, () => { hello(); });
`;

type ErrorBody = { error: { code: string; message: string; field?: string } };

describe('API input and transport rules', () => {
  let t: TestEngine;
  let app: ReturnType<typeof createApiAppFor>;
  const call = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    app.request(path, {
      method,
      headers: { authorization: `Bearer ${t.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body }),
    });
  const error = async (res: Response) => ((await res.json()) as ErrorBody).error;

  before(async () => {
    t = await startTestEngine({ dags: { 'rules.ts': DAG }, triggerer: false });
    app = createApiAppFor(t.engine);
  });
  after(async () => {
    await t.stop();
  });

  test('unknown routes are a JSON 404, a known path with another method a 405 with Allow, the removed /api/v1 a 410', async () => {
    const missing = await call('GET', '/api/v2/nothing/here');
    assert.equal(missing.status, 404);
    assert.equal((await error(missing)).code, 'not_found');
    const removed = await call('GET', '/api/v1/nothing/here');
    assert.equal(removed.status, 410);
    assert.equal((await error(removed)).code, 'gone');
    const wrong = await call('DELETE', '/api/v2/dags/rules');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, HEAD, PATCH');
    assert.equal((await error(wrong)).code, 'method_not_allowed');
  });

  test('every response carries the security headers; API JSON is not cached', async () => {
    for (const res of [await call('GET', '/api/v2/dags'), await call('GET', '/nope'), await app.request('/health')]) {
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
      assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(res.headers.get('cache-control'), 'no-store');
    }
  });

  test('Host: names outside api.allowedHosts get 421, IP literals and loopback names pass, /health always answers', async () => {
    const foreign = await call('GET', '/api/v2/dags', undefined, { host: 'rebound.attacker.example' });
    assert.equal(foreign.status, 421);
    assert.equal((await error(foreign)).code, 'host_not_allowed');
    for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', '10.0.0.7']) assert.equal((await call('GET', '/api/v2/dags', undefined, { host })).status, 200, host);
    assert.notEqual((await app.request('/health', { headers: { host: 'whatever.example' } })).status, 421);
    const list = parseAllowList('capstan.example.com, *.svc.cluster.local');
    assert.ok(hostAllowed('capstan-api.capstan.svc.cluster.local', list));
    assert.ok(hostAllowed('svc.cluster.local', list));
    assert.ok(!hostAllowed('evilsvc.cluster.local', list));
    assert.ok(hostAllowed('anything.example', parseAllowList('*')));
    // Out of the box the Execution API URL's host is served, so worker pods reach it by its Service name.
    const config = loadConfig({ env: { CAPSTAN_HOME: t.home, CAPSTAN__API__EXECUTION_API_URL: 'http://capstan-api.capstan.svc:8080' } });
    assert.equal(config.api.allowedHosts, 'localhost,127.0.0.1,capstan-api.capstan.svc');
  });

  test('Origin: a cross-site unsafe request is 403, same origin and programs pass; api.allowedOrigins admits others with CORS', async () => {
    const body = JSON.stringify({ isPaused: false });
    assert.equal((await call('PATCH', '/api/v2/dags/rules', body, { origin: 'https://evil.example' })).status, 403);
    assert.equal((await call('PATCH', '/api/v2/dags/rules', body, { 'sec-fetch-site': 'cross-site' })).status, 403);
    assert.equal((await call('PATCH', '/api/v2/dags/rules', body, { origin: 'null' })).status, 403);
    assert.equal((await call('PATCH', '/api/v2/dags/rules', body, { origin: 'http://localhost' })).status, 200);
    assert.equal((await call('PATCH', '/api/v2/dags/rules', body)).status, 200);
    assert.equal((await call('GET', '/api/v2/dags', undefined, { origin: 'https://evil.example' })).status, 200, 'reads need no Origin check: no CORS answer lets the page read them');
    const small = new Hono();
    mountHttpHygiene(small, httpHygieneOptions({ allowedHosts: 'localhost', allowedOrigins: 'https://UI.example.com/', maxBodyBytes: 1024 }));
    small.post('/x', (c) => c.json({ ok: true }));
    const allowed = await small.request('http://localhost/x', { method: 'POST', headers: { origin: 'https://ui.example.com', 'content-type': 'application/json' }, body: '{}' });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://ui.example.com');
    const preflight = await small.request('http://localhost/x', { method: 'OPTIONS', headers: { origin: 'https://ui.example.com', 'access-control-request-method': 'POST' } });
    assert.equal(preflight.status, 204);
    assert.equal((await small.request('http://localhost/x', { method: 'POST', headers: { origin: 'https://other.example', 'content-type': 'application/json' }, body: '{}' })).status, 403);
    assert.equal((await small.request('http://localhost/x', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(2048) })).status, 413);
  });

  test('bodies: JSON only, objects of known fields with the right types, each error naming its field', async () => {
    const trigger = '/api/v2/dags/rules/dagRuns';
    assert.equal((await call('POST', trigger, '{"dagRunId":"plain"}', { 'content-type': 'text/plain' })).status, 415);
    for (const raw of ['null', '123', '"str"', 'true', '[]', '{']) {
      const res = await call('POST', trigger, raw);
      assert.equal(res.status, 400, raw);
      assert.equal((await error(res)).code, 'invalid_argument', raw);
    }
    const cases: Array<[string, string, string, string]> = [
      ['PATCH', '/api/v2/dags/rules', '{"isPaused":"yes"}', 'isPaused'],
      ['PATCH', '/api/v2/dags/rules', '{"paused":true}', 'isPaused'],
      ['PATCH', '/api/v2/dags/rules', '{"isPaused":true,"paused":true}', 'paused'],
      ['POST', trigger, '{"logicalDate":"not a date"}', 'logicalDate'],
      ['POST', trigger, '{"logicalDate":"2026-13-45T00:00:00Z"}', 'logicalDate'],
      ['POST', trigger, '{"dagRunId":123}', 'dagRunId'],
      ['POST', trigger, `{"conf":${'{"a":'.repeat(33)}1${'}'.repeat(33)}}`, 'conf'],
      ['POST', trigger, JSON.stringify({ conf: { big: 'x'.repeat(65 * 1024) } }), 'conf'],
      ['POST', trigger, '{"conf":[1]}', 'conf'],
      ['PATCH', '/api/v2/dags/rules/dagRuns/x', '{"state":"running"}', 'state'],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await call(method, path, body);
      assert.equal(res.status, 400, `${method} ${path} ${body.slice(0, 80)}`);
      const e = await error(res);
      assert.equal(e.field, field, `${body.slice(0, 80)}: ${e.message}`);
      assert.ok(e.message.length < 300, 'the message does not repeat the value');
    }
    assert.equal((await call('POST', trigger, `{"conf":${'{"a":'.repeat(31)}1${'}'.repeat(31)}}`)).status, 201, 'a conf 32 levels deep is accepted');
  });

  test('path ids are checked before any lookup: a 5,000-character task id is a 400 that names no server path', async () => {
    await triggerDagRun(t.engine.db, { dagId: 'rules', runId: 'ids' }, Date.now());
    const res = await call('GET', `/api/v2/dags/rules/dagRuns/ids/taskInstances/${'t'.repeat(5000)}/logs/1`);
    assert.equal(res.status, 400);
    const text = await res.text();
    assert.ok(!text.includes(t.home), text);
    assert.equal(((JSON.parse(text) as ErrorBody).error).field, 'taskId');
    const nul = await call('GET', '/api/v2/dags/rules/dagRuns/a%00b');
    assert.equal(nul.status, 400);
    assert.equal((await error(nul)).field, 'dagRunId');
    const missingLog = await call('GET', '/api/v2/dags/rules/dagRuns/ids/taskInstances/hello/logs/1');
    assert.equal(missingLog.status, 404);
    assert.ok(!(await missingLog.text()).includes(t.home), 'a missing log does not name its file');
  });

  test('run ids: the allowed pattern, 250 characters, strings only; manual ids have milliseconds', async () => {
    const trigger = '/api/v2/dags/rules/dagRuns';
    for (const runId of ['r$(id>pwned)', 'a\u0000b', '\u001b[31mred', 'x'.repeat(251), 'with space', '']) {
      const res = await call('POST', trigger, JSON.stringify({ dagRunId: runId }));
      assert.equal(res.status, 400, JSON.stringify(runId));
      assert.ok(!(await res.text()).includes('pwned'), 'the refused id is not echoed');
    }
    assert.equal((await call('POST', trigger, JSON.stringify({ dagRunId: 'nightly.2026-01-01T00:00:00+00:00~1' }))).status, 201);
    assert.throws(() => checkRunId('ab\u0007', '^.+$'), /runId must match/, 'control characters never pass, whatever the pattern');
    assert.equal(checkRunId('a/b', '^[a-z/]+$'), 'a/b', 'core.allowedRunIdPattern replaces the default');
    const at = Date.parse('2026-12-07T05:01:02.345Z');
    const first = await triggerDagRun(t.engine.db, { dagId: 'rules' }, at);
    const second = await triggerDagRun(t.engine.db, { dagId: 'rules' }, at + 1);
    assert.equal(first.run_id, 'manual__2026-12-07T05:01:02.345+00:00');
    assert.equal(second.run_id, 'manual__2026-12-07T05:01:02.346+00:00', 'two triggers in one second do not collide');
  });

  test('lists take limit (≤ 1000) and offset and report totalEntries', async () => {
    const total = ((await (await call('GET', '/api/v2/dags/rules/dagRuns?limit=1000')).json()) as { totalEntries: number; dagRuns: unknown[] });
    assert.ok(total.totalEntries >= 3);
    assert.equal(total.dagRuns.length, total.totalEntries);
    const page = (await (await call('GET', '/api/v2/dags/rules/dagRuns?limit=2&offset=1')).json()) as { totalEntries: number; dagRuns: Array<{ dagRunId: string }> };
    assert.equal(page.dagRuns.length, 2);
    assert.equal(page.totalEntries, total.totalEntries);
    assert.deepEqual(page.dagRuns.map((r) => r.dagRunId), (total.dagRuns as Array<{ dagRunId: string }>).slice(1, 3).map((r) => r.dagRunId));
    const dags = (await (await call('GET', '/api/v2/dags?limit=1')).json()) as { dags: unknown[]; totalEntries: number };
    assert.deepEqual([dags.dags.length, dags.totalEntries], [1, 1]);
    const tis = (await (await call('GET', '/api/v2/dags/rules/dagRuns/ids/taskInstances?offset=1')).json()) as { taskInstances: unknown[]; totalEntries: number };
    assert.deepEqual([tis.taskInstances.length, tis.totalEntries], [0, 1]);
    for (const q of ['limit=1001', 'limit=0', 'offset=-1', 'limit=abc', 'limit=1&limit=2', 'surprise=1']) {
      const res = await call('GET', `/api/v2/dags/rules/dagRuns?${q}`);
      assert.equal(res.status, 400, q);
    }
  });

  test('the CLI shows control characters of stored ids as escapes', () => {
    assert.equal(printable('r\u001b[2J\u0000x\u0085'), 'r\\u001b[2J\\u0000x\\u0085');
    assert.equal(printable('line\nnext', { keepNewlines: true }), 'line\nnext');
  });
});
