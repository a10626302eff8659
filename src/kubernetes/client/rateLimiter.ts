/**
 * A client-side token bucket, as client-go's: `burst` requests may go at once, then `qps` per second on
 * average. Waiters are served in arrival order.
 */

/** Clock and timer used by the limiter; injected so tests can drive them. */
export interface LimiterClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** Real time (`performance.now()`, `setTimeout`). */
export const realClock: LimiterClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Token bucket of `burst` tokens refilled at `qps` per second.
 *
 * @example
 * const limiter = new TokenBucket({ qps: 5, burst: 10 });
 * await limiter.take(); // resolves when a request may go
 */
export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  readonly #clock: LimiterClock;
  #tokens: number;
  #last: number;
  // Each take() chains on the previous one, so waiters leave in arrival order.
  #queue: Promise<void> = Promise.resolve();

  constructor(options: { qps: number; burst: number; clock?: LimiterClock }) {
    if (!(options.qps > 0)) throw new RangeError(`qps must be > 0, got ${options.qps}`);
    if (!(options.burst >= 1) || !Number.isInteger(options.burst)) throw new RangeError(`burst must be an integer ≥ 1, got ${options.burst}`);
    this.qps = options.qps;
    this.burst = options.burst;
    this.#clock = options.clock ?? realClock;
    this.#tokens = options.burst;
    this.#last = this.#clock.now();
  }

  #refill(): void {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.qps);
    this.#last = now;
  }

  /** Waits for a token and takes it. */
  take(): Promise<void> {
    const turn = this.#queue.then(async () => {
      this.#refill();
      while (this.#tokens < 1) {
        await this.#clock.sleep(Math.ceil(((1 - this.#tokens) / this.qps) * 1000));
        this.#refill();
      }
      this.#tokens -= 1;
    });
    this.#queue = turn;
    return turn;
  }
}
