/**
 * Mark success / failed for task instances (with downstream, past and future) and for whole runs, and run
 * notes, through the engine service and the REST API, with real task processes: a running try marked
 * failed stops and is not retried, and a finished run is judged again by the scheduler.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { markDagRun, markTaskInstances } from '../../src/services/mark.ts';
import { AuditLog } from '../../src/store/auditLog.ts';
import { getDagRun } from '../../src/store/dagRuns.ts';
import { readTaskLog } from '../../src/logging/taskLogReader.ts';
import { taskLogPath } from '../../src/logging/taskLog.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { stopPostgres } from '../support/postgres.ts';

// `long` waits until it is stopped; it has retries that a mark must not use.
const DAGS = {
  'long.ts': `
import { dag, task, getCurrentContext, EmptyOperator } from 'capstan';
export default dag({ dagId: 'long', schedule: null }, () => {
  const long = task({ taskId: 'long', retries: 2, retryDelay: 50 }, () => new Promise((_, reject) => {
    const ctx = getCurrentContext();
    const alive = setInterval(() => undefined, 1000); // something must keep the process's event loop busy
    ctx.signal.addEventListener('abort', () => { clearInterval(alive); reject(ctx.signal.reason); }, { once: true });
  }))();
  long.operator.before(new EmptyOperator({ taskId: 'after' }));
  new EmptyOperator({ taskId: 'side' });
});
`,
  'fails.ts': `
import { dag, BashOperator, EmptyOperator } from 'capstan';
export default dag({ dagId: 'fails', schedule: null }, () => {
  new BashOperator({ taskId: 'bad', bashCommand: 'exit 3' }).before(new EmptyOperator({ taskId: 'next' }));
});
`,
};

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`mark success / failed [${dialect}]`, () => {
    let t: TestEngine;
    before(async () => {
      t = await startTestEngine({ dialect, dags: DAGS, env: { CAPSTAN__SCHEDULER__TASK_HEARTBEAT_TIMEOUT_MS: '1500' } });
    });
    after(async () => {
      await t.stop();
    });

    const waitForState = async (dagId: string, runId: string, taskId: string, state: string) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const states = await t.taskStates(dagId, runId);
        if (states[taskId] === state) return;
        if (Date.now() > deadline) assert.fail(`${taskId} is ${states[taskId]}, not ${state}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    test('a running task marked failed with --downstream stops, is not retried, and the run fails', async () => {
      await t.trigger('long', { runId: 'r1' });
      await waitForState('long', 'r1', 'long', 'running');
      const result = await markTaskInstances(t.engine.db, { dagId: 'long', runId: 'r1', taskIds: ['long'], state: 'failed', downstream: true }, Date.now(), 'tester');
      assert.deepEqual(result.taskInstances.map((x) => [x.taskId, x.previousState]).sort(), [['after', 'none'], ['long', 'running']]);
      const run = await t.waitForRun('long', 'r1');
      assert.equal(run.state, 'failed');
      const tis = await t.taskInstances('long', 'r1');
      const long = tis.find((x) => x.task_id === 'long');
      assert.equal(long?.state, 'failed');
      assert.equal(long?.try_number, 1, 'no retry after a mark');
      assert.match(long?.failure_reason ?? '', /marked failed by tester/);
      assert.equal(tis.find((x) => x.task_id === 'after')?.state, 'failed');
      assert.equal(tis.find((x) => x.task_id === 'side')?.state, 'success');
      // The task process learned of the mark from its heartbeat and stopped.
      const logPath = taskLogPath(t.engine.config.logging.baseLogFolder, { dagId: 'long', runId: 'r1', taskId: 'long', mapIndex: -1, tryNumber: 1 });
      const deadline = Date.now() + 20_000;
      while (!(await readTaskLog(logPath).then((c) => c.text, () => '')).includes("the try is now 'failed'")) {
        if (Date.now() > deadline) assert.fail(`the task process did not stop: ${await readTaskLog(logPath).then((c) => c.text, (e: unknown) => String(e))}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const audit = await new AuditLog(t.engine.db).list({ dagId: 'long' });
      assert.ok(audit.some((e) => e.event === 'task_instance.mark_failed' && e.actor === 'tester'));
    });

    test('marking the failed task of a failed run success (with downstream) makes the run successful', async () => {
      await t.trigger('fails', { runId: 'r1' });
      assert.equal((await t.waitForRun('fails', 'r1')).state, 'failed');
      assert.deepEqual(await t.taskStates('fails', 'r1'), { bad: 'failed', next: 'upstream_failed' });
      const dry = await markTaskInstances(t.engine.db, { dagId: 'fails', runId: 'r1', taskIds: ['bad'], state: 'success', downstream: true, dryRun: true }, Date.now(), 'tester');
      assert.equal(dry.taskInstances.length, 2);
      assert.deepEqual(await t.taskStates('fails', 'r1'), { bad: 'failed', next: 'upstream_failed' }, 'a dry run changes nothing');
      await markTaskInstances(t.engine.db, { dagId: 'fails', runId: 'r1', taskIds: ['bad'], state: 'success', downstream: true }, Date.now(), 'tester');
      t.scheduler.wake();
      assert.equal((await t.waitForRun('fails', 'r1', { states: ['success'] })).state, 'success');
      assert.deepEqual(await t.taskStates('fails', 'r1'), { bad: 'success', next: 'success' });
    });

    test('--past / --future reach earlier / later runs only when asked', async () => {
      for (const id of ['p1', 'p2', 'p3']) {
        await t.trigger('fails', { runId: id });
        await t.waitForRun('fails', id);
      }
      const r = await markTaskInstances(t.engine.db, { dagId: 'fails', runId: 'p2', taskIds: ['bad'], state: 'success', future: true, dryRun: true }, Date.now(), 'tester');
      assert.deepEqual(r.taskInstances.map((x) => x.runId).sort(), ['p2', 'p3']);
      const p = await markTaskInstances(t.engine.db, { dagId: 'fails', runId: 'p2', taskIds: ['bad'], state: 'success', past: true, dryRun: true }, Date.now(), 'tester');
      assert.deepEqual(p.taskInstances.map((x) => x.runId).sort(), ['p1', 'p2']);
    });

    test('mark a run failed (running → failed, unfinished → skipped), then success; REST (API v2) PATCH for runs, notes and task instances', async () => {
      await t.trigger('long', { runId: 'r2' });
      await waitForState('long', 'r2', 'long', 'running');
      const failed = await markDagRun(t.engine.db, { dagId: 'long', runId: 'r2', state: 'failed' }, Date.now(), 'tester');
      assert.equal(failed.state, 'failed');
      const states = await t.taskStates('long', 'r2');
      assert.equal(states['long'], 'failed');
      assert.equal(states['after'], 'skipped');
      assert.equal((await getDagRun(t.engine.db, 'long', 'r2')).state, 'failed');

      const patch = (path: string, body: unknown) => t.apiFetch(`/api/v2${path}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const res = await patch('/dags/long/dagRuns/r2', { state: 'success', note: 'fixed by hand' });
      assert.equal(res.status, 200);
      const run = (await res.json()) as { state: string; note: string };
      assert.equal(run.state, 'success');
      assert.equal(run.note, 'fixed by hand');
      assert.deepEqual(await t.taskStates('long', 'r2'), { long: 'success', after: 'success', side: 'success' });

      const ti = await patch('/dags/long/dagRuns/r2/taskInstances/after', { newState: 'failed', dryRun: true });
      assert.equal(ti.status, 200);
      assert.deepEqual(((await ti.json()) as { taskInstances: Array<{ taskId: string }> }).taskInstances.map((x) => x.taskId), ['after']);
      const bad = await patch('/dags/long/dagRuns/r2/taskInstances/after', { newState: 'running' });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { error: { field?: string } }).error.field, 'newState');
      const audit = await new AuditLog(t.engine.db).list({ dagId: 'long' });
      assert.ok(audit.some((e) => e.event === 'dag_run.note' && e.actor === 'admin (token test-admin)'));
      assert.ok(audit.some((e) => e.event === 'dag_run.mark_success' && e.actor === 'admin (token test-admin)'));
    });
  });
}

after(async () => {
  await stopPostgres();
});
