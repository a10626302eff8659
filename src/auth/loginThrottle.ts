/**
 * Login throttling per (username, client): after `maxFailures` failed attempts, each further attempt must wait
 * `baseDelayMs · 2^(failures − maxFailures)`, capped at `maxDelayMs`; a success clears the record. Counting
 * per client as well as per user means an attacker elsewhere cannot lock the real user out, and counting
 * unknown usernames too means the answer does not reveal which names exist. State is in memory, per API
 * server process: with several replicas an attacker gains at most a factor of the replica count.
 */

export interface LoginThrottleOptions {
  maxFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Most (user, client) records kept; the oldest are dropped first. Default 100,000. */
  maxEntries?: number;
}

interface Entry {
  failures: number;
  /** Epoch ms before which the next attempt is refused. */
  blockedUntil: number;
  lastFailure: number;
}

/**
 * @example
 * const t = new LoginThrottle({ maxFailures: 5, baseDelayMs: 1000, maxDelayMs: 900_000 });
 * const wait = t.retryAfterMs(key, now); // 0: may try
 * t.failed(key, now) / t.succeeded(key);
 */
export class LoginThrottle {
  readonly #o: Required<LoginThrottleOptions>;
  readonly #entries = new Map<string, Entry>();

  constructor(o: LoginThrottleOptions) {
    this.#o = { maxEntries: 100_000, ...o };
  }

  /** The key of one username from one client. */
  static key(username: string, client: string): string {
    return `${client}\u0000${username}`;
  }

  /** How long the caller must wait before trying again; 0 when it may try now. */
  retryAfterMs(key: string, now: number): number {
    const e = this.#entries.get(key);
    return e === undefined ? 0 : Math.max(0, e.blockedUntil - now);
  }

  failed(key: string, now: number): void {
    const e = this.#entries.get(key) ?? { failures: 0, blockedUntil: 0, lastFailure: now };
    // A record untouched for longer than the longest wait starts over.
    if (now - e.lastFailure > this.#o.maxDelayMs) e.failures = 0;
    e.failures += 1;
    e.lastFailure = now;
    const over = e.failures - this.#o.maxFailures;
    e.blockedUntil = over < 0 ? 0 : now + Math.min(this.#o.maxDelayMs, this.#o.baseDelayMs * 2 ** Math.min(over, 30));
    this.#entries.delete(key);
    this.#entries.set(key, e);
    if (this.#entries.size > this.#o.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  succeeded(key: string): void {
    this.#entries.delete(key);
  }
}
