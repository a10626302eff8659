/**
 * Retries through real task processes: every try is kept (task_instance_try rows 1..n with their states),
 * the wait before each retry grows with exponential backoff and is capped by maxRetryDelay, and a
 * TaskFailFast thrown by task code ends the task without using its retries.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { stopPostgres } from '../support/postgres.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { listTries } from '../../src/store/taskInstances.ts';
import type { TaskInstanceRow } from '../../src/store/schema.ts';

const DAGS = `
import { dag, task, BashOperator, TaskFailFast } from 'capstan';
// Fails on tries 1 and 2, succeeds on try 3.
dag({ dagId: 'backoff', schedule: null }, () => {
  new BashOperator({
    taskId: 'flaky',
    bashCommand: 'test "$CAPSTAN_CTX_TRY_NUMBER" -ge 3',
    retries: 3,
    retryDelay: 200,
    retryExponentialBackoff: true,
  });
});
// Always fails: 200, 400 → capped at 300, 800 → capped at 300.
dag({ dagId: 'capped', schedule: null }, () => {
  new BashOperator({
    taskId: 'always_fails',
    bashCommand: 'exit 3',
    retries: 3,
    retryDelay: '200ms',
    retryExponentialBackoff: true,
    maxRetryDelay: '300ms',
  });
});
const failFast = task({ taskId: 'fail_fast', retries: 3, retryDelay: 100 }, () => {
  throw new TaskFailFast('the input is malformed; retrying cannot help');
});
dag({ dagId: 'fail_fast', schedule: null }, () => { failFast(); });
`;

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`retries [${dialect}]`, () => {
    let t: TestEngine;
    /** next_retry_at − end_date of every up_for_retry transition, per task instance, in order. */
    const delays = new Map<string, number[]>();
    before(async () => {
      t = await startTestEngine({ dialect, dags: { 'retries.ts': DAGS } });
      // Observe each retry decision as it is made: the row keeps next_retry_at until the retry is queued,
      // which is at least the delay later, so reading it right after the event sees it.
      t.engine.events.onTiChanged((e) => {
        if (e.state !== 'up_for_retry') return;
        void t.engine.db.db
          .selectFrom('task_instance')
          .selectAll()
          .where('id', '=', e.tiId)
          .executeTakeFirstOrThrow()
          .then((ti: TaskInstanceRow) => {
            assert.equal(ti.state, 'up_for_retry');
            const list = delays.get(ti.task_id) ?? [];
            list.push((ti.next_retry_at ?? Number.NaN) - (ti.end_date ?? Number.NaN));
            delays.set(ti.task_id, list);
          });
      });
    });
    after(async () => {
      await t.stop();
    });

    test('every try is recorded, and the wait before the next try doubles from retryDelay', async () => {
      await t.trigger('backoff', { runId: 'r1' });
      const run = await t.waitForRun('backoff', 'r1');
      assert.equal(run.state, 'success');
      const [ti] = await t.taskInstances('backoff', 'r1');
      assert.ok(ti);
      assert.equal(ti.state, 'success');
      assert.equal(ti.try_number, 3);
      const tries = await listTries(t.engine.db, ti.id);
      assert.deepEqual(
        tries.map((x) => [x.try_number, x.state]),
        [
          [1, 'up_for_retry'],
          [2, 'up_for_retry'],
          [3, 'success'],
        ],
      );
      for (const x of tries.slice(0, 2)) assert.match(x.failure_reason ?? '', /exit code 1/);
      // The next try is queued no earlier than the backoff allows: ≥ 200 ms, then ≥ 400 ms.
      const gap = (i: number) => (tries[i + 1]?.queued_at ?? 0) - (tries[i]?.end_date ?? Number.MAX_SAFE_INTEGER);
      assert.ok(gap(0) >= 200, `gap after try 1 is ${gap(0)} ms`);
      assert.ok(gap(1) >= 400, `gap after try 2 is ${gap(1)} ms`);
      assert.deepEqual(delays.get('flaky'), [200, 400]);
    });

    test('maxRetryDelay caps the exponential backoff; the task fails after its last retry', async () => {
      await t.trigger('capped', { runId: 'r1' });
      const run = await t.waitForRun('capped', 'r1');
      assert.equal(run.state, 'failed');
      const [ti] = await t.taskInstances('capped', 'r1');
      assert.ok(ti);
      assert.equal(ti.state, 'failed');
      const tries = await listTries(t.engine.db, ti.id);
      assert.deepEqual(
        tries.map((x) => [x.try_number, x.state]),
        [
          [1, 'up_for_retry'],
          [2, 'up_for_retry'],
          [3, 'up_for_retry'],
          [4, 'failed'],
        ],
      );
      assert.deepEqual(delays.get('always_fails'), [200, 300, 300]);
      for (let i = 0; i < 3; i++) {
        const g = (tries[i + 1]?.queued_at ?? 0) - (tries[i]?.end_date ?? Number.MAX_SAFE_INTEGER);
        assert.ok(g >= (i === 0 ? 200 : 300), `gap after try ${i + 1} is ${g} ms`);
      }
    });

    test('TaskFailFast thrown in a TaskFlow task fails it at once, without retrying', async () => {
      await t.trigger('fail_fast', { runId: 'r1' });
      const run = await t.waitForRun('fail_fast', 'r1');
      assert.equal(run.state, 'failed');
      const [ti] = await t.taskInstances('fail_fast', 'r1');
      assert.ok(ti);
      assert.equal(ti.state, 'failed');
      assert.equal(ti.try_number, 1);
      assert.equal(ti.max_tries, 3);
      assert.match(ti.failure_reason ?? '', /malformed; retrying cannot help/);
      const tries = await listTries(t.engine.db, ti.id);
      assert.deepEqual(tries.map((x) => [x.try_number, x.state]), [[1, 'failed']]);
      assert.equal(delays.get('fail_fast'), undefined);
    });
  });
  describe(`retries while other runs keep the scheduler busy [${dialect}]`, () => {
    let t: TestEngine;
    before(async () => {
      // One run examined per loop beyond the ones with news: runs must take turns.
      t = await startTestEngine({
        dialect,
        env: { CAPSTAN__SCHEDULER__MAX_DAG_RUNS_PER_LOOP: '1' },
        dags: {
          'busy.ts': `
import { dag, BashOperator } from 'capstan';
dag({ dagId: 'long', schedule: null }, () => { new BashOperator({ taskId: 'wait', bashCommand: 'sleep 120' }); });
dag({ dagId: 'retry_later', schedule: null }, () => {
  new BashOperator({ taskId: 'flaky', bashCommand: 'test "$CAPSTAN_CTX_TRY_NUMBER" -ge 2', retries: 1, retryDelay: 300 });
});
`,
        },
      });
    });
    after(async () => {
      for (const ti of await t.taskInstances('long', 'r1')) if (ti.state === 'running') await t.executor.terminate(ti.id, ti.try_number, 'test over');
      await t.stop();
    });

    test('a retry whose delay has passed is released even though nothing else happens in its run', async () => {
      await t.trigger('long', { runId: 'r1' });
      await t.waitForRun('long', 'r1', { states: ['running'] });
      await t.trigger('retry_later', { runId: 'r1' });
      // With the bug this waits for 'long' to end (2 minutes): the retry's run was never looked at again.
      const run = await t.waitForRun('retry_later', 'r1', { timeoutMs: 30_000 });
      assert.equal(run.state, 'success');
      const [ti] = await t.taskInstances('retry_later', 'r1');
      assert.equal(ti?.try_number, 2);
    });
  });
}

after(() => stopPostgres());
