/** The sensor's poke interval: fixed, or growing exponentially with a deterministic jitter, capped. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dag, FunctionSensor } from '../../src/index.ts';

function sensor(options: { exponentialBackoff?: boolean; maxWait?: number; timeout?: number }): FunctionSensor {
  let made: FunctionSensor | undefined;
  dag({ dagId: 'intervals', schedule: null }, () => {
    made = new FunctionSensor({ taskId: 's', pokeInterval: 1_000, poke: () => false, ...options });
  });
  if (!made) throw new Error('not built');
  return made;
}

const ctx = { dagId: 'intervals', taskId: 's' };

test('without backoff the interval is pokeInterval', () => {
  const s = sensor({});
  assert.deepEqual([1, 2, 5].map((n) => s.nextPokeIntervalMs(ctx, 0, n, 0)), [1_000, 1_000, 1_000]);
});

test('with backoff it grows per poke within [base, 2·base), deterministically', () => {
  const s = sensor({ exponentialBackoff: true, timeout: 10_000_000 });
  for (const pokes of [2, 3, 4, 5, 6]) {
    const base = 1_000 * 2 ** (pokes - 2);
    const v = s.nextPokeIntervalMs(ctx, 123, pokes, 0);
    assert.ok(v >= base && v < 2 * base, `poke ${pokes}: ${v} not in [${base}, ${2 * base})`);
    assert.equal(s.nextPokeIntervalMs(ctx, 123, pokes, 0), v, 'same inputs, same jitter');
  }
});

test('with backoff it is capped by maxWait and by the time left before the timeout', () => {
  assert.equal(sensor({ exponentialBackoff: true, maxWait: 1_500, timeout: 10_000_000 }).nextPokeIntervalMs(ctx, 0, 6, 0), 1_500);
  assert.equal(sensor({ exponentialBackoff: true, timeout: 20_000 }).nextPokeIntervalMs(ctx, 0, 8, 19_000), 1_000);
});

test('bad sensor options fail at parse time naming the field', () => {
  assert.throws(() => sensor({ timeout: -1 }), /timeout/);
  assert.throws(
    () => dag({ dagId: 'bad_mode', schedule: null }, () => new FunctionSensor({ taskId: 'x', mode: 'sometimes' as 'poke', poke: () => true })),
    /mode must be 'poke' or 'reschedule'/,
  );
});
