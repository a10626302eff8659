/**
 * The in-process runner behind `dags test`, driven directly: retries that wait their (short) delay, an
 * execution timeout, an oversized XCom failing the try, params and conf, and a running task cleared from
 * outside — its heartbeat stops it and the run executes it again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clearTaskInstances } from '../../src/services/clear.ts';
import { SecretsLookup } from '../../src/secrets/index.ts';
import { dag, getCurrentContext, task } from '../../src/sdk/index.ts';
import { upsertSerializedDag } from '../../src/store/dags.ts';
import { listTries } from '../../src/store/taskInstances.ts';
import { pullXCom } from '../../src/store/xcom.ts';
import { runDagInProcess, type TaskOutcomeEvent } from '../../src/testing/index.ts';
import { forEachDialect } from '../support/dialects.ts';

const secrets = new SecretsLookup({ env: { CAPSTAN_VAR_GREETING: 'hello' } });

forEachDialect('in-process DAG run', (t) => {
  test('retries wait their delay; timeouts and oversized XComs fail the try; params, conf and variables reach tasks', async () => {
    const d = dag({ dagId: 'inproc', params: { who: 'world' } }, () => {
      task({ taskId: 'flaky', retries: 2, retryDelay: 50, retryExponentialBackoff: true }, () => {
        const ctx = getCurrentContext();
        if (ctx.tryNumber < 3) throw new Error(`try ${ctx.tryNumber} fails`);
        return ctx.tryNumber;
      })();
      task({ taskId: 'slow', executionTimeout: 100 }, () => new Promise((resolve) => setTimeout(resolve, 30_000).unref()))();
      task({ taskId: 'huge' }, () => 'x'.repeat(2_000))();
      task({ taskId: 'greet' }, async () => {
        const ctx = getCurrentContext();
        return `${await ctx.getVariable('greeting')} ${String(ctx.params['who'])} ${String(ctx.conf['extra'])}`;
      })();
    });
    const outcomes: TaskOutcomeEvent[] = [];
    const result = await runDagInProcess({ db: t.db, dag: d, fileloc: '/dags/inproc.ts', secrets, xcomMaxBytes: 1_000, conf: { extra: '!' }, onTaskOutcome: (e) => outcomes.push(e) });
    assert.equal(result.state, 'failed');
    const states = Object.fromEntries(result.taskInstances.map((ti) => [ti.task_id, [ti.state, ti.try_number]]));
    assert.deepEqual(states, { flaky: ['success', 3], greet: ['success', 1], huge: ['failed', 1], slow: ['failed', 1] });
    const flaky = outcomes.filter((o) => o.taskId === 'flaky');
    assert.deepEqual(flaky.map((o) => o.state), ['up_for_retry', 'up_for_retry', 'success']);
    const tries = await listTries(t.db, result.taskInstances.find((ti) => ti.task_id === 'flaky')?.id ?? '');
    // Each retry started no earlier than its backoff delay (50 ms, then 100 ms) after the failed try ended.
    for (const [i, delay] of [[1, 50], [2, 100]] as const) {
      const prevEnd = tries[i - 1]?.end_date ?? Number.POSITIVE_INFINITY;
      assert.ok((tries[i]?.start_date ?? 0) >= prevEnd + delay, `try ${i + 1} waited ${delay} ms`);
    }
    assert.match(result.taskInstances.find((ti) => ti.task_id === 'slow')?.failure_reason ?? '', /execution timeout of 100 ms exceeded/);
    assert.match(result.taskInstances.find((ti) => ti.task_id === 'huge')?.failure_reason ?? '', /is 2002 bytes; the limit is 1000 bytes/);
    assert.equal(await pullXCom(t.db, result.run.id, 'greet', 'return_value'), 'hello world !');
    assert.equal(await pullXCom(t.db, result.run.id, 'huge', 'return_value'), undefined);
  });

  test('a running task cleared from outside stops at its next heartbeat and runs again', async () => {
    const d = dag({ dagId: 'cleared_while_running' }, () => {
      task({ taskId: 'long' }, async () => {
        const ctx = getCurrentContext();
        if (ctx.tryNumber > 1) return 'second try';
        await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true }));
        return 'never';
      })();
    });
    await upsertSerializedDag(t.db, d.serialize('/dags/cleared.ts'), Date.now());
    let cleared: Promise<unknown> | undefined;
    const result = await runDagInProcess({
      db: t.db,
      dag: d,
      fileloc: '/dags/cleared.ts',
      secrets,
      xcomMaxBytes: 1_000,
      heartbeatIntervalMs: 20,
      onTaskStart: (e) => {
        if (e.tryNumber === 1) cleared = clearTaskInstances(t.db, { dagId: 'cleared_while_running', taskRegex: '^long$' }, Date.now(), 'test');
      },
    });
    await cleared;
    assert.equal(result.state, 'success');
    const ti = result.taskInstances[0];
    assert.deepEqual([ti?.state, ti?.try_number], ['success', 2]);
    const tries = await listTries(t.db, ti?.id ?? '');
    assert.deepEqual(tries.map((x) => x.state), ['running', 'success'], 'the first try was cut off by the clear (its row keeps its last recorded state)');
    assert.equal(await pullXCom(t.db, result.run.id, 'long', 'return_value'), 'second try');
  });

  test('a second test of the same logical date replaces the finished run; an active run is not touched', async () => {
    const d = dag({ dagId: 'again' }, () => {
      task({ taskId: 'one' }, () => getCurrentContext().runId)();
    });
    const at = Date.parse('2026-05-01T00:00:00Z');
    const first = await runDagInProcess({ db: t.db, dag: d, fileloc: '/dags/again.ts', secrets, xcomMaxBytes: 1_000, logicalDate: at });
    let replaced: string | undefined;
    const second = await runDagInProcess({ db: t.db, dag: d, fileloc: '/dags/again.ts', secrets, xcomMaxBytes: 1_000, logicalDate: at, onRunCreated: (_, r) => (replaced = r?.state) });
    assert.equal(replaced, 'success');
    assert.equal(second.run.run_id, first.run.run_id);
    assert.notEqual(second.run.id, first.run.id);
    const runs = await t.db.db.selectFrom('dag_run').select('id').where('dag_id', '=', 'again').execute();
    assert.deepEqual(runs.map((r) => r.id), [second.run.id]);
    assert.deepEqual(second.taskInstances.map((ti) => [ti.state, ti.try_number]), [['success', 1]]);
    assert.equal(await pullXCom(t.db, second.run.id, 'one', 'return_value'), 'manual__2026-05-01T00:00:00+00:00');

    await t.db.db.updateTable('dag_run').set({ state: 'running' }).where('id', '=', second.run.id).execute();
    await assert.rejects(runDagInProcess({ db: t.db, dag: d, fileloc: '/dags/again.ts', secrets, xcomMaxBytes: 1_000, logicalDate: at }), /already has a running run 'manual__2026-05-01T00:00:00\+00:00'/);
    await runDagInProcess({ db: t.db, dag: d, fileloc: '/dags/again.ts', secrets, xcomMaxBytes: 1_000, runId: 'x' });
    await assert.rejects(runDagInProcess({ db: t.db, dag: d, fileloc: '/dags/again.ts', secrets, xcomMaxBytes: 1_000, runId: 'x', replaceFinishedRun: false }), /already has a success run 'x'/);
  });
});
