/**
 * Zombies through real task processes: a task process that stops heart-beating (SIGSTOP) is failed or
 * retried by the scheduler's zombie check with reason 'heartbeat lost', and stopped for good, with the
 * command it started; a task process killed with SIGKILL is failed or retried with a reason saying it died
 * without reporting. A try is a zombie after 3 s without a heartbeat here (task processes then beat every
 * second), and a healthy task running longer than that threshold is not taken for one.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stopPostgres } from '../support/postgres.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { isAlive, isRunning, waitFor } from '../support/processes.ts';
import { findTaskInstance, listTries } from '../../src/store/taskInstances.ts';
import type { TaskInstanceRow } from '../../src/store/schema.ts';

/** Try 1 starts a long command and records its pids; later tries succeed at once. */
const firstTryHangs = (file: string) => `if [ "$CAPSTAN_CTX_TRY_NUMBER" = 1 ]; then sleep 30 & echo "$$ $!" > ${file}; wait; fi`;

function dags(dir: string): string {
  return `
import { dag, BashOperator } from 'capstan';
dag({ dagId: 'stopped', schedule: null }, () => {
  new BashOperator({ taskId: 'work', bashCommand: ${JSON.stringify(firstTryHangs(join(dir, 'stopped.pids')))}, retries: 1, retryDelay: 100 });
});
dag({ dagId: 'stopped_no_retry', schedule: null }, () => {
  new BashOperator({ taskId: 'work', bashCommand: ${JSON.stringify(firstTryHangs(join(dir, 'stopped_no_retry.pids')))} });
});
dag({ dagId: 'killed', schedule: null }, () => {
  new BashOperator({ taskId: 'work', bashCommand: ${JSON.stringify(firstTryHangs(join(dir, 'killed.pids')))}, retries: 1, retryDelay: 100 });
});
`;
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`zombies [${dialect}]`, () => {
    let t: TestEngine;
    /** Every pid this file stops or starts, killed in `after` if still there. */
    const cleanup: number[] = [];
    before(async () => {
      t = await startTestEngine({
        dialect,
        env: { CAPSTAN__SCHEDULER__TASK_HEARTBEAT_TIMEOUT_MS: '3000', CAPSTAN__CORE__KILLED_TASK_CLEANUP_TIME_MS: '1000' },
      });
      t.writeDag('zombies.ts', dags(t.home));
      await t.processor.processOnce();
    });
    after(async () => {
      for (const pid of cleanup) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone, as it should be
        }
      }
      await t.stop();
    });

    /** Trigger `dagId` and return its try-1 task instance once the command is running. */
    async function startFirstTry(dagId: string): Promise<{ ti: TaskInstanceRow; commandPids: number[] }> {
      await t.trigger(dagId, { runId: 'r1' });
      const pidFile = join(t.home, `${dagId}.pids`);
      let ti: TaskInstanceRow | undefined;
      await waitFor(
        async () => {
          ti = await findTaskInstance(t.engine.db, dagId, 'r1', 'work');
          return ti.state === 'running' && ti.pid !== null && existsSync(pidFile) && readFileSync(pidFile, 'utf8').includes(' ');
        },
        `${dagId}: try 1 never started its command`,
        30_000,
      );
      assert.ok(ti?.pid);
      const commandPids = readFileSync(pidFile, 'utf8').trim().split(/\s+/).map(Number);
      cleanup.push(ti.pid, ...commandPids);
      return { ti, commandPids };
    }

    test('a stopped task process loses its heartbeat: the try is retried with "heartbeat lost", and it and its command are stopped', async () => {
      const { ti, commandPids } = await startFirstTry('stopped');
      process.kill(ti.pid as number, 'SIGSTOP');
      const run = await t.waitForRun('stopped', 'r1');
      assert.equal(run.state, 'success');
      const tries = await listTries(t.engine.db, ti.id);
      assert.deepEqual(
        tries.map((x) => [x.try_number, x.state]),
        [
          [1, 'up_for_retry'],
          [2, 'success'],
        ],
      );
      assert.match(tries[0]?.failure_reason ?? '', /heartbeat lost/);
      for (const pid of [ti.pid as number, ...commandPids]) {
        await waitFor(async () => !(await isRunning(pid)), `process ${pid} of the zombie try is still there`);
      }
    });

    test('without retries left, a zombie try fails the task', async () => {
      const { ti } = await startFirstTry('stopped_no_retry');
      process.kill(ti.pid as number, 'SIGSTOP');
      const run = await t.waitForRun('stopped_no_retry', 'r1');
      assert.equal(run.state, 'failed');
      const row = await findTaskInstance(t.engine.db, 'stopped_no_retry', 'r1', 'work');
      assert.equal(row.state, 'failed');
      assert.match(row.failure_reason ?? '', /heartbeat lost/);
      await waitFor(async () => !(await isRunning(ti.pid as number)), 'the stopped task process was not killed');
    });

    test('a task process killed with SIGKILL is retried with a reason saying it died without reporting', async () => {
      const { ti } = await startFirstTry('killed');
      process.kill(ti.pid as number, 'SIGKILL');
      const run = await t.waitForRun('killed', 'r1');
      assert.equal(run.state, 'success');
      const tries = await listTries(t.engine.db, ti.id);
      assert.deepEqual(
        tries.map((x) => [x.try_number, x.state]),
        [
          [1, 'up_for_retry'],
          [2, 'success'],
        ],
      );
      assert.match(tries[0]?.failure_reason ?? '', /task process killed by SIGKILL without reporting a result/);
      assert.equal(isAlive(ti.pid as number), false);
    });
  });
}

describe('a healthy task is no zombie', () => {
  let t: TestEngine;
  before(async () => {
    // The default executor, so the task heartbeat interval is whatever the installation derives.
    t = await startTestEngine({
      env: { CAPSTAN__SCHEDULER__TASK_HEARTBEAT_TIMEOUT_MS: '3000' },
      dags: { 'slow.ts': `import { dag, BashOperator } from 'capstan';\ndag({ dagId: 'slow', schedule: null }, () => { new BashOperator({ taskId: 'work', bashCommand: 'sleep 4.5' }); });\n` },
    });
  });
  after(async () => {
    await t.stop();
  });

  test('a task running longer than scheduler.taskHeartbeatTimeoutMs keeps heart-beating often enough', async () => {
    await t.trigger('slow', { runId: 'r1' });
    const run = await t.waitForRun('slow', 'r1');
    const [ti] = await t.taskInstances('slow', 'r1');
    assert.equal(ti?.failure_reason ?? null, null);
    assert.equal(run.state, 'success');
    assert.equal(ti?.try_number, 1);
  });
});

after(() => stopPostgres());
