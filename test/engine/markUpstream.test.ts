/**
 * Marking with upstream (and upstream + downstream) on both databases: the ancestors of the named task
 * are marked with it and nothing else is; a finished run is handed back to the scheduler to judge. (The
 * downstream, past and future cases are covered by mark.test.ts through a real scheduler.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { markTaskInstances } from '../../src/services/mark.ts';
import type { TaskInstanceState } from '../../src/core/states.ts';
import { chain, dag, EmptyOperator } from '../../src/sdk/index.ts';
import { upsertSerializedDag } from '../../src/store/dags.ts';
import { createDagRun, getDagRun, transitionDagRun } from '../../src/store/dagRuns.ts';
import { listTaskInstances } from '../../src/store/taskInstances.ts';
import { forEachDialect } from '../support/dialects.ts';

/** a → b → c → d, and a → x. */
const DAG = dag({ dagId: 'markable' }, () => {
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((taskId) => new EmptyOperator({ taskId })) as [EmptyOperator, EmptyOperator, EmptyOperator, EmptyOperator];
  chain(a, b, c, d);
  a.before(new EmptyOperator({ taskId: 'x' }));
}).serialize('/dags/markable.ts');

forEachDialect('mark with upstream', (t) => {
  /** A run whose tasks are in `states` (others none), in run state `runState`. */
  async function makeRun(runId: string, states: Record<string, TaskInstanceState>, runState: 'running' | 'failed') {
    const run = await createDagRun(t.db, { dagId: 'markable', runId, runType: 'manual', logicalDate: 1000, dataIntervalStart: 1000, dataIntervalEnd: 1000, conf: {} }, DAG, 1000);
    await transitionDagRun(t.db, run.id, ['queued'], 'running', 1000, { start_date: 1000 });
    if (runState === 'failed') await transitionDagRun(t.db, run.id, ['running'], 'failed', 2000, { end_date: 2000 });
    for (const ti of await listTaskInstances(t.db, { dagRunId: run.id })) {
      const target = states[ti.task_id];
      if (target) await t.db.db.updateTable('task_instance').set({ state: target }).where('id', '=', ti.id).execute();
    }
  }
  const statesOf = async (runId: string) => Object.fromEntries((await listTaskInstances(t.db, { dagId: 'markable', runId })).map((ti) => [ti.task_id, ti.state]));

  test('mark-success c with upstream marks a, b, c only; the failed run goes back to running', async () => {
    await upsertSerializedDag(t.db, DAG, 1000);
    await makeRun('r1', { a: 'failed', b: 'upstream_failed', c: 'upstream_failed', d: 'upstream_failed', x: 'upstream_failed' }, 'failed');
    const dry = await markTaskInstances(t.db, { dagId: 'markable', runId: 'r1', taskIds: ['c'], state: 'success', upstream: true, dryRun: true }, 3000, 'test');
    assert.deepEqual(dry.taskInstances.map((m) => m.taskId).sort(), ['a', 'b', 'c']);
    assert.equal((await statesOf('r1'))['a'], 'failed', 'a dry run changes nothing');

    const done = await markTaskInstances(t.db, { dagId: 'markable', runId: 'r1', taskIds: ['c'], state: 'success', upstream: true }, 3000, 'test');
    assert.deepEqual(done.taskInstances.map((m) => [m.taskId, m.previousState]).sort(), [['a', 'failed'], ['b', 'upstream_failed'], ['c', 'upstream_failed']]);
    assert.deepEqual(await statesOf('r1'), { a: 'success', b: 'success', c: 'success', d: 'upstream_failed', x: 'upstream_failed' });
    assert.equal((await getDagRun(t.db, 'markable', 'r1')).state, 'running');
  });

  test('mark-failed b with upstream and downstream reaches a, b, c, d but not x', async () => {
    await makeRun('r2', { a: 'success', b: 'running' }, 'running');
    const done = await markTaskInstances(t.db, { dagId: 'markable', runId: 'r2', taskIds: ['b'], state: 'failed', upstream: true, downstream: true }, 3000, 'test');
    // a already succeeded and may be marked failed; c and d had not run yet.
    assert.deepEqual(done.taskInstances.map((m) => m.taskId).sort(), ['a', 'b', 'c', 'd']);
    const s = await statesOf('r2');
    assert.deepEqual([s['a'], s['b'], s['c'], s['d'], s['x']], ['failed', 'failed', 'failed', 'failed', 'none']);
    const b = (await listTaskInstances(t.db, { dagId: 'markable', runId: 'r2' })).find((ti) => ti.task_id === 'b');
    assert.equal(b?.failure_reason, 'marked failed by test');
  });
});
