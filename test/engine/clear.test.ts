/**
 * The clear service on both databases: which task instances a request selects (regex, upstream,
 * downstream, only-failed, run and date bounds), what clearing does to them (none, fresh updated_at, more
 * tries) and to their runs (finished → queued, clear_number), the audit entry, and a running try that
 * learns from its heartbeat that it was cleared.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clearTaskInstances, selectClearedTasks } from '../../src/services/clear.ts';
import { SerializedDagCache } from '../../src/services/dagCache.ts';
import { EngineEvents } from '../../src/services/events.ts';
import { TaskLifecycle } from '../../src/services/taskLifecycle.ts';
import type { TaskInstanceState } from '../../src/core/states.ts';
import { chain, dag, EmptyOperator } from '../../src/sdk/index.ts';
import { upsertSerializedDag } from '../../src/store/dags.ts';
import { createDagRun, transitionDagRun } from '../../src/store/dagRuns.ts';
import type { MetadataDb } from '../../src/store/db.ts';
import { listTaskInstances, queueTaskInstance, transitionTis } from '../../src/store/taskInstances.ts';
import { forEachDialect } from '../support/dialects.ts';

/** a → b → c → d, and a → x (x has retries 2). */
const DAG = dag({ dagId: 'clearable' }, () => {
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((taskId) => new EmptyOperator({ taskId }));
  chain(a as EmptyOperator, b as EmptyOperator, c as EmptyOperator, d as EmptyOperator);
  (a as EmptyOperator).before(new EmptyOperator({ taskId: 'x', retries: 2 }));
}).serialize('/dags/clearable.ts');

test('task selection: regex, upstream, downstream', () => {
  const sel = (o: Parameters<typeof selectClearedTasks>[1]) => [...selectClearedTasks(DAG, o)].sort();
  assert.deepEqual(sel({}), ['a', 'b', 'c', 'd', 'x']);
  assert.deepEqual(sel({ taskRegex: '^c$' }), ['c']);
  assert.deepEqual(sel({ taskRegex: '^c$', upstream: true }), ['a', 'b', 'c']);
  assert.deepEqual(sel({ taskRegex: '^c$', downstream: true }), ['c', 'd']);
  assert.deepEqual(sel({ taskRegex: '^b$', upstream: true, downstream: true }), ['a', 'b', 'c', 'd']);
  assert.deepEqual(sel({ taskRegex: '^a$', downstream: true }), ['a', 'b', 'c', 'd', 'x']);
  assert.deepEqual(sel({ taskRegex: 'nothing' }), []);
  assert.deepEqual(sel({ taskIds: ['b', 'x'] }), ['b', 'x']);
  assert.deepEqual(sel({ taskIds: ['b', 'x'], taskRegex: '^x' }), ['x']);
  assert.deepEqual(sel({ taskIds: ['c'], upstream: true }), ['a', 'b', 'c']);
  assert.throws(() => selectClearedTasks(DAG, { taskIds: ['b', 'zz'] }), /DAG 'clearable' has no task 'zz'/);
  assert.throws(() => selectClearedTasks(DAG, { taskRegex: '[' }), /--task-regex '\[' is not a regular expression/);
});

