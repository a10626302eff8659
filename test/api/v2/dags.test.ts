/**
 * API v2 DAGs through the generated client against a real engine: list filters (id search, tags any/all,
 * owners, paused, last run state), orderBy, pagination limits and strict queries, bulk and single pause,
 * details with params and ETag/304, tasks, the serialized DAG, source with parse time, stats, role permissions and grants.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiV2Client, type ApiV2Client } from '../../../src/api/public/v2/client/index.ts';
import { getSerializedDag } from '../../../src/store/index.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const dagFile = (dagId: string, o: { tags?: string[]; owner?: string } = {}) => `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: '${dagId}', schedule: null, tags: ${JSON.stringify(o.tags ?? [])}, defaultArgs: { owner: '${o.owner ?? 'airflow'}' },
  params: { n: { type: 'integer', default: 1, minimum: 0 } } }, () => {
  new BashOperator({ taskId: 'hi', bashCommand: 'echo hi' });
});
`;

describe('API v2 DAGs', () => {
  let t: TestEngine;
  let api: ApiV2Client;
  before(async () => {
    t = await startTestEngine({
      triggerer: false,
      dags: {
        'a.ts': dagFile('alpha_etl', { tags: ['etl', 'team-a'], owner: 'ann' }),
        'b.ts': dagFile('beta_etl', { tags: ['etl'], owner: 'bob' }),
        'c.ts': dagFile('gamma_report', { tags: ['report', 'team-a'], owner: 'ann' }),
      },
    });
    api = apiV2Client({ baseUrl: t.api.url, token: t.adminToken });
  });
  after(async () => {
    await t.stop();
  });

  const ids = (r: { data?: { dags: Array<{ dagId: string }> } | undefined }) => r.data?.dags.map((d) => d.dagId);

  test('list: search, tags any/all, owners, paused, order, pages with totalEntries', async () => {
    const all = await api.call('get', '/dags', {});
    assert.equal(all.status, 200);
    assert.deepEqual(ids(all), ['alpha_etl', 'beta_etl', 'gamma_report']);
    assert.equal(all.data?.totalEntries, 3);
    assert.equal(all.data?.dags[0]?.latestDagRun, null);
    assert.deepEqual(ids(await api.call('get', '/dags', { query: { dagIdPattern: 'ETL' } })), ['alpha_etl', 'beta_etl']);
    assert.deepEqual(ids(await api.call('get', '/dags', { query: { tags: ['team-a', 'etl'] } })), ['alpha_etl', 'beta_etl', 'gamma_report']);
    assert.deepEqual(ids(await api.call('get', '/dags', { query: { tags: ['team-a', 'etl'], tagsMatchMode: 'all' } })), ['alpha_etl']);
    assert.deepEqual(ids(await api.call('get', '/dags', { query: { owners: ['bob'] } })), ['beta_etl']);
    assert.deepEqual(ids(await api.call('get', '/dags', { query: { orderBy: '-dagId' } })), ['gamma_report', 'beta_etl', 'alpha_etl']);
    const page = await api.call('get', '/dags', { query: { limit: 1, offset: 1 } });
    assert.deepEqual([ids(page), page.data?.totalEntries], [['beta_etl'], 3]);
    // A literal % is not a wildcard.
    assert.deepEqual(ids(await api.call('get', '/dags', { query: { dagIdPattern: '%' } })), []);
  });

  test('strict queries: over the max limit, unknown, repeated and malformed parameters are 400s naming the field', async () => {
    const cases: Array<[string, string]> = [
      ['limit=1001', 'limit'],
      ['limit=0', 'limit'],
      ['limit=1e3', 'limit'],
      ['orderBy=fileloc', 'orderBy'],
      ['paused=yes', 'paused'],
      ['bogus=1', 'bogus'],
      ['dagIdPattern=a&dagIdPattern=b', 'dagIdPattern'],
      ['lastDagRunState=exploded', 'lastDagRunState.0'],
    ];
    for (const [qs, field] of cases) {
      const res = await t.apiFetch(`/api/v2/dags?${qs}`);
      assert.equal(res.status, 400, qs);
      const body = (await res.json()) as { error: { code: string; field: string; message: string } };
      assert.equal(body.error.code, 'invalid_argument', qs);
      assert.equal(body.error.field, field, `${qs}: ${body.error.message}`);
    }
  });

  test('lastDagRunState and the newest run in each entry', async () => {
    const run = await t.trigger('beta_etl', { runId: 'r_beta' });
    await t.waitForRun('beta_etl', run.run_id);
    const res = await api.call('get', '/dags', { query: { lastDagRunState: ['success'] } });
    assert.deepEqual(ids(res), ['beta_etl']);
    assert.equal(res.data?.dags[0]?.latestDagRun?.runId, 'r_beta');
    assert.equal(res.data?.dags[0]?.latestDagRun?.state, 'success');
    assert.deepEqual(ids(await api.call('get', '/dags', { query: { orderBy: '-lastRunStartDate', limit: 1 } })), ['beta_etl']);
  });

  test('pause one, pause many by filter (a filter is required), paused filter', async () => {
    const one = await api.call('patch', '/dags/{dagId}', { path: { dagId: 'gamma_report' }, body: { isPaused: true } });
    assert.equal(one.data?.isPaused, true);
    assert.deepEqual(ids(await api.call('get', '/dags', { query: { paused: true } })), ['gamma_report']);
    const unfiltered = await api.call('patch', '/dags', { query: {}, body: { isPaused: true } });
    assert.equal(unfiltered.status, 400);
    const many = await api.call('patch', '/dags', { query: { tags: ['etl'] }, body: { isPaused: true } });
    assert.deepEqual(ids(many), ['alpha_etl', 'beta_etl']);
    assert.deepEqual(ids(await api.call('get', '/dags', { query: { paused: false } })), []);
    await api.call('patch', '/dags', { query: { dagIdPattern: '_' }, body: { isPaused: false } });
    assert.deepEqual(ids(await api.call('get', '/dags', { query: { paused: true } })), []);
  });

  test('details with params and a working ETag; tasks; source with parse time; stats', async () => {
    const details = await api.call('get', '/dags/{dagId}/details', { path: { dagId: 'alpha_etl' } });
    assert.equal(details.status, 200);
    assert.equal(details.data?.params['n']?.type, 'integer');
    assert.equal(details.data?.taskCount, 1);
    assert.deepEqual(details.data?.owners, ['ann']);
    const etag = details.response.headers.get('etag');
    assert.ok(etag);
    const again = await api.call('get', '/dags/{dagId}/details', { path: { dagId: 'alpha_etl' }, headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    const tasks = await api.call('get', '/dags/{dagId}/tasks', { path: { dagId: 'alpha_etl' } });
    assert.deepEqual(tasks.data?.tasks.map((x) => [x.taskId, x.operator]), [['hi', 'BashOperator']]);
    const source = await api.call('get', '/dagSources/{dagId}', { path: { dagId: 'alpha_etl' } });
    assert.equal(source.status, 200);
    assert.match(source.data?.content ?? '', /dagId: 'alpha_etl'/);
    assert.ok(source.data?.fileloc.endsWith('a.ts'));
    assert.ok(source.data?.lastParsedTime && typeof source.data.parseDurationMs === 'number');
    const stats = await api.call('get', '/dagStats', { query: { dagIds: ['beta_etl', 'alpha_etl'] } });
    assert.deepEqual(stats.data?.dags, [
      { dagId: 'beta_etl', stats: [{ state: 'success', count: 1 }] },
      { dagId: 'alpha_etl', stats: [] },
    ]);
    assert.equal((await api.call('get', '/dags/{dagId}', { path: { dagId: 'no_such_dag' } })).status, 404);
  });

  test('the serialized DAG as stored, with a working ETag; unknown and ungranted DAGs are 404s', async () => {
    const res = await api.call('get', '/dags/{dagId}/serializedDag', { path: { dagId: 'alpha_etl' } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.data, await getSerializedDag(t.engine.db, 'alpha_etl'));
    assert.deepEqual(res.data?.timetable, { kind: 'none' });
    assert.equal(res.data?.tasks[0]?.fields['bashCommand'], 'echo hi');
    const etag = res.response.headers.get('etag');
    assert.ok(etag);
    assert.equal((await api.call('get', '/dags/{dagId}/serializedDag', { path: { dagId: 'alpha_etl' }, headers: { 'if-none-match': etag } })).status, 304);
    assert.equal((await api.call('get', '/dags/{dagId}/serializedDag', { path: { dagId: 'no_such_dag' } })).status, 404);
    assert.equal((await t.apiFetch('/api/v2/dags/alpha_etl/serializedDag', { headers: { authorization: '' } })).status, 401);
  });

  test('roles: a Viewer reads but may not pause; a custom role sees only its DAGs', async () => {
    const viewer = await t.engine.auth.createUser({ username: 'v2_viewer', password: 'viewer-password', role: 'Viewer' });
    const vapi = apiV2Client({ baseUrl: t.api.url, token: (await t.engine.auth.createApiToken(await t.engine.auth.principalFor(viewer), { name: 'v' })).token });
    assert.equal((await vapi.call('get', '/dags', {})).status, 200);
    assert.equal((await vapi.call('patch', '/dags/{dagId}', { path: { dagId: 'alpha_etl' }, body: { isPaused: true } })).status, 403);
    assert.equal((await vapi.call('patch', '/dags', { query: { dagIdPattern: '_' }, body: { isPaused: true } })).status, 403);
    await t.engine.auth.createRole({ name: 'team-a', baseRole: 'User', dagTags: ['team-a'] });
    const alice = await t.engine.auth.createUser({ username: 'v2_alice', password: 'alice-password', role: 'team-a' });
    const aapi = apiV2Client({ baseUrl: t.api.url, token: (await t.engine.auth.createApiToken(await t.engine.auth.principalFor(alice), { name: 'a' })).token });
    assert.deepEqual(ids(await aapi.call('get', '/dags', {})), ['alpha_etl', 'gamma_report']);
    assert.equal((await aapi.call('get', '/dags/{dagId}/details', { path: { dagId: 'beta_etl' } })).status, 404);
    assert.equal((await aapi.call('get', '/dagSources/{dagId}', { path: { dagId: 'beta_etl' } })).status, 404);
    assert.equal((await aapi.call('get', '/dags/{dagId}/serializedDag', { path: { dagId: 'beta_etl' } })).status, 404);
    assert.equal((await aapi.call('get', '/dags/{dagId}/serializedDag', { path: { dagId: 'alpha_etl' } })).status, 200);
    assert.deepEqual((await aapi.call('get', '/dagStats', { query: { dagIds: ['beta_etl', 'alpha_etl'] } })).data?.dags.map((x) => x.dagId), ['alpha_etl']);
    // Bulk pause by a filter touches only the DAGs the role may edit.
    const paused = await aapi.call('patch', '/dags', { query: { tags: ['etl'] }, body: { isPaused: true } });
    assert.deepEqual(ids(paused), ['alpha_etl']);
    assert.equal((await api.call('get', '/dags/{dagId}', { path: { dagId: 'beta_etl' } })).data?.isPaused, false);
  });
});
