/** Durations (readable strings, ISO-8601, milliseconds) and retry delays with exponential backoff and caps. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDuration } from '../../src/core/duration.ts';
import { CapstanError } from '../../src/core/errors.ts';
import { hasRetriesLeft, MAX_RETRY_DELAY_MS, retryDelayMs } from '../../src/core/retry.ts';

describe('parseDuration', () => {
  test('milliseconds and readable strings', () => {
    const cases: Array<[number | string, number]> = [
      [0, 0],
      [1500, 1500],
      ['500ms', 500],
      ['90s', 90_000],
      ['5m', 300_000],
      ['1h30m', 5_400_000],
      ['1h 30m', 5_400_000],
      ['1.5h', 5_400_000],
      ['2d', 172_800_000],
      ['1w', 604_800_000],
      ['1m30s250ms', 90_250],
    ];
    for (const [input, ms] of cases) assert.equal(parseDuration(input, 'f'), ms, String(input));
  });

  test('ISO-8601 durations', () => {
    const cases: Array<[string, number]> = [
      ['PT1H', 3_600_000],
      ['P1D', 86_400_000],
      ['P1DT2H', 93_600_000],
      ['PT1M30S', 90_000],
      ['PT0.5S', 500],
      ['pt2m', 120_000],
    ];
    for (const [input, ms] of cases) assert.equal(parseDuration(input, 'f'), ms, input);
  });

  test('bad durations name the field', () => {
    for (const bad of ['', 'P', 'PT', '5x', 'five minutes', '5m later', 'm5', '-5m']) {
      assert.throws(
        () => parseDuration(bad, 'task t: retryDelay'),
        (err: unknown) => err instanceof CapstanError && err.code === 'invalid_argument' && err.message.startsWith('task t: retryDelay:'),
        JSON.stringify(bad),
      );
    }
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => parseDuration(bad, 'executionTimeout'), /executionTimeout: .* is not a non-negative number of milliseconds/, String(bad));
    }
  });
});

describe('retry delay', () => {
  const policy = (retryDelayMs: number, retryExponentialBackoff: boolean, maxRetryDelayMs: number | null = null) => ({ retries: 10, retryDelayMs, retryExponentialBackoff, maxRetryDelayMs });

  test('a fixed delay without backoff', () => {
    assert.deepEqual([1, 2, 3, 7].map((n) => retryDelayMs(policy(1000, false), n)), [1000, 1000, 1000, 1000]);
  });

  test('exponential backoff doubles per failed try', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => retryDelayMs(policy(1000, true), n)), [1000, 2000, 4000, 8000, 16000]);
  });

  test('capped by maxRetryDelay and by one day', () => {
    assert.deepEqual([1, 2, 3, 4].map((n) => retryDelayMs(policy(1000, true, 5000), n)), [1000, 2000, 4000, 5000]);
    assert.equal(retryDelayMs(policy(3_600_000, true), 30), MAX_RETRY_DELAY_MS);
    assert.equal(retryDelayMs(policy(2 * MAX_RETRY_DELAY_MS, false), 1), MAX_RETRY_DELAY_MS);
    assert.equal(retryDelayMs(policy(1000, true, 10 * MAX_RETRY_DELAY_MS), 40), MAX_RETRY_DELAY_MS);
  });

  test('retries left: try n may be retried while n ≤ retries', () => {
    assert.equal(hasRetriesLeft(1, 0), false);
    assert.equal(hasRetriesLeft(1, 1), true);
    assert.equal(hasRetriesLeft(2, 1), false);
    assert.equal(hasRetriesLeft(3, 3), true);
  });
});
