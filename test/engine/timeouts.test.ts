/**
 * Timeouts through real task processes: a try past its executionTimeout fails with a timeout reason, its
 * command's processes are gone, and it is retried while retries remain; a run past its dagrunTimeout
 * fails and its unfinished tasks end skipped, their processes stopped.
 */
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stopPostgres } from '../support/postgres.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { listTries } from '../../src/store/taskInstances.ts';
import { isRunning, waitFor } from '../support/processes.ts';

/** Bash that records its own pid and its background child's, then waits far longer than any timeout. */
const longCommand = (dir: string, name: string, prefix = '') =>
  `${prefix}sleep 30 & echo "$$ $!" > ${join(dir, name)}.$CAPSTAN_CTX_TRY_NUMBER; wait`;

function dags(dir: string): string {
  return `
import { dag, task, BashOperator, chain } from 'capstan';
dag({ dagId: 'exec_timeout', schedule: null }, () => {
  new BashOperator({ taskId: 'slow', bashCommand: ${JSON.stringify(longCommand(dir, 'slow'))}, executionTimeout: '2s', retries: 1, retryDelay: 100 });
});
dag({ dagId: 'exec_timeout_stubborn', schedule: null }, () => {
  // Ignores SIGTERM: stopping it must not depend on the command's cooperation.
  new BashOperator({ taskId: 'stubborn', bashCommand: ${JSON.stringify(longCommand(dir, 'stubborn', "trap '' TERM; "))}, executionTimeout: '2s' });
});
// Blocks its own event loop, so the task process cannot enforce the timeout: the scheduler must.
const spin = task({ taskId: 'spin', executionTimeout: '1s' }, () => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // blocks the thread without using CPU
});
dag({ dagId: 'exec_timeout_blocked', schedule: null }, () => { spin(); });
// Long enough for 'first' and the start of 'hang' on a busy machine.
dag({ dagId: 'run_timeout', schedule: null, dagrunTimeout: '5s' }, () => {
  const first = new BashOperator({ taskId: 'first', bashCommand: 'true' });
  const hang = new BashOperator({ taskId: 'hang', bashCommand: ${JSON.stringify(longCommand(dir, 'hang'))} });
  const next = new BashOperator({ taskId: 'next', bashCommand: 'true' });
  chain(first, hang, next);
});
`;
}

function pidsOf(file: string): number[] {
  return readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`timeouts [${dialect}]`, () => {
    let t: TestEngine;
    let dir: string;
    before(async () => {
      t = await startTestEngine({ dialect, env: { CAPSTAN__CORE__KILLED_TASK_CLEANUP_TIME_MS: '1000' } });
      dir = t.home;
      t.writeDag('timeouts.ts', dags(dir));
      await t.processor.processOnce();
    });
    after(async () => {
      await t.stop();
    });

    test('executionTimeout fails the try with a timeout reason, kills its processes, and retries', async () => {
      await t.trigger('exec_timeout', { runId: 'r1' });
      const run = await t.waitForRun('exec_timeout', 'r1');
      assert.equal(run.state, 'failed');
      const [ti] = await t.taskInstances('exec_timeout', 'r1');
      assert.ok(ti);
      const tries = await listTries(t.engine.db, ti.id);
      assert.deepEqual(
        tries.map((x) => [x.try_number, x.state]),
        [
          [1, 'up_for_retry'],
          [2, 'failed'],
        ],
      );
      for (const x of tries) assert.match(x.failure_reason ?? '', /execution ?timeout/i);
      for (const n of [1, 2]) {
        const pids = pidsOf(join(dir, `slow.${n}`));
        assert.equal(pids.length, 2);
        for (const pid of pids) await waitFor(async () => !(await isRunning(pid)), `process ${pid} of try ${n} is still alive`);
      }
    });

    test('a command that ignores SIGTERM is still stopped at the timeout', async () => {
      await t.trigger('exec_timeout_stubborn', { runId: 'r1' });
      const run = await t.waitForRun('exec_timeout_stubborn', 'r1');
      assert.equal(run.state, 'failed');
      const [ti] = await t.taskInstances('exec_timeout_stubborn', 'r1');
      assert.match(ti?.failure_reason ?? '', /execution ?timeout/i);
      for (const pid of pidsOf(join(dir, 'stubborn.1'))) await waitFor(async () => !(await isRunning(pid)), `process ${pid} survived the timeout`);
    });

    // The backstop's query is the same on both databases and the wait is long (the grace): SQLite only.
    if (dialect === 'sqlite') test('a task that blocks its own event loop is stopped by the scheduler after executionTimeout (plus a grace)', async () => {
      await t.trigger('exec_timeout_blocked', { runId: 'r1' });
      const run = await t.waitForRun('exec_timeout_blocked', 'r1', { timeoutMs: 30_000 });
      assert.equal(run.state, 'failed');
      const [ti] = await t.taskInstances('exec_timeout_blocked', 'r1');
      assert.equal(ti?.state, 'failed');
      assert.match(ti?.failure_reason ?? '', /execution ?timeout/i);
      assert.ok(ti?.pid);
      await waitFor(async () => !(await isRunning(ti.pid as number)), `the blocked task process ${ti.pid} is still running`);
    });

    test('dagrunTimeout fails the run, skips its unfinished tasks and stops their processes', async () => {
      await t.trigger('run_timeout', { runId: 'r1' });
      const run = await t.waitForRun('run_timeout', 'r1');
      assert.equal(run.state, 'failed');
      const states = await t.taskStates('run_timeout', 'r1');
      assert.deepEqual(states, { first: 'success', hang: 'skipped', next: 'skipped' });
      const hang = (await t.taskInstances('run_timeout', 'r1')).find((x) => x.task_id === 'hang');
      assert.match(hang?.failure_reason ?? '', /dagrunTimeout/);
      assert.ok(existsSync(join(dir, 'hang.1')));
      for (const pid of pidsOf(join(dir, 'hang.1'))) await waitFor(async () => !(await isRunning(pid)), `process ${pid} of the timed-out run is still alive`);
    });
  });
}

after(() => stopPostgres());
