/**
 * /api/v2/eventLogs with the typed client: Op and Admin read the audit log (Viewer and User may not),
 * filtered by DAG, run, task, actor (owner), action (event) and a time range, paged newest first; one
 * entry by id; a role limited to some DAGs sees only their entries.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiV2Client } from '../../../../src/api/public/v2/client/index.ts';
import { AuditLog } from '../../../../src/store/auditLog.ts';
import { startTestEngine, type TestEngine } from '../../../support/engine.ts';
import { roleClients, type RoleClients } from './support.ts';

const DAG = `
import { BashOperator, dag } from 'capstan';
export default dag({ dagId: 'audited', schedule: null }, () => { new BashOperator({ taskId: 't', bashCommand: 'true' }); });
`;

describe('API v2 event logs', () => {
  let t: TestEngine;
  let as: RoleClients;
  before(async () => {
    t = await startTestEngine({ dags: { 'audited.ts': DAG }, triggerer: false });
    as = await roleClients(t);
    let at = Date.parse('2026-01-01T00:00:00Z');
    const audit = new AuditLog(t.engine.db, { now: () => (at += 60_000) });
    await audit.append({ event: 'dag.trigger', actor: 'alice', dagId: 'audited', runId: 'r1' });
    await audit.append({ event: 'task_instance.clear', actor: 'bob', dagId: 'audited', runId: 'r1', taskId: 't', details: { dryRun: false } });
    await audit.append({ event: 'dag.trigger', actor: 'bob', dagId: 'other', runId: 'r2' });
    await audit.append({ event: 'variable.create', actor: 'alice', details: 'plain text' });
  });
  after(() => t.stop());

  const list = (q: Record<string, string | number>) => as.Op.call('get', '/eventLogs', { query: q });

  test('Viewer and User may not read the audit log', async () => {
    assert.equal((await as.Viewer.call('get', '/eventLogs', {})).status, 403);
    assert.equal((await as.User.call('get', '/eventLogs', {})).status, 403);
  });

  test('filters by DAG, run, task, owner, event and time; newest first; paged', async () => {
    const byDag = await list({ dagId: 'audited' });
    assert.deepEqual(byDag.data?.eventLogs.map((e) => e.event), ['task_instance.clear', 'dag.trigger']);
    assert.deepEqual((await list({ dagRunId: 'r1', taskId: 't' })).data?.eventLogs.map((e) => [e.owner, e.extra]), [['bob', { dryRun: false }]]);
    assert.deepEqual((await list({ owner: 'alice', event: 'dag.trigger' })).data?.eventLogs.map((e) => e.dagId), ['audited']);
    const window = await list({ after: '2026-01-01T00:02:00Z', before: '2026-01-01T00:04:00Z' });
    assert.deepEqual(window.data?.eventLogs.map((e) => e.when), ['2026-01-01T00:03:00.000Z', '2026-01-01T00:02:00.000Z']);
    assert.deepEqual((await list({ event: 'variable.create' })).data?.eventLogs.map((e) => e.extra), ['plain text']);
    const page = await list({ owner: 'bob', limit: 1, offset: 1 });
    assert.deepEqual([page.data?.eventLogs.map((e) => e.dagId), page.data?.totalEntries], [['audited'], 2]);
    const bad = await list({ after: 'yesterday' });
    assert.deepEqual([bad.status, bad.error?.error.field], [400, 'after']);
  });

  test('one entry by id; a role limited to some DAGs sees only theirs', async () => {
    const first = (await list({ event: 'variable.create' })).data?.eventLogs[0];
    const got = await as.Admin.call('get', '/eventLogs/{eventLogId}', { path: { eventLogId: first?.eventLogId ?? 0 } });
    assert.deepEqual(got.data, first);
    assert.equal((await as.Admin.call('get', '/eventLogs/{eventLogId}', { path: { eventLogId: 9_999_999 } })).status, 404);
    await t.engine.auth.createRole({ name: 'audited_ops', baseRole: 'Op', dagIds: ['audited'] });
    const user = await t.engine.auth.createUser({ username: 'auditor', password: 'auditor-password-1', role: 'audited_ops' });
    const { token } = await t.engine.auth.createApiToken(await t.engine.auth.principalFor(user), { name: 't' });
    const limited = apiV2Client({ baseUrl: t.api.url, token });
    const seen = await limited.call('get', '/eventLogs', { query: { event: 'dag.trigger' } });
    assert.deepEqual(seen.data?.eventLogs.map((e) => e.dagId), ['audited']);
    assert.equal((await limited.call('get', '/eventLogs/{eventLogId}', { path: { eventLogId: first?.eventLogId ?? 0 } })).status, 404, 'an entry about no DAG is outside its grants');
  });
});
