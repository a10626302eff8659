/** Retry timing. */
import type { RetryPolicy } from './serialized.ts';

/** Airflow caps any retry delay at one day. */
export const MAX_RETRY_DELAY_MS = 86_400_000;

/**
 * Delay before the try after `failedTry` (1-based). With exponential backoff the delay doubles per
 * failed try: base, 2·base, 4·base…, capped by `maxRetryDelayMs` and by one day.
 */
export function retryDelayMs(policy: RetryPolicy, failedTry: number): number {
  const base = policy.retryDelayMs;
  const raw = policy.retryExponentialBackoff ? base * 2 ** Math.max(0, failedTry - 1) : base;
  return Math.min(raw, policy.maxRetryDelayMs ?? MAX_RETRY_DELAY_MS, MAX_RETRY_DELAY_MS);
}

/** True when a failed try may be retried: tries so far ≤ retries. */
export function hasRetriesLeft(tryNumber: number, maxTries: number): boolean {
  return tryNumber <= maxTries;
}
