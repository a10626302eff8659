/**
 * /api/v2/pools with the typed client: Viewer reads, Op changes; slot counts come from real task instances
 * (a running task holding 2 slots of its pool); default_pool cannot be deleted, a busy pool is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { markDagRun } from '../../../../src/services/mark.ts';
import { startTestEngine, type TestEngine } from '../../../support/engine.ts';
import { roleClients, type RoleClients } from './support.ts';

const DAG = `
import { BashOperator, dag } from 'capstan';
export default dag({ dagId: 'pooled', schedule: null }, () => {
  new BashOperator({ taskId: 'hold', bashCommand: 'sleep 60', pool: 'warehouse', poolSlots: 2 });
});
`;

describe('API v2 pools', () => {
  let t: TestEngine;
  let as: RoleClients;
  before(async () => {
    t = await startTestEngine({ dags: { 'pooled.ts': DAG }, triggerer: false });
    as = await roleClients(t);
  });
  after(() => t.stop());

  test('Viewer lists and reads pools; only Op creates, changes and deletes them', async () => {
    const list = await as.Viewer.call('get', '/pools', {});
    assert.equal(list.status, 200);
    assert.deepEqual(list.data?.pools.map((p) => p.name), ['default_pool']);
    assert.equal((await as.User.call('post', '/pools', { body: { name: 'x', slots: 1 } })).status, 403);
    assert.equal((await as.Viewer.call('patch', '/pools/{poolName}', { path: { poolName: 'default_pool' }, body: { slots: 1 } })).status, 403);
    const created = await as.Op.call('post', '/pools', { body: { name: 'warehouse', slots: 5, description: 'queries' } });
    assert.equal(created.status, 201);
    assert.deepEqual(created.data, { name: 'warehouse', slots: 5, description: 'queries', includeDeferred: false, runningSlots: 0, queuedSlots: 0, deferredSlots: 0, occupiedSlots: 0, openSlots: 5 });
    assert.equal((await as.Op.call('post', '/pools', { body: { name: 'warehouse', slots: 1 } })).status, 409);
    const bad = await as.Op.call('post', '/pools', { body: { name: 'neg', slots: -1 } });
    assert.deepEqual([bad.status, bad.error?.error.field], [400, 'slots']);
  });

  test('a running task instance holds its slots: running, occupied and open follow it; a busy pool cannot be deleted', async () => {
    const run = await t.trigger('pooled');
    await t.waitForRun('pooled', run.run_id, { states: ['running'] });
    const deadline = Date.now() + 30_000;
    let pool = (await as.Viewer.call('get', '/pools/{poolName}', { path: { poolName: 'warehouse' } })).data;
    while (pool?.runningSlots !== 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      pool = (await as.Viewer.call('get', '/pools/{poolName}', { path: { poolName: 'warehouse' } })).data;
    }
    assert.deepEqual([pool?.runningSlots, pool?.occupiedSlots, pool?.openSlots], [2, 2, 3]);
    const busy = await as.Op.call('delete', '/pools/{poolName}', { path: { poolName: 'warehouse' } });
    assert.deepEqual([busy.status, busy.error?.error.code], [409, 'conflict']);
    const shrunk = await as.Op.call('patch', '/pools/{poolName}', { path: { poolName: 'warehouse' }, body: { slots: 1 } });
    assert.deepEqual([shrunk.data?.slots, shrunk.data?.openSlots, shrunk.data?.description], [1, -1, 'queries']);
    await markDagRun(t.engine.db, { dagId: 'pooled', runId: run.run_id, state: 'failed' }, Date.now(), 'test');
  });

  test('default_pool cannot be deleted but can be resized; list filters and orders; delete an idle pool', async () => {
    const refused = await as.Op.call('delete', '/pools/{poolName}', { path: { poolName: 'default_pool' } });
    assert.deepEqual([refused.status, refused.error?.error.code], [400, 'invalid_argument']);
    assert.equal((await as.Op.call('patch', '/pools/{poolName}', { path: { poolName: 'default_pool' }, body: { slots: 64, includeDeferred: true } })).data?.slots, 64);
    await as.Op.call('post', '/pools', { body: { name: 'spare', slots: 2 } });
    const bySlots = await as.Viewer.call('get', '/pools', { query: { orderBy: '-slots', limit: 2 } });
    assert.deepEqual([bySlots.data?.pools.map((p) => p.name), bySlots.data?.totalEntries], [['default_pool', 'spare'], 3]);
    assert.deepEqual((await as.Viewer.call('get', '/pools', { query: { poolNamePattern: 'WARE' } })).data?.pools.map((p) => p.name), ['warehouse']);
    assert.equal((await as.Op.call('delete', '/pools/{poolName}', { path: { poolName: 'spare' } })).status, 200);
    assert.equal((await as.Viewer.call('get', '/pools/{poolName}', { path: { poolName: 'spare' } })).status, 404);
  });
});
