/**
 * The HTTP surface over a running engine: /health, /metrics, the REST API (v1, deprecated), and the Execution API's
 * refusal of requests without a valid task-try token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const DAG = `
import { dag, task } from 'capstan';
const hello = task({ taskId: 'hello' }, (name: string) => 'hello ' + name);
export default dag({ dagId: 'api_dag', schedule: null, params: { who: 'world' } }, () => { hello('api'); });
`;

describe('HTTP API', () => {
  let t: TestEngine;
  before(async () => {
    t = await startTestEngine({ dags: { 'api.ts': DAG } });
  });
  after(async () => {
    await t.stop();
  });

  test('/health reports the metadata DB and a live scheduler', async () => {
    await t.scheduler.runOnce();
    const res = await fetch(`${t.api.url}/health`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; metadatabase: { status: string }; scheduler: { status: string; latestHeartbeat: string } };
    assert.equal(body.status, 'healthy');
    assert.equal(body.metadatabase.status, 'healthy');
    assert.equal(body.scheduler.status, 'healthy');
    assert.ok(Date.parse(body.scheduler.latestHeartbeat) > 0);
  });

  test('/metrics exposes Prometheus text with the scheduler loop metrics', async () => {
    const res = await t.apiFetch(`/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^# TYPE capstan_scheduler_loops_total counter$/m);
    assert.match(text, /capstan_scheduler_loop_duration_seconds_bucket/);
    assert.match(text, /capstan_api_request_duration_seconds_count\{method="GET",route="\/health",status="200"\} 1/);
    assert.match(text, /^capstan_dag_import_errors 0$/m);
  });

  test('REST: list DAGs, trigger a run with conf, read its task instances', async () => {
    const dags = (await (await t.apiFetch(`/api/v1/dags`)).json()) as { dags: Array<{ dagId: string }> };
    assert.deepEqual(dags.dags.map((d) => d.dagId), ['api_dag']);
    const created = await t.apiFetch(`/api/v1/dags/api_dag/dagRuns`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ runId: 'rest1', conf: { who: 'rest' } }),
    });
    assert.equal(created.status, 201);
    assert.equal(((await created.json()) as { runId: string }).runId, 'rest1');
    const run = await t.waitForRun('api_dag', 'rest1');
    assert.equal(run.state, 'success');
    const tis = (await (await t.apiFetch(`/api/v1/dags/api_dag/dagRuns/rest1/taskInstances`)).json()) as { taskInstances: Array<{ taskId: string; state: string }> };
    assert.deepEqual(tis.taskInstances.map((x) => [x.taskId, x.state]), [['hello', 'success']]);
  });

  test('v1 is deprecated: every answer, error or not, has Deprecation and a Link to its v2 successor', async () => {
    const dags = await t.apiFetch(`/api/v1/dags?limit=5`);
    assert.equal(dags.status, 200);
    assert.match(dags.headers.get('deprecation') ?? '', /^@\d+$/);
    assert.equal(dags.headers.get('link'), '</api/v2/dags>; rel="successor-version", </api/v2/docs>; rel="deprecation"');
    const missing = await t.apiFetch(`/api/v1/dags/nope/backfills/1`);
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('deprecation') ?? '', /^@\d+$/);
    assert.match(missing.headers.get('link') ?? '', /^<\/api\/v2\/backfills>; rel="successor-version"/);
    assert.equal((await t.apiFetch(`/api/v2/dags?limit=5`)).headers.get('deprecation'), null);
  });

  test('REST errors carry a code, a message and the right status', async () => {
    const missing = await t.apiFetch(`/api/v1/dags/nope/dagRuns`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
    const dup = await t.apiFetch(`/api/v1/dags/api_dag/dagRuns`, { method: 'POST', body: JSON.stringify({ runId: 'rest1' }), headers: { 'content-type': 'application/json' } });
    assert.equal(dup.status, 409);
    const badConf = await t.apiFetch(`/api/v1/dags/api_dag/dagRuns`, { method: 'POST', body: JSON.stringify({ conf: [1, 2] }), headers: { 'content-type': 'application/json' } });
    assert.equal(badConf.status, 400);
  });

  test('the Execution API refuses a missing, forged or foreign token', async () => {
    const [ti] = await t.taskInstances('api_dag', 'rest1');
    assert.ok(ti);
    const url = `${t.api.url}/execution/v1/task-instances/${ti.id}/heartbeat`;
    assert.equal((await fetch(url, { method: 'POST', body: '{}' })).status, 401);
    const forged = t.engine.tokens.issue(ti.id, ti.try_number, Date.now()).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    assert.equal((await fetch(url, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${forged}` } })).status, 401);
    const foreign = t.engine.tokens.issue('some-other-ti', 1, Date.now());
    assert.equal((await fetch(url, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${foreign}` } })).status, 401);
    const expired = t.engine.tokens.issue(ti.id, ti.try_number, Date.now() - 10 * 86_400_000);
    assert.equal((await fetch(url, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${expired}` } })).status, 401);
    // A valid token for a finished try: heartbeat says the try is no longer running.
    const valid = t.engine.tokens.issue(ti.id, ti.try_number, Date.now());
    const hb = await fetch(url, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${valid}` } });
    assert.equal(hb.status, 409);
    assert.equal(((await hb.json()) as { state: string }).state, 'success');
  });
});
