/**
 * The Store made by createStore, on both dialects: its groups reach the same rows as the module
 * functions, `transaction` commits or rolls back as one, and the critical section's reads and commit
 * (store/queueing.ts) see pools, slots in use and candidates as the scheduler's decision expects.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BashOperator } from '../../src/sdk/bash.ts';
import { dag } from '../../src/sdk/dag.ts';
import { takeDefinedDags } from '../../src/sdk/authoring.ts';
import { createStore, transitionDagRun, transitionTis, upsertSerializedDag } from '../../src/store/index.ts';
import { forEachDialect } from '../support/dialects.ts';

forEachDialect('Store', (t) => {
  test('transaction: what fn wrote commits with it, or not at all when it throws', async () => {
    const store = createStore(t.db);
    await store.transaction(async (tx) => {
      await tx.pools.set('kept', { slots: 3 });
    });
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.pools.set('dropped', { slots: 4 });
        assert.equal((await tx.pools.get('dropped'))?.slots, 4, 'visible inside its transaction');
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal((await store.pools.get('kept'))?.slots, 3);
    assert.equal(await store.pools.get('dropped'), undefined);
    await store.ping();
  });

  test('the critical section through the store: pool sizes, slots in use, candidates leaving out starved pools and DAGs, commit and history', async () => {
    const store = createStore(t.db);
    const now = Date.now();
    const d = dag({ dagId: 'store_q', schedule: null, maxActiveTasks: 7 }, () => {
      new BashOperator({ taskId: 'a', bashCommand: 'true', pool: 'small', priorityWeight: 3 });
      new BashOperator({ taskId: 'b', bashCommand: 'true', priorityWeight: 2 });
      new BashOperator({ taskId: 'c', bashCommand: 'true', priorityWeight: 1 });
    });
    takeDefinedDags();
    const s = d.serialize('/dags/store_q.ts');
    await upsertSerializedDag(t.db, s, now);
    await store.pools.set('small', { slots: 2, includeDeferred: true });
    const run = await store.runs.create({ dagId: 'store_q', runId: 'r1', runType: 'manual', logicalDate: now, dataIntervalStart: now, dataIntervalEnd: now, conf: {} }, s, now);
    await transitionDagRun(t.db, run.id, ['queued'], 'running', now, { start_date: now });
    const tis = await store.taskInstances.list({ dagRunId: run.id });
    await transitionTis(t.db, tis.map((x) => x.id), 'scheduled', now);
    const byTask = new Map(tis.map((x) => [x.task_id, x]));

    const queued = await store.transaction(async (tx) => {
      const pools = await tx.queueing.poolSizes();
      assert.deepEqual(pools.find((p) => p.name === 'small'), { name: 'small', slots: 2, includeDeferred: true });
      assert.equal((await tx.queueing.dagTaskLimits()).get('store_q'), 7);
      assert.deepEqual(await tx.queueing.slotUsage(), []);
      const all = await tx.queueing.candidates(10, { pools: [], dags: [] });
      assert.deepEqual(all.map((c) => c.task_id), ['a', 'b', 'c'], 'highest priority first');
      const notSmall = await tx.queueing.candidates(10, { pools: ['small'], dags: [] });
      assert.deepEqual(notSmall.map((c) => c.task_id), ['b', 'c']);
      assert.deepEqual(await tx.queueing.candidates(10, { pools: [], dags: ['store_q'] }), []);
      return tx.queueing.commit([byTask.get('a')?.id ?? '', byTask.get('b')?.id ?? ''], 'LocalExecutor', now + 1, null);
    });
    assert.deepEqual([...queued.values()], [1, 1]);

    const usage = await store.transaction((tx) => tx.queueing.slotUsage());
    assert.deepEqual(
      usage.map((u) => [u.pool, u.dagId, u.state, u.slots, u.count]).sort(),
      [['default_pool', 'store_q', 'queued', 1, 1], ['small', 'store_q', 'queued', 1, 1]],
    );
    const a = byTask.get('a')?.id ?? '';
    assert.deepEqual({ ...(await store.taskInstances.position(a)) }, { state: 'queued', try_number: 1, end_date: null });
    assert.equal((await store.taskInstances.findById(a))?.executor, 'LocalExecutor');
    const moves = await store.history.ofTask({ dagId: 'store_q', runId: 'r1', taskId: 'a' });
    assert.deepEqual(moves.map((h) => h.to_state), ['scheduled', 'queued']);
  });
});
