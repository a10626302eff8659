/**
 * The security probe's critical chain, link by link, over real HTTP against a running engine: an anonymous,
 * cross-site, text/plain `POST …/dagRuns` with a shell-injecting run id once ran a command as the user of
 * `standalone`. Each link must now fail on its own, so the chain fails even if another link regresses:
 *   1. no authentication                → 401
 *   2. text/plain "simple request"       → 415; a foreign Origin → 403; a rebinding Host → 421
 *   3. an unvalidated run id             → 400
 *   4. the example rendering it into shell → quoted (test/templating/shellQuoting.test.ts runs the example with hostile run ids)
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const DAG = `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'chain_dag', schedule: null }, () => { new BashOperator({ taskId: 'hi', bashCommand: 'echo hi' }); });
`;
const HOSTILE = JSON.stringify({ dagRunId: 'r$(id>pwned)' });

/** One raw HTTP request, so Host and Origin are exactly what a browser or an attacker sends. */
function send(url: string, o: { method: string; path: string; headers: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method: o.method, path: o.path, headers: o.headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

describe('the critical chain fails at every link', () => {
  let t: TestEngine;
  let host: string;
  const path = '/api/v2/dags/chain_dag/dagRuns';
  const runs = async () => (await t.engine.db.db.selectFrom('dag_run').select('run_id').where('dag_id', '=', 'chain_dag').execute()).length;

  before(async () => {
    t = await startTestEngine({ dags: { 'chain.ts': DAG } });
    host = new URL(t.api.url).host;
  });
  after(async () => {
    await t.stop();
  });

  test('link 1: the probe exactly as sent (anonymous, text/plain, foreign Origin) is refused, nothing is stored', async () => {
    const res = await send(t.api.url, { method: 'POST', path, headers: { host, origin: 'http://evil.example', 'content-type': 'text/plain' }, body: HOSTILE });
    assert.ok([401, 403, 415].includes(res.status), `${res.status} ${res.body}`);
    const anonymousJson = await send(t.api.url, { method: 'POST', path, headers: { host, 'content-type': 'application/json' }, body: JSON.stringify({ dagRunId: 'fine' }) });
    assert.equal(anonymousJson.status, 401);
    assert.equal(await runs(), 0);
  });

  test('link 2: even signed in, text/plain and form bodies get 415, a foreign Origin 403, a rebinding Host 421', async () => {
    const auth = `Bearer ${t.adminToken}`;
    const body = JSON.stringify({ dagRunId: 'ok_run' });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await send(t.api.url, { method: 'POST', path, headers: { host, authorization: auth, 'content-type': type }, body });
      assert.equal(res.status, 415, `${type}: ${res.body}`);
    }
    const foreign = await send(t.api.url, { method: 'POST', path, headers: { host, authorization: auth, origin: 'http://evil.example', 'content-type': 'application/json' }, body });
    assert.equal(foreign.status, 403, foreign.body);
    const rebound = await send(t.api.url, { method: 'GET', path: '/api/v2/dags', headers: { host: 'evil.example:8080', authorization: auth } });
    assert.equal(rebound.status, 421, rebound.body);
    assert.equal(await runs(), 0);
  });

  test('link 3: even signed in, same-origin and JSON, a shell-injecting run id is a 400 naming dagRunId', async () => {
    const res = await send(t.api.url, { method: 'POST', path, headers: { host, authorization: `Bearer ${t.adminToken}`, origin: t.api.url, 'content-type': 'application/json' }, body: HOSTILE });
    assert.equal(res.status, 400, res.body);
    assert.equal((JSON.parse(res.body) as { error: { field?: string } }).error.field, 'dagRunId');
    assert.equal(await runs(), 0);
    // The same request with a safe id goes through: the refusals above are about the input, not the route.
    const ok = await send(t.api.url, { method: 'POST', path, headers: { host, authorization: `Bearer ${t.adminToken}`, origin: t.api.url, 'content-type': 'application/json' }, body: JSON.stringify({ dagRunId: 'safe_run' }) });
    assert.equal(ok.status, 201, ok.body);
  });
});
