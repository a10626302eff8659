/**
 * Time as an injected dependency. Code that waits (sensor poke intervals, retry delays, timeouts,
 * trigger deadlines) asks a `Clock` instead of calling `Date.now()` / `setTimeout` directly, so the
 * DAG authors' test kit can drive it with a manual clock and a test never sleeps for real.
 */
/** How a sleep is meant; see {@link Clock.sleep}. */
export interface SleepOptions {
  /**
   * True for a deadline that guards other work (an execution timeout) rather than a wait: the caller is
   * busy with something else meanwhile. A manual clock's auto-advance never jumps time just to reach a
   * deadline — only when something actually waits on the clock. Default false.
   */
  deadline?: boolean;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /**
   * Resolve after `ms` of this clock's time, or at once when `signal` aborts (never rejects; callers
   * check `signal.aborted` themselves).
   */
  sleep(ms: number, signal?: AbortSignal, options?: SleepOptions): Promise<void>;
}

/** The wall clock: `Date.now()` and real timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
    }),
};
