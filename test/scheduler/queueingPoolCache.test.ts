/**
 * The scheduler caches the pool list on SQLite for a moment; a pool created within that moment must not
 * make a task in it fail as "pool does not exist". A missing pool is judged only on a list read afresh.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { openFreshDb } from '../support/dialects.ts';
import { dag } from '../../src/sdk/dag.ts';
import { BashOperator } from '../../src/sdk/bash.ts';
import { takeDefinedDags } from '../../src/sdk/authoring.ts';
import { upsertSerializedDag } from '../../src/store/dags.ts';
import { createDagRun, transitionDagRun } from '../../src/store/dagRuns.ts';
import { listTaskInstances, transitionTis } from '../../src/store/taskInstances.ts';
import { PoolStore } from '../../src/store/pools.ts';
import { QueueingCache, queueScheduledTasks } from '../../src/scheduler/queueing.ts';

const fresh = await openFreshDb('sqlite');
after(() => fresh.dispose());

test('a pool created after the cached pool list was read: the task waits one loop, then queues; a truly missing pool fails it', async () => {
  const m = fresh.db;
  const now = Date.now();
  const d = dag({ dagId: 'late_pool', schedule: null }, () => {
    new BashOperator({ taskId: 'a', bashCommand: 'true', pool: 'late' });
    new BashOperator({ taskId: 'b', bashCommand: 'true', pool: 'never' });
  });
  takeDefinedDags();
  const s = d.serialize('/dags/late_pool.ts');
  await upsertSerializedDag(m, s, now);
  const run = await createDagRun(m, { dagId: 'late_pool', runId: 'r1', runType: 'manual', logicalDate: now, dataIntervalStart: now, dataIntervalEnd: now, conf: {} }, s, now);
  await transitionDagRun(m, run.id, ['queued'], 'running', now, { start_date: now });
  const limits = { openExecutorSlots: 10, maxTisPerQuery: 100, maxActiveTasks: () => 16, executorName: 'LocalExecutor', jobId: null };
  const cache = new QueueingCache(60_000);

  // Warm the cache while no task is scheduled: it now lists only default_pool.
  assert.deepEqual(await queueScheduledTasks(m, limits, now, cache), []);
  await new PoolStore(m).set('late', { slots: 1 });
  const tis = await listTaskInstances(m, { dagRunId: run.id });
  await transitionTis(m, tis.map((t) => t.id), 'scheduled', now);

  // Same moment, cached list: nothing fails, nothing queues.
  assert.deepEqual(await queueScheduledTasks(m, limits, now + 1, cache), []);
  const states1 = Object.fromEntries((await listTaskInstances(m, { dagRunId: run.id })).map((t) => [t.task_id, t.state]));
  assert.deepEqual(states1, { a: 'scheduled', b: 'scheduled' });

  // Next loop reads the pools afresh: 'late' queues, 'never' fails with the fix.
  const queued = await queueScheduledTasks(m, limits, now + 2, cache);
  assert.deepEqual(queued.map((q) => q.ti.task_id), ['a']);
  const after2 = await listTaskInstances(m, { dagRunId: run.id });
  const b = after2.find((t) => t.task_id === 'b');
  assert.equal(b?.state, 'failed');
  assert.match(b?.failure_reason ?? '', /pool 'never' does not exist/);
});