forEachDialect('clear', (t) => {
  const lifecycle = () => new TaskLifecycle({ db: t.db, dags: new SerializedDagCache(t.db), events: new EngineEvents(), now: Date.now });

  /** A run with the given task states (tries counted as if each ran once), in run state `runState`. */
  async function makeRun(m: MetadataDb, runId: string, logicalDate: number, states: Record<string, TaskInstanceState>, runState: 'running' | 'success' | 'failed') {
    const run = await createDagRun(m, { dagId: 'clearable', runId, runType: 'manual', logicalDate, dataIntervalStart: logicalDate, dataIntervalEnd: logicalDate, conf: {} }, DAG, 1000);
    await transitionDagRun(m, run.id, ['queued'], 'running', 1000, { start_date: 1000 });
    if (runState !== 'running') await transitionDagRun(m, run.id, ['running'], runState, 2000, { end_date: 2000 });
    for (const ti of await listTaskInstances(m, { dagRunId: run.id })) {
      const target = states[ti.task_id] ?? 'none';
      if (target === 'none') continue;
      if (target === 'upstream_failed') {
        assert.deepEqual(await transitionTis(m, [ti.id], target, 1000), [ti.id]);
        continue;
      }
      await transitionTis(m, [ti.id], 'scheduled', 1000);
      await m.db.transaction().execute((tx) => queueTaskInstance(tx, ti.id, 'LocalExecutor', 1000, null));
      if (target === 'queued') continue;
      await transitionTis(m, [ti.id], 'running', 1000, { set: { last_heartbeat_at: 1000 } });
      if (target !== 'running') assert.deepEqual(await transitionTis(m, [ti.id], target, 1000), [ti.id]);
    }
    return run;
  }

  const statesOf = async (runId: string) => Object.fromEntries((await listTaskInstances(t.db, { dagId: 'clearable', runId })).map((ti) => [ti.task_id, ti.state]));

  test('only-failed with downstream clears the failure and what it blocked; the finished run goes back to queued', async () => {
    await upsertSerializedDag(t.db, DAG, 1000);
    await makeRun(t.db, 'r1', Date.parse('2026-01-01T00:00:00Z'), { a: 'success', b: 'failed', c: 'upstream_failed', d: 'upstream_failed', x: 'success' }, 'failed');
    const dry = await clearTaskInstances(t.db, { dagId: 'clearable', runId: 'r1', onlyFailed: true, dryRun: true }, 5000, 'test');
    assert.equal(dry.dryRun, true);
    assert.deepEqual(dry.taskInstances.map((x) => x.taskId).sort(), ['b', 'c', 'd']);
    assert.equal((await statesOf('r1')).b, 'failed', 'a dry run changes nothing');

    const before = Date.now();
    const result = await clearTaskInstances(t.db, { dagId: 'clearable', runId: 'r1', taskRegex: '^b$', downstream: true, onlyFailed: true }, before, 'cli:tester');
    assert.deepEqual(result.taskInstances.map((x) => [x.taskId, x.previousState]).sort(), [['b', 'failed'], ['c', 'upstream_failed'], ['d', 'upstream_failed']]);
    assert.deepEqual(result.runs, [{ runId: 'r1', previousState: 'failed', state: 'queued', clearNumber: 1 }]);
    assert.deepEqual(await statesOf('r1'), { a: 'success', b: 'none', c: 'none', d: 'none', x: 'success' });
    const rows = await listTaskInstances(t.db, { dagId: 'clearable', runId: 'r1' });
    const b = rows.find((r) => r.task_id === 'b');
    assert.equal(b?.updated_at, before, 'cleared rows carry the clear time so incremental scheduler syncs see them');
    assert.equal(b?.try_number, 1, 'the try count is kept');
    assert.equal(b?.max_tries, 1, 'max_tries = tries used + retries (0)');
    const run = await t.db.db.selectFrom('dag_run').selectAll().where('run_id', '=', 'r1').executeTakeFirstOrThrow();
    assert.deepEqual([run.state, run.clear_number, run.start_date, run.end_date], ['queued', 1, null, null]);
    const audit = await t.db.db.selectFrom('audit_log').selectAll().where('event', '=', 'task_instance.clear').execute();
    assert.equal(audit.length, 1);
    assert.deepEqual([audit[0]?.actor, audit[0]?.dag_id, audit[0]?.run_id], ['cli:tester', 'clearable', 'r1']);
    assert.equal((JSON.parse(audit[0]?.details ?? '{}') as { cleared: number }).cleared, 3);
  });

  test('a cleared task gets its retries again; a running run keeps its state; none is left alone', async () => {
    await makeRun(t.db, 'r2', Date.parse('2026-01-02T00:00:00Z'), { a: 'success', x: 'failed' }, 'running');
    const result = await clearTaskInstances(t.db, { dagId: 'clearable', runId: 'r2', taskRegex: 'x|b' }, Date.now(), 'test');
    assert.deepEqual(result.taskInstances.map((x) => x.taskId), ['x'], 'b was never run (none): nothing to clear');
    assert.deepEqual(result.runs, [{ runId: 'r2', previousState: 'running', state: 'running', clearNumber: 1 }]);
    const x = (await listTaskInstances(t.db, { dagId: 'clearable', runId: 'r2' })).find((r) => r.task_id === 'x');
    assert.deepEqual([x?.state, x?.try_number, x?.max_tries], ['none', 1, 3]);
  });

  test('a running try is cleared and its next heartbeat tells the worker to stop', async () => {
    const run = await makeRun(t.db, 'r3', Date.parse('2026-01-03T00:00:00Z'), { a: 'running' }, 'running');
    const a = (await listTaskInstances(t.db, { dagRunId: run.id })).find((r) => r.task_id === 'a');
    assert.ok(a);
    const lc = lifecycle();
    assert.deepEqual(await lc.heartbeat({ tiId: a.id, tryNumber: 1 }), { state: 'running', current: true });
    await clearTaskInstances(t.db, { dagId: 'clearable', runId: 'r3', taskRegex: '^a$' }, Date.now(), 'test');
    assert.deepEqual(await lc.heartbeat({ tiId: a.id, tryNumber: 1 }), { state: 'none', current: false });
    assert.equal(await lc.finish({ tiId: a.id, tryNumber: 1 }, { kind: 'success' }), null, 'the old try can no longer end the instance');
  });

  test('date bounds and all runs; unknown DAG or run is not_found', async () => {
    const all = await clearTaskInstances(t.db, { dagId: 'clearable', taskRegex: '^a$', startDate: Date.parse('2026-01-02T00:00:00Z'), dryRun: true }, Date.now(), 'test');
    assert.deepEqual(all.taskInstances.map((x) => x.runId).sort(), ['r2']);
    const every = await clearTaskInstances(t.db, { dagId: 'clearable', taskRegex: '^a$', dryRun: true }, Date.now(), 'test');
    assert.deepEqual(every.taskInstances.map((x) => x.runId).sort(), ['r1', 'r2']);
    await assert.rejects(clearTaskInstances(t.db, { dagId: 'nope' }, Date.now(), 'test'), { code: 'not_found' });
    await assert.rejects(clearTaskInstances(t.db, { dagId: 'clearable', runId: 'nope' }, Date.now(), 'test'), { code: 'not_found' });
  });
});
