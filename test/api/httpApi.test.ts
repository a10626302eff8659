/**
 * The HTTP surface over a running engine: /health, /metrics, the REST API (v2; the removed v1 answers 410 Gone),
 * and the Execution API's refusal of requests without a valid task-try token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiV2Client, type ApiV2Client } from '../../src/api/public/v2/client/index.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const DAG = `
import { dag, task } from 'capstan';
const hello = task({ taskId: 'hello' }, (name: string) => 'hello ' + name);
export default dag({ dagId: 'api_dag', schedule: null, params: { who: 'world' } }, () => { hello('api'); });
`;

describe('HTTP API', () => {
  let t: TestEngine;
  let api: ApiV2Client;
  before(async () => {
    t = await startTestEngine({ dags: { 'api.ts': DAG } });
    api = apiV2Client({ baseUrl: t.api.url, token: t.adminToken });
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

  test('REST (v2): list DAGs, trigger a run with conf, read its task instances', async () => {
    const dags = await api.call('get', '/dags', {});
    assert.deepEqual(dags.data?.dags.map((d) => d.dagId), ['api_dag']);
    const created = await api.call('post', '/dags/{dagId}/dagRuns', { path: { dagId: 'api_dag' }, body: { dagRunId: 'rest1', conf: { who: 'rest' } } });
    assert.equal(created.status, 201, JSON.stringify(created.error));
    assert.equal(created.data?.dagRunId, 'rest1');
    const run = await t.waitForRun('api_dag', 'rest1');
    assert.equal(run.state, 'success');
    const tis = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances', { path: { dagId: 'api_dag', dagRunId: 'rest1' } });
    assert.deepEqual(tis.data?.taskInstances.map((x) => [x.taskId, x.state]), [['hello', 'success']]);
  });

  test('v1 was removed: every method under /api/v1 answers 410 Gone in the error shape, signed in or not, with a Link to its v2 successor and the reference', async () => {
    const cases: Array<[string, string, string | undefined]> = [
      ['GET', '/api/v1/dags?limit=5', '/api/v2/dags'],
      ['POST', '/api/v1/dags/api_dag/dagRuns', '/api/v2/dags/api_dag/dagRuns'],
      ['GET', '/api/v1/dags/api_dag/dagRuns/rest1/taskInstances/hello/logs/1', '/api/v2/dags/api_dag/dagRuns/rest1/taskInstances/hello/logs/1'],
      ['GET', '/api/v1/dags/api_dag/backfills', '/api/v2/backfills?dagId=api_dag'],
      ['POST', '/api/v1/dags/api_dag/backfills', '/api/v2/backfills'],
      ['GET', '/api/v1/dags/api_dag/backfills/1', '/api/v2/backfills/1'],
      ['GET', '/api/v1/auditLog', '/api/v2/eventLogs'],
      ['DELETE', '/api/v1/users/nobody', '/api/v2/users/nobody'],
      ['GET', '/api/v1/nothing/here', undefined],
      ['GET', '/api/v1', undefined],
    ];
    for (const [method, path, successor] of cases) {
      for (const headers of [{}, { authorization: 'Bearer not-a-token' }, { authorization: `Bearer ${t.adminToken}` }]) {
        const res = await fetch(`${t.api.url}${path}`, { method, headers: { ...headers, ...(method === 'GET' ? {} : { 'content-type': 'application/json' }) }, ...(method === 'GET' ? {} : { body: '{}' }) });
        const what = `${method} ${path} ${JSON.stringify(headers).slice(0, 30)}`;
        assert.equal(res.status, 410, what);
        const body = (await res.json()) as { error: { code: string; message: string; hint?: string } };
        assert.equal(body.error.code, 'gone', what);
        assert.match(body.error.message, /^\/api\/v1 was removed/, what);
        assert.match(body.error.hint ?? '', /\/api\/v2\/docs/, what);
        assert.equal(res.headers.get('link'), `${successor ? `<${successor}>; rel="successor-version", ` : ''}</api/v2/docs>; rel="help"`, what);
        if (successor) assert.ok(body.error.message.endsWith(`is now ${method} ${successor}`), `${what}: ${body.error.message}`);
      }
    }
    assert.equal((await fetch(`${t.api.url}/api/v1/dags`, { method: 'HEAD' })).status, 410);
    assert.equal((await t.apiFetch(`/api/v2/dags?limit=5`)).headers.get('deprecation'), null);
    assert.equal(await t.engine.db.db.selectFrom('dag_run').select('run_id').where('dag_id', '=', 'api_dag').execute().then((r) => r.length), 1, 'a POST to v1 triggered nothing');
  });

  test('REST errors carry a code, a message, the field and the right status; a retried trigger with the same run id is idempotent (200), another conf under it a 409', async () => {
    const missing = await api.call('post', '/dags/{dagId}/dagRuns', { path: { dagId: 'nope' }, body: {} });
    assert.equal(missing.status, 404);
    assert.equal(missing.error?.error.code, 'not_found');
    const retry = await api.call('post', '/dags/{dagId}/dagRuns', { path: { dagId: 'api_dag' }, body: { dagRunId: 'rest1', conf: { who: 'rest' } } });
    assert.equal(retry.status, 200, JSON.stringify(retry.error));
    assert.equal(retry.data?.dagRunId, 'rest1');
    const dup = await api.call('post', '/dags/{dagId}/dagRuns', { path: { dagId: 'api_dag' }, body: { dagRunId: 'rest1' } });
    assert.equal(dup.status, 409);
    assert.equal(dup.error?.error.code, 'conflict');
    const badConf = await t.apiFetch(`/api/v2/dags/api_dag/dagRuns`, { method: 'POST', body: JSON.stringify({ conf: [1, 2] }), headers: { 'content-type': 'application/json' } });
    assert.equal(badConf.status, 400);
    assert.equal(((await badConf.json()) as { error: { field?: string } }).error.field, 'conf');
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
