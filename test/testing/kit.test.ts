/**
 * The DAG authors' test kit (`capstan/testing`): retries with long delays, execution timeouts and
 * schedules pass on the manual clock without real waiting; results expose states, try numbers, XComs,
 * rendered fields, log lines and failures. Imported through the package entry a user would use.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BashOperator, chain, dag, getCurrentContext, task } from 'capstan';
import { ManualClock, testDag } from 'capstan/testing';

const HOUR = 3_600_000;
const START = Date.parse('2026-03-01T08:00:00Z');

test('retries with a one-hour delay finish at once on the manual clock; try numbers and the clock’s advance are recorded', async () => {
  const d = dag({ dagId: 'kit_retries' }, () => {
    task({ taskId: 'flaky', retries: 2, retryDelay: '1h' }, () => {
      const ctx = getCurrentContext();
      if (ctx.tryNumber < 3) throw new Error(`try ${ctx.tryNumber} fails`);
      return ctx.tryNumber;
    })();
  });
  const clock = new ManualClock({ start: START, autoAdvance: true });
  const t = await testDag(d, { clock });
  try {
    const run = await t.run();
    assert.equal(run.state, 'success');
    const flaky = run.task('flaky');
    assert.equal(flaky.tryNumber, 3);
    assert.equal(flaky.maxTries, 3);
    assert.deepEqual(flaky.tries.map((x) => [x.tryNumber, x.state]), [[1, 'up_for_retry'], [2, 'up_for_retry'], [3, 'success']]);
    assert.equal(flaky.xcom(), 3);
    assert.ok(clock.elapsed >= 2 * HOUR, `the clock moved ${clock.elapsed} ms (two 1 h retry delays)`);
    // Each retry started a full hour of clock time after the previous try ended.
    for (const i of [1, 2]) {
      const prevEnd = flaky.tries[i - 1]?.endDate?.getTime() ?? Number.POSITIVE_INFINITY;
      assert.ok((flaky.tries[i]?.startDate?.getTime() ?? 0) >= prevEnd + HOUR, `try ${i + 1} started ≥ 1 h after try ${i} ended`);
    }
  } finally {
    await t.close();
  }
});

test('without auto-advance, the retry waits until the test advances the clock', async () => {
  const d = dag({ dagId: 'kit_manual_advance' }, () => {
    task({ taskId: 'once_flaky', retries: 1, retryDelay: '1h' }, () => {
      if (getCurrentContext().tryNumber === 1) throw new Error('first try fails');
      return 'ok';
    })();
  });
  const clock = new ManualClock({ start: START });
  const t = await testDag(d, { clock });
  try {
    let ended = false;
    const running = t.run().finally(() => (ended = true));
    // Wait (on events, not time) until the runner sleeps on the clock for the retry delay.
    while (clock.pending === 0) await new Promise((r) => setImmediate(r));
    assert.equal(clock.nextDeadline !== null && clock.nextDeadline - clock.now() >= HOUR - 1_000, true, 'the runner sleeps about one hour');
    await clock.advance(HOUR / 2);
    assert.equal(ended, false, 'half an hour later the retry is still waiting');
    await clock.advance(HOUR / 2);
    const run = await running;
    assert.equal(run.state, 'success');
    assert.equal(run.task('once_flaky').tryNumber, 2);
    assert.equal(clock.elapsed, HOUR);
  } finally {
    await t.close();
  }
});

test('an execution timeout of 10 minutes fires on the manual clock: at once when the task waits on the clock, on advance when it hangs', async () => {
  const clock = new ManualClock({ start: START, autoAdvance: true });
  const d = dag({ dagId: 'kit_timeout' }, () => {
    task({ taskId: 'waits_an_hour', executionTimeout: '10m' }, async () => {
      // Task code (a sensor, a polling loop) waits on ctx.clock: the test's manual clock here.
      const ctx = getCurrentContext();
      if (ctx.clock !== clock) throw new Error('ctx.clock is not the test clock');
      await ctx.clock.sleep(HOUR, ctx.signal);
      return 'too late';
    })();
    task({ taskId: 'hangs', executionTimeout: '10m' }, () => {
      const ctx = getCurrentContext();
      // Never settles on its own (think: a reply that never comes): only the timeout's abort ends it.
      return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true }));
    })();
  });
  const t = await testDag(d, { clock });
  try {
    const running = t.run();
    // `hangs` runs first (task ids in order): nothing waits on the clock, so time stands still until the
    // test moves it to the deadline.
    while (clock.pending === 0) await new Promise((r) => setImmediate(r));
    assert.equal(clock.waiting, 0, 'only the execution timeout is pending');
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(clock.elapsed, 0, 'auto-advance does not jump to a deadline nobody waits for');
    await clock.advance(10 * 60_000);
    const run = await running;
    assert.equal(run.state, 'failed');
    for (const id of ['hangs', 'waits_an_hour']) {
      const ti = run.task(id);
      assert.equal(ti.state, 'failed', id);
      assert.match(ti.failureReason ?? '', /execution timeout of 600000 ms exceeded/, id);
    }
    // 10 min advanced by the test for `hangs`, then auto-advance jumped 10 min to the timeout of
    // `waits_an_hour` (before its one-hour sleep would end).
    assert.equal(clock.elapsed, 20 * 60_000);
  } finally {
    await t.close();
  }
});

test('a scheduled DAG: next run logical date, the run’s interval in templates, then the following interval', async () => {
  const d = dag({ dagId: 'kit_scheduled', schedule: '@daily', startDate: '2026-01-01T00:00:00Z', catchup: true }, () => {
    new BashOperator({ taskId: 'report', bashCommand: 'echo "ds={{ ds }} end={{ data_interval_end }} type={{ dag_run.run_type }}"' });
  });
  const clock = new ManualClock({ start: Date.parse('2026-01-03T12:00:00Z'), autoAdvance: true });
  const t = await testDag(d, { clock });
  try {
    assert.deepEqual((await t.nextScheduledRun())?.logicalDate, new Date('2026-01-01T00:00:00Z'));
    const first = await t.runScheduled();
    assert.equal(first.state, 'success');
    assert.equal(first.runType, 'scheduled');
    assert.equal(first.runId, 'scheduled__2026-01-01T00:00:00+00:00');
    assert.deepEqual(first.dataIntervalEnd, new Date('2026-01-02T00:00:00Z'));
    assert.match(String(first.task('report').renderedFields?.['bashCommand']), /^echo "ds=2026-01-01 end=2026-01-02T00:00:00(\.000)?(Z|\+00:00) type=scheduled"$/);
    assert.ok(first.task('report').logs.some((l) => l.includes('ds=2026-01-01')), 'the command’s output is in the task log');
    assert.deepEqual((await t.nextScheduledRun())?.logicalDate, new Date('2026-01-02T00:00:00Z'));
    await t.runScheduled();
    // The interval of 2026-01-03 ends tomorrow: the clock is moved to its end, as a scheduler would wait.
    const third = await t.runScheduled();
    assert.deepEqual(third.logicalDate, new Date('2026-01-03T00:00:00Z'));
    assert.equal(clock.now(), Date.parse('2026-01-04T00:00:00Z'));
  } finally {
    await t.close();
  }
  const noCatchup = dag({ dagId: 'kit_no_catchup', schedule: '@daily', startDate: '2026-01-01T00:00:00Z', catchup: false }, () => {
    task({ taskId: 'noop' }, () => null)();
  });
  const t2 = await testDag(noCatchup, { clock: new ManualClock({ start: Date.parse('2026-01-10T05:00:00Z') }) });
  try {
    assert.deepEqual((await t2.nextScheduledRun())?.logicalDate, new Date('2026-01-09T00:00:00Z'), 'without catchup: the latest complete interval');
    await assert.rejects(t2.runScheduled({ logicalDate: '2026-01-09T03:00:00Z' }), /not the start of a scheduled interval.*the next one starts at 2026-01-10T00:00:00/s);
  } finally {
    await t2.close();
  }
});

test('XComs between tasks, rendered fields and variables; one task alone with seeded upstream XComs', async () => {
  const d = dag({ dagId: 'kit_xcom' }, () => {
    const extract = task({ taskId: 'extract' }, async () => {
      await getCurrentContext().xcomPush('count', 3);
      return [1, 2, 3];
    })();
    const load = new BashOperator({ taskId: 'load', bashCommand: `echo "{{ var.value.target }}:{{ ti.xcom_pull(task_ids='extract') | join(',') }}"` });
    const total = task({ taskId: 'total' }, (xs: number[]) => xs.reduce((a, b) => a + b, 0))(extract);
    chain(extract, load);
    void total;
  });
  const t = await testDag(d, { variables: { target: 'warehouse' } });
  try {
    const run = await t.run({ logicalDate: '2026-02-01T00:00:00Z' });
    assert.equal(run.state, 'success');
    assert.deepEqual(run.task('extract').xcom(), [1, 2, 3]);
    assert.equal(run.task('extract').xcom('count'), 3);
    assert.equal(run.task('total').xcom(), 6);
    assert.equal(run.task('load').renderedFields?.['bashCommand'], 'echo "warehouse:1,2,3"');
    assert.ok(run.task('load').logs.includes('warehouse:1,2,3'), `load logged: ${run.task('load').logs.join(' | ')}`);
    assert.deepEqual(run.logicalDate, new Date('2026-02-01T00:00:00Z'));

    const alone = await t.runTask('total', { xcoms: [{ taskId: 'extract', value: [10, 20] }] });
    assert.deepEqual([alone.state, alone.returnValue], ['success', 30]);
    // Run alone at the stored run's logical date, a task reads that run's upstream XComs.
    const again = await t.runTask('load', { logicalDate: '2026-02-01T00:00:00Z' });
    assert.equal(again.renderedFields?.['bashCommand'], 'echo "warehouse:1,2,3"');
    await assert.rejects(t.runTask('nope'), /has no task 'nope' \(it has: extract, load, total\)/);
  } finally {
    await t.close();
  }
});

test('a failing task’s error surfaces: state, reason, log, downstream upstream_failed, run reason', async () => {
  const d = dag({ dagId: 'kit_failure' }, () => {
    const boom = task({ taskId: 'boom' }, () => {
      throw new Error('the warehouse is on fire');
    })();
    task({ taskId: 'after' }, (v: unknown) => v)(boom);
  });
  const t = await testDag(d);
  try {
    const run = await t.run();
    assert.equal(run.state, 'failed');
    assert.match(run.reason ?? '', /boom|after/);
    const boom = run.task('boom');
    assert.equal(boom.state, 'failed');
    assert.equal(boom.failureReason, 'the warehouse is on fire');
    assert.ok(boom.logs.some((l) => l.startsWith('task failed: Error: the warehouse is on fire')), boom.logs.join('\n'));
    assert.deepEqual([run.task('after').state, run.task('after').tryNumber], ['upstream_failed', 0]);
    assert.throws(() => run.task('missing'), /has no task instance 'missing' \(it has: after, boom\)/);
    const alone = await t.runTask('boom');
    assert.deepEqual([alone.state, alone.reason], ['failed', 'the warehouse is on fire']);
  } finally {
    await t.close();
  }
  await assert.rejects(async () => (await testDag(d)).run({ logicalDate: 'next tuesday' }), /logicalDate: 'next tuesday' is not a date/);
});
