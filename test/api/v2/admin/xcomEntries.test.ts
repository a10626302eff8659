/**
 * /api/v2/…/xcomEntries with the typed client, from a real run: entries listed with byte sizes (per task,
 * across tasks and runs with ~, by key and map index), one entry's value masked as logs are (a secret the
 * task read from a variable and a connection password it pushed show as ***, secret-named fields too),
 * Viewer may read, a custom role outside the DAG gets 404.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiV2Client } from '../../../../src/api/public/v2/client/index.ts';
import { startTestEngine, type TestEngine } from '../../../support/engine.ts';
import { roleClients, type RoleClients } from './support.ts';

const DAG = `
import { dag, task, getCurrentContext } from 'capstan';
const leak = task({ taskId: 'leak' }, async () => {
  const ctx = getCurrentContext();
  const key = await ctx.getVariable('deploy_api_key');
  const conn = await ctx.getConnection('warehouse');
  await ctx.xcomPush('report', { note: 'key is ' + key, dsn: 'db://etl:' + conn.password + '@db', password: 'field-secret-1', rows: 3 });
  return 'done';
});
const plain = task({ taskId: 'plain' }, () => ({ n: 42 }));
dag({ dagId: 'xcoms', schedule: null }, () => { leak(); plain(); });
`;

describe('API v2 XCom entries', () => {
  let t: TestEngine;
  let as: RoleClients;
  let runId = '';
  before(async () => {
    t = await startTestEngine({ dags: { 'xcoms.ts': DAG }, triggerer: false });
    as = await roleClients(t);
    assert.equal((await as.Op.call('post', '/variables', { body: { key: 'deploy_api_key', value: 'tok-7f3a9c21' } })).status, 201);
    assert.equal((await as.Op.call('post', '/connections', { body: { connectionId: 'warehouse', connType: 'postgres', host: 'db', password: 'conn-pw-55aa' } })).status, 201);
    const run = await t.trigger('xcoms');
    runId = run.run_id;
    const done = await t.waitForRun('xcoms', runId);
    assert.equal(done.state, 'success');
  });
  after(() => t.stop());

  test('lists a task instance’s entries with sizes, and across tasks with ~', async () => {
    const path = { dagId: 'xcoms', dagRunId: runId, taskId: 'leak' };
    const one = await as.Viewer.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/xcomEntries', { path });
    assert.equal(one.status, 200);
    assert.deepEqual(
      one.data?.xcomEntries.map((e) => [e.key, e.taskId, e.mapIndex, e.dagRunId]),
      [
        ['report', 'leak', -1, runId],
        ['return_value', 'leak', -1, runId],
      ],
    );
    assert.equal(one.data?.xcomEntries[1]?.sizeBytes, Buffer.byteLength('"done"'));
    const all = await as.Viewer.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/xcomEntries', { path: { dagId: '~', dagRunId: '~', taskId: '~' }, query: { xcomKey: 'return_value' } });
    assert.deepEqual([all.data?.xcomEntries.map((e) => e.taskId), all.data?.totalEntries], [['leak', 'plain'], 2]);
    const paged = await as.Viewer.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/xcomEntries', { path: { dagId: 'xcoms', dagRunId: runId, taskId: '~' }, query: { limit: 1, offset: 2 } });
    assert.deepEqual([paged.data?.xcomEntries.map((e) => e.taskId), paged.data?.totalEntries], [['plain'], 3]);
    const none = await as.Viewer.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/xcomEntries', { path, query: { mapIndex: 0 } });
    assert.equal(none.data?.totalEntries, 0);
  });

  test('one entry answers its value masked as logs are', async () => {
    const r = await as.Viewer.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/xcomEntries/{xcomKey}', { path: { dagId: 'xcoms', dagRunId: runId, taskId: 'leak', xcomKey: 'report' } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.data?.value, { note: 'key is ***', dsn: 'db://etl:***@db', password: '***', rows: 3 });
    const text = JSON.stringify(r.data);
    for (const s of ['tok-7f3a9c21', 'conn-pw-55aa', 'field-secret-1']) assert.ok(!text.includes(s), `${s} leaked`);
    // The stored value is what the task pushed: masking is on the way out.
    const stored = await t.engine.db.db.selectFrom('xcom').select('value').where('key', '=', 'report').executeTakeFirstOrThrow();
    assert.match(stored.value, /tok-7f3a9c21/);
    const plain = await as.Viewer.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/xcomEntries/{xcomKey}', { path: { dagId: 'xcoms', dagRunId: runId, taskId: 'plain', xcomKey: 'return_value' } });
    assert.deepEqual(plain.data?.value, { n: 42 });
    const missing = await as.Viewer.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/xcomEntries/{xcomKey}', { path: { dagId: 'xcoms', dagRunId: runId, taskId: 'plain', xcomKey: 'nope' } });
    assert.equal(missing.status, 404);
  });

  test('a custom role outside the DAG sees no such DAG, and ~ lists nothing of it', async () => {
    await t.engine.auth.createRole({ name: 'team_other', baseRole: 'Viewer', dagIds: ['someone_else'] });
    const user = await t.engine.auth.createUser({ username: 'outsider', password: 'outsider-password-1', role: 'team_other' });
    const { token } = await t.engine.auth.createApiToken(await t.engine.auth.principalFor(user), { name: 't' });
    const outsider = apiV2Client({ baseUrl: t.api.url, token });
    const direct = await outsider.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/xcomEntries', { path: { dagId: 'xcoms', dagRunId: runId, taskId: 'leak' } });
    assert.equal(direct.status, 404);
    const across = await outsider.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/xcomEntries', { path: { dagId: '~', dagRunId: '~', taskId: '~' } });
    assert.deepEqual([across.status, across.data?.totalEntries], [200, 0]);
  });
});
