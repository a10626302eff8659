// Polling with a deadline, for conditions that have no event to await
// (a port that starts answering, a controller that catches up).
import { setTimeout as delay } from 'node:timers/promises';

/** Thrown by a probe to stop waiting at once (the awaited thing can no longer happen). */
export class GiveUp extends Error {
  override name = 'GiveUp';
}

/**
 * Calls `probe` until it returns a value other than `undefined`, or throws
 * once `timeoutMs` has passed, naming `what` and the last error seen. A
 * {@link GiveUp} thrown by the probe ends the wait with that error.
 *
 * @example
 * const sa = await waitFor('default service account', () => tryGetServiceAccount(ns), 30_000);
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`, { cause: lastError });
    }
    await delay(intervalMs);
  }
}
