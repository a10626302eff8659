/**
 * DAG-level callbacks run once per ended run in a callback process the scheduler forks (they write to a
 * file here, so each call is visible); a throwing callback is logged and recorded, never fatal; a second
 * scheduler (a restart) does not run a done callback again and runs a pending one exactly once. Task
 * callbacks: onExecute runs before execute, a throwing onSuccess is logged and the task still succeeds.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createScheduler } from '../../src/app/roles.ts';
import { SecretsLookup } from '../../src/secrets/index.ts';
import { dag, task } from '../../src/sdk/index.ts';
import { getDagRun } from '../../src/store/dagRuns.ts';
import { runDagInProcess, type TaskLogLine } from '../../src/testing/index.ts';
import { forEachDialect } from '../support/dialects.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { stopPostgres } from '../support/postgres.ts';

const out = mkdtempSync(join(tmpdir(), 'capstan-dag-callbacks-'));
const calls = join(out, 'calls.jsonl');

const DAGS = {
  'cb.ts': `
import { appendFileSync } from 'node:fs';
import { dag, BashOperator } from 'capstan';
const record = (ctx) => appendFileSync(${JSON.stringify(calls)}, JSON.stringify(ctx) + '\\n');
export default dag({ dagId: 'cb', schedule: null, onSuccess: record, onFailure: record }, () => {
  const a = new BashOperator({ taskId: 'a', bashCommand: 'test "$CAPSTAN_CTX_RUN_ID" != fail' });
  a.before(new BashOperator({ taskId: 'b', bashCommand: 'true' }));
});
`,
  'cb_err.ts': `
import { dag, EmptyOperator } from 'capstan';
export default dag({ dagId: 'cb_err', schedule: null, onSuccess: () => { throw new Error('callback exploded'); } }, () => {
  new EmptyOperator({ taskId: 'only' });
});
`,
};

interface Call {
  runId: string;
  state: string;
  reason: string;
  taskStates: Record<string, string>;
  logicalDate: string | null;
}

const readCalls = (): Call[] => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Call) : []);

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`DAG callbacks [${dialect}]`, () => {
    let t: TestEngine;
    before(async () => {
      rmSync(calls, { force: true });
      t = await startTestEngine({ dialect, dags: DAGS });
    });
    after(async () => {
      await t.stop();
    });

    const waitForCallback = async (dagId: string, runId: string, state: string) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const run = await getDagRun(t.engine.db, dagId, runId);
        if (run.callback_state === state) return;
        if (Date.now() > deadline) assert.fail(`callback of ${dagId}/${runId} is ${run.callback_state}, not ${state}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    test('onSuccess and onFailure run once each with the run, reason and final task states', async () => {
      await t.trigger('cb', { runId: 'ok' });
      await t.waitForRun('cb', 'ok');
      await t.trigger('cb', { runId: 'fail' });
      assert.equal((await t.waitForRun('cb', 'fail')).state, 'failed');
      await waitForCallback('cb', 'ok', 'done');
      await waitForCallback('cb', 'fail', 'done');
      const got = readCalls().sort((x, y) => x.runId.localeCompare(y.runId));
      assert.equal(got.length, 2);
      assert.deepEqual(
        got.map((c) => [c.runId, c.state, c.taskStates]),
        [
          ['fail', 'failed', { a: 'failed', b: 'upstream_failed' }],
          ['ok', 'success', { a: 'success', b: 'success' }],
        ],
      );
      assert.match(got[0]?.reason ?? '', /task\(s\) failed: a, b/);
      assert.ok(got[1]?.logicalDate, 'the logical date is passed');
    });

    test('a throwing callback is recorded as failed and the scheduler carries on', async () => {
      await t.trigger('cb_err', { runId: 'e1' });
      assert.equal((await t.waitForRun('cb_err', 'e1')).state, 'success');
      await waitForCallback('cb_err', 'e1', 'failed');
      await t.trigger('cb_err', { runId: 'e2' });
      assert.equal((await t.waitForRun('cb_err', 'e2')).state, 'success');
    });

    test('a restarted scheduler does not run a done callback again, and runs a pending one exactly once', async () => {
      const before = readCalls().length;
      // A run whose scheduler ended it and then died before running its callback.
      await t.trigger('cb', { runId: 'orphan' });
      await t.waitForRun('cb', 'orphan');
      await waitForCallback('cb', 'orphan', 'done');
      await t.engine.db.db.updateTable('dag_run').set({ callback_state: 'pending' }).where('run_id', '=', 'orphan').execute();
      const restarted = createScheduler(t.engine, t.executor);
      await Promise.all([restarted.runOnce(), restarted.runOnce(), t.scheduler.runOnce()]);
      await waitForCallback('cb', 'orphan', 'done');
      const after = readCalls();
      assert.equal(after.filter((c) => c.runId === 'orphan').length, 2, 'the orphan run: once when it ended, once more after being made pending again');
      assert.equal(after.filter((c) => c.runId === 'ok').length, 1, 'a done callback is not run again');
      assert.equal(after.length, before + 2);
    });
  });
}

forEachDialect('task callbacks (in process)', (t) => {
  test('onExecute runs before execute; a throwing onSuccess is logged and the task still succeeds; onRetry and onFailure once per try', async () => {
    const events: string[] = [];
    const d = dag({ dagId: 'task_cbs' }, () => {
      task(
        {
          taskId: 'ok',
          onExecute: (ctx) => void events.push(`execute-hook:${ctx.taskId}`),
          onSuccess: () => {
            events.push('success-cb');
            throw new Error('success callback exploded');
          },
        },
        () => void events.push('run:ok'),
      )();
      task(
        { taskId: 'bad', retries: 1, retryDelay: 1, onRetry: () => void events.push('retry-cb'), onFailure: (_ctx, info) => void events.push(`failure-cb:${(info.error as Error | undefined)?.message}`) },
        () => {
          throw new Error('boom');
        },
      )();
    });
    const lines: TaskLogLine[] = [];
    const r = await runDagInProcess({ db: t.db, dag: d, fileloc: '/dags/cbs.ts', secrets: new SecretsLookup({ env: {} }), xcomMaxBytes: 10_000, retryDelay: 'skip', onLog: (l) => lines.push(l) });
    assert.deepEqual(Object.fromEntries(r.taskInstances.map((ti) => [ti.task_id, ti.state])), { ok: 'success', bad: 'failed' });
    assert.deepEqual(events.filter((e) => e !== 'retry-cb' && !e.startsWith('failure')), ['execute-hook:ok', 'run:ok', 'success-cb']);
    assert.equal(events.filter((e) => e === 'retry-cb').length, 1);
    assert.deepEqual(events.filter((e) => e.startsWith('failure-cb')), ['failure-cb:boom']);
    assert.ok(lines.some((l) => l.level === 'ERROR' && /callback for state success failed \(ignored\): success callback exploded/.test(l.message)));
  });
});

forEachDialect('DAG callbacks in dags test (in process)', (t) => {
  test('the callback of the ended run runs here once; a throwing one is reported, not thrown', async () => {
    const seen: string[] = [];
    const ok = dag({ dagId: 'inproc_cb', onSuccess: (ctx) => void seen.push(`${ctx.state}:${ctx.reason}:${JSON.stringify(ctx.taskStates)}`) }, () => {
      task({ taskId: 'x' }, () => 1)();
    });
    const reports: Array<{ kind: string; error: string | null }> = [];
    const r = await runDagInProcess({ db: t.db, dag: ok, fileloc: '/dags/cb.ts', secrets: new SecretsLookup({ env: {} }), xcomMaxBytes: 10_000, onDagCallback: (e) => reports.push(e) });
    assert.deepEqual(seen, ['success:all leaf tasks succeeded or were skipped:{"x":"success"}']);
    assert.deepEqual(reports, [{ kind: 'onSuccess', error: null }]);
    assert.equal(r.run.callback_state, 'done');
    const bad = dag({ dagId: 'inproc_cb_bad', onFailure: () => { throw new Error('nope'); } }, () => {
      task({ taskId: 'y' }, () => { throw new Error('task fails'); })();
    });
    const reports2: Array<{ kind: string; error: string | null }> = [];
    const r2 = await runDagInProcess({ db: t.db, dag: bad, fileloc: '/dags/cb.ts', secrets: new SecretsLookup({ env: {} }), xcomMaxBytes: 10_000, onDagCallback: (e) => reports2.push(e) });
    assert.equal(r2.state, 'failed');
    assert.deepEqual(reports2, [{ kind: 'onFailure', error: 'nope' }]);
    assert.equal(r2.run.callback_state, 'failed');
  });
});

after(async () => {
  rmSync(out, { recursive: true, force: true });
  await stopPostgres();
});

