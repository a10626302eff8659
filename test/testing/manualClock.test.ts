/** ManualClock: ordered release, abort, runAll, bad input, and auto-advance only when the process is idle. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { ManualClock } from '../../src/testing/manualClock.ts';

test('advance releases sleepers in deadline order, each seeing its own deadline as now', async () => {
  const clock = new ManualClock({ start: 1_000 });
  const seen: Array<[string, number]> = [];
  const sleep = (name: string, ms: number) => clock.sleep(ms).then(() => seen.push([name, clock.now()]));
  const all = [sleep('c', 300), sleep('a', 100), sleep('b', 200), sleep('late', 10_000)];
  await clock.advance(250);
  assert.deepEqual(seen, [['a', 1_100], ['b', 1_200]]);
  assert.equal(clock.now(), 1_250);
  await clock.advance(50);
  assert.deepEqual(seen.at(-1), ['c', 1_300]);
  assert.equal(clock.pending, 1);
  assert.equal(await clock.runAll(), 1);
  await Promise.all(all);
  assert.deepEqual(seen.at(-1), ['late', 11_000]);
  assert.equal(clock.elapsed, 10_000);
});

test('a woken sleeper that sleeps again is released within the same advance when due', async () => {
  const clock = new ManualClock({ start: 0 });
  const ticks: number[] = [];
  const loop = (async () => {
    for (let i = 0; i < 5; i++) {
      await clock.sleep(60_000);
      ticks.push(clock.now());
    }
  })();
  await clock.advance(180_000);
  assert.deepEqual(ticks, [60_000, 120_000, 180_000]);
  await clock.advance(120_000);
  await loop;
  assert.deepEqual(ticks, [60_000, 120_000, 180_000, 240_000, 300_000]);
});

test('an aborted sleep resolves at once and leaves the queue', async () => {
  const clock = new ManualClock({ start: 0 });
  const ac = new AbortController();
  const s = clock.sleep(1_000, ac.signal);
  assert.equal(clock.pending, 1);
  ac.abort();
  await s;
  assert.equal(clock.pending, 0);
  assert.equal(clock.now(), 0);
  await clock.sleep(5, ac.signal); // already aborted: no wait
  assert.equal(clock.pending, 0);
});

test('bad input is refused with the argument named', () => {
  const clock = new ManualClock();
  assert.throws(() => clock.advance(-1), /advance\(ms\) needs a finite ms ≥ 0, not -1/);
  assert.throws(() => new ManualClock({ start: Number.NaN }), /start must be a finite epoch-ms number/);
  assert.throws(() => new ManualClock({ idleTurns: 0 }), /idleTurns must be a whole number ≥ 1/);
});

test('auto-advance jumps only when nothing but the clock is pending, and not while file I/O is in flight', async () => {
  const clock = new ManualClock({ start: 0, autoAdvance: true });
  const order: string[] = [];
  const sleeper = clock.sleep(3_600_000).then(() => order.push(`woke at ${clock.now()}`));
  // A chain of real file reads runs while the sleeper waits: the clock must not jump before it ends.
  for (let i = 0; i < 20; i++) await readFile(new URL(import.meta.url));
  order.push('io done');
  await sleeper;
  assert.deepEqual(order, ['io done', 'woke at 3600000']);
  clock.setAutoAdvance(false);
  let woke = false;
  void clock.sleep(10).then(() => (woke = true));
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  assert.equal(woke, false, 'with auto-advance off, time stands still');
  await clock.advance(10);
  assert.equal(woke, true);
});

test('auto-advance never jumps only to reach a deadline; once something waits, the earliest deadline comes first', async () => {
  const clock = new ManualClock({ start: 0, autoAdvance: true });
  let fired = false;
  void clock.sleep(600_000, undefined, { deadline: true }).then(() => (fired = true));
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual([fired, clock.now(), clock.waiting, clock.pending], [false, 0, 0, 1]);
  await clock.sleep(3_600_000);
  assert.equal(fired, true, 'the deadline (10 min) was released on the way to the one-hour wait');
  assert.equal(clock.now(), 3_600_000);
});
