/**
 * Sensors under the test kit's manual clock: poke mode sleeps on ctx.clock, reschedule mode pauses the
 * try until its next poke date, a deferrable sensor's trigger runs in process — all without real
 * waiting; sensor and deferral timeouts fire on clock time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BaseSensorOperator, dag, DateTimeSensor, type TaskContext } from 'capstan';
import { ManualClock, testDag } from 'capstan/testing';

const START = Date.parse('2026-05-01T00:00:00Z');
const MIN = 60_000;

/** Done once the clock reaches `START + readyAfter` (a file that lands later, in clock time). */
class ReadyAfter extends BaseSensorOperator {
  readonly operatorName = 'ReadyAfter';
  readyAfterMs = 0;
  override poke(ctx: TaskContext): boolean {
    return (ctx.clock?.now() ?? Date.now()) >= START + this.readyAfterMs;
  }
}

const sensorDag = (dagId: string, options: ConstructorParameters<typeof ReadyAfter>[0], readyAfterMs: number) =>
  dag({ dagId }, () => {
    new ReadyAfter(options).readyAfterMs = readyAfterMs;
  });

test('poke mode: the sensor sleeps between pokes on the manual clock', async () => {
  const clock = new ManualClock({ start: START, autoAdvance: true });
  const t = await testDag(sensorDag('kit_poke', { taskId: 'wait', pokeInterval: '5m' }, 12 * MIN), { clock });
  try {
    const run = await t.run();
    assert.equal(run.state, 'success', run.reason ?? '');
    const wait = run.task('wait');
    assert.equal(wait.tryNumber, 1);
    assert.ok(wait.logs.includes('poke 1: not yet; next poke in 300000 ms'), wait.logs.join('\n'));
    assert.ok(wait.logs.includes('sensor condition met after 4 poke(s)'));
    assert.equal(clock.elapsed, 15 * MIN, 'pokes at 0, 5, 10 and 15 minutes');
  } finally {
    await t.close();
  }
});

test('reschedule mode: the try pauses until each next poke and continues as the same try', async () => {
  const clock = new ManualClock({ start: START, autoAdvance: true });
  const t = await testDag(sensorDag('kit_reschedule', { taskId: 'wait', pokeInterval: '10m', mode: 'reschedule' }, 25 * MIN), { clock });
  try {
    const run = await t.run();
    assert.equal(run.state, 'success', run.reason ?? '');
    const wait = run.task('wait');
    assert.equal(wait.tryNumber, 1, 'reschedules do not use tries');
    assert.deepEqual(wait.tries.map((x) => x.state), ['success']);
    assert.ok(wait.logs.includes('sensor condition met after 4 poke(s)'), wait.logs.join('\n'));
    assert.equal(clock.elapsed, 30 * MIN);
  } finally {
    await t.close();
  }
});

test('a sensor that is never done times out on clock time and fails without retrying', async () => {
  const clock = new ManualClock({ start: START, autoAdvance: true });
  const t = await testDag(sensorDag('kit_sensor_timeout', { taskId: 'wait', pokeInterval: '10m', timeout: '30m', retries: 2 }, 10 * 60 * MIN), { clock });
  try {
    const run = await t.run();
    assert.equal(run.state, 'failed');
    const wait = run.task('wait');
    assert.equal(wait.state, 'failed');
    assert.equal(wait.tryNumber, 1, 'a sensor timeout does not retry');
    assert.match(wait.failureReason ?? '', /sensor timed out: not done after \d+ ms \(timeout 1800000 ms/);
    assert.ok(clock.elapsed >= 30 * MIN && clock.elapsed < 60 * MIN, `the clock moved ${clock.elapsed} ms`);
  } finally {
    await t.close();
  }
});

test('deferrable: a DateTimeSensor defers, its trigger runs in process on the clock, and the task resumes', async () => {
  const clock = new ManualClock({ start: START, autoAdvance: true });
  const d = dag({ dagId: 'kit_deferred' }, () => {
    new DateTimeSensor({ taskId: 'until_two', targetTime: '2026-05-01T02:00:00Z' });
  });
  const t = await testDag(d, { clock });
  try {
    const run = await t.run();
    assert.equal(run.state, 'success', run.reason ?? '');
    const s = run.task('until_two');
    assert.equal(s.tryNumber, 1, 'resuming continues the same try');
    assert.ok(s.logs.some((l) => l.startsWith('deferring:')), s.logs.join('\n'));
    assert.ok(s.logs.includes('running trigger capstan.DateTimeTrigger in this process'));
    assert.ok(s.logs.includes('resuming after deferral in executeComplete()'));
    assert.equal(clock.now(), Date.parse('2026-05-01T02:00:00Z'));
  } finally {
    await t.close();
  }
});

test('deferrable: the deferral times out with the sensor’s timeout, before the moment comes', async () => {
  const clock = new ManualClock({ start: START, autoAdvance: true });
  const d = dag({ dagId: 'kit_deferred_timeout' }, () => {
    new DateTimeSensor({ taskId: 'until_two', targetTime: '2026-05-01T02:00:00Z', timeout: '1h' });
  });
  const t = await testDag(d, { clock });
  try {
    const run = await t.run();
    assert.equal(run.state, 'failed');
    assert.match(run.task('until_two').failureReason ?? '', /sensor timed out while deferred \(timeout 3600000 ms\)/);
    assert.equal(clock.elapsed, 60 * MIN);
  } finally {
    await t.close();
  }
});

test('one sensor alone (runTask): reschedule and deferral are waited on the clock in memory, nothing recorded', async () => {
  const clock = new ManualClock({ start: START, autoAdvance: true });
  const d = dag({ dagId: 'kit_sensor_alone' }, () => {
    new ReadyAfter({ taskId: 'resched', pokeInterval: '10m', mode: 'reschedule' }).readyAfterMs = 20 * MIN;
    new DateTimeSensor({ taskId: 'deferred', targetTime: '2026-05-01T03:00:00Z' });
  });
  const t = await testDag(d, { clock });
  try {
    const r = await t.runTask('resched');
    assert.deepEqual([r.state, r.reason], ['success', null]);
    assert.ok(r.logs.includes('sensor condition met after 3 poke(s)'), r.logs.join('\n'));
    assert.equal(clock.elapsed, 20 * MIN);
    const dd = await t.runTask('deferred');
    assert.deepEqual([dd.state, dd.reason], ['success', null]);
    assert.ok(dd.logs.includes('resuming after deferral in executeComplete()'), dd.logs.join('\n'));
    assert.equal(clock.now(), Date.parse('2026-05-01T03:00:00Z'));
    assert.equal((await t.db.db.selectFrom('task_instance').select('id').execute()).length, 0, 'nothing recorded');
  } finally {
    await t.close();
  }
});
