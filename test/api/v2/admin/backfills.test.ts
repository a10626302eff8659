/**
 * /api/v2/backfills with the typed client through the real scheduler: a dry run plans without writing, a
 * create runs to success, list/get show it with progress, pause/unpause/cancel (bodiless PUTs) change it and
 * are audited, bad bodies are 400 naming the field, Viewer reads but may not create, and a custom role may
 * not backfill a DAG outside its grants.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiV2Client } from '../../../../src/api/public/v2/client/index.ts';
import { startTestEngine, type TestEngine } from '../../../support/engine.ts';
import { roleClients, type RoleClients } from './support.ts';

const DAG = `
import { BashOperator, dag } from 'capstan';
export default dag({ dagId: 'daily', schedule: '@daily', startDate: '2024-01-01', catchup: false }, () => {
  new BashOperator({ taskId: 'load', bashCommand: 'echo {{ ds }}' });
});
export const hidden = dag({ dagId: 'hidden', schedule: '@daily', startDate: '2024-01-01', catchup: false }, () => {
  new BashOperator({ taskId: 'x', bashCommand: 'true' });
});
`;

describe('API v2 backfills', () => {
  let t: TestEngine;
  let as: RoleClients;
  before(async () => {
    t = await startTestEngine({ dags: { 'daily.ts': DAG }, triggerer: false });
    as = await roleClients(t);
  });
  after(() => t.stop());

  const body = { dagId: 'daily', fromDate: '2025-03-01', toDate: '2025-03-03', maxActiveRuns: 2 };

  test('a dry run plans each date and writes nothing; Viewer may not plan or create', async () => {
    const plan = await as.Op.call('post', '/backfills/dryRun', { body });
    assert.equal(plan.status, 200);
    assert.deepEqual(plan.data?.plan.map((p) => [p.logicalDate, p.action, p.dagRunId]), [
      ['2025-03-01T00:00:00.000Z', 'create', 'backfill__2025-03-01T00:00:00+00:00'],
      ['2025-03-02T00:00:00.000Z', 'create', 'backfill__2025-03-02T00:00:00+00:00'],
      ['2025-03-03T00:00:00.000Z', 'create', 'backfill__2025-03-03T00:00:00+00:00'],
    ]);
    assert.equal((await as.Op.call('get', '/backfills', {})).data?.totalEntries, 0);
    assert.equal((await as.Viewer.call('post', '/backfills', { body })).status, 403);
    assert.equal((await as.User.call('post', '/backfills/dryRun', { body })).status, 403);
  });

  test('create runs the dates to success; list and get show it with progress', async () => {
    const created = await as.Op.call('post', '/backfills', { body });
    assert.equal(created.status, 201);
    const id = created.data?.backfill.id ?? -1;
    assert.deepEqual([created.data?.backfill.dagId, created.data?.backfill.maxActiveRuns, created.data?.backfill.isPaused, created.data?.plan.length], ['daily', 2, false, 3]);
    const deadline = Date.now() + 60_000;
    let got = await as.Viewer.call('get', '/backfills/{backfillId}', { path: { backfillId: id } });
    while (got.data?.complete !== true && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      got = await as.Viewer.call('get', '/backfills/{backfillId}', { path: { backfillId: id } });
    }
    assert.deepEqual([got.data?.runs, got.data?.tasks, got.data?.complete], [{ total: 3, queued: 0, running: 0, success: 3, failed: 0 }, { done: 3, total: 3 }, true]);
    assert.notEqual(got.data?.completedAt, null);
    const list = await as.Viewer.call('get', '/backfills', { query: { dagId: 'daily' } });
    assert.deepEqual([list.data?.backfills.map((b) => b.id), list.data?.totalEntries], [[id], 1]);
    assert.equal((await as.Viewer.call('get', '/backfills', { query: { active: true } })).data?.totalEntries, 0);
    assert.equal((await as.Op.call('put', '/backfills/{backfillId}/pause', { path: { backfillId: id } })).status, 409, 'an ended backfill cannot be paused');
  });

  test('pause, unpause and cancel: bodiless PUTs, audited with the actor', async () => {
    const created = await as.Op.call('post', '/backfills', { body: { dagId: 'daily', fromDate: '2025-04-01', toDate: '2025-04-06', maxActiveRuns: 1 } });
    const id = created.data?.backfill.id ?? -1;
    const paused = await as.Op.call('put', '/backfills/{backfillId}/pause', { path: { backfillId: id } });
    assert.deepEqual([paused.status, paused.data?.isPaused], [200, true]);
    assert.equal((await as.Op.call('put', '/backfills/{backfillId}/unpause', { path: { backfillId: id } })).data?.isPaused, false);
    const cancelled = await as.Op.call('put', '/backfills/{backfillId}/cancel', { path: { backfillId: id } });
    assert.deepEqual([cancelled.status, cancelled.data?.isPaused, cancelled.data?.completedAt !== null], [200, true, true]);
    assert.equal((await as.Op.call('put', '/backfills/{backfillId}/cancel', { path: { backfillId: id } })).status, 409);
    assert.equal((await as.Viewer.call('put', '/backfills/{backfillId}/pause', { path: { backfillId: id } })).status, 403);
    const audit = await t.engine.db.db.selectFrom('audit_log').select(['event', 'actor']).where('event', 'in', ['backfill.pause', 'backfill.unpause', 'backfill.cancel']).orderBy('id').execute();
    assert.deepEqual(
      audit.map((a) => `${a.event} ${a.actor}`),
      // The first is the refused pause of the ended backfill above; refusals and failures are recorded by the middleware.
      ['backfill.pause op (token test)', 'backfill.pause op (token test)', 'backfill.unpause op (token test)', 'backfill.cancel op (token test)', 'backfill.cancel op (token test)', 'backfill.pause viewer (token test)'],
    );
  });

  test('bad bodies are 400 naming the field; unknown ids 404; a role outside the DAG gets 404', async () => {
    const badDate = await as.Op.call('post', '/backfills', { body: { ...body, fromDate: '2025-02-30' } });
    assert.equal(badDate.status, 400);
    assert.match(badDate.error?.error.message ?? '', /fromDate '2025-02-30' is not a date/);
    const badField = await as.Op.call('post', '/backfills', { body: { ...body, reprocessBehavior: 'sometimes' as never } });
    assert.deepEqual([badField.status, badField.error?.error.field], [400, 'reprocessBehavior']);
    const deepConf = await as.Op.call('post', '/backfills', { body: { ...body, dagRunConf: { a: 'x'.repeat(70_000) } } });
    assert.equal(deepConf.status, 400);
    assert.equal((await as.Op.call('get', '/backfills/{backfillId}', { path: { backfillId: 999_999 } })).status, 404);
    await t.engine.auth.createRole({ name: 'daily_team', baseRole: 'Op', dagIds: ['daily'] });
    const user = await t.engine.auth.createUser({ username: 'teamop', password: 'teamop-password-1', role: 'daily_team' });
    const { token } = await t.engine.auth.createApiToken(await t.engine.auth.principalFor(user), { name: 't' });
    const team = apiV2Client({ baseUrl: t.api.url, token });
    const outside = await team.call('post', '/backfills/dryRun', { body: { ...body, dagId: 'hidden' } });
    assert.equal(outside.status, 404);
    assert.equal((await team.call('post', '/backfills/dryRun', { body })).status, 200);
    assert.ok((await team.call('get', '/backfills', {})).data?.backfills.every((b) => b.dagId === 'daily'));
  });
});
