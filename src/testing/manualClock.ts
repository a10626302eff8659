/**
 * A `Clock` whose time moves only when told to — the heart of the DAG authors' test kit. Code that waits
 * through the clock (retry delays of the in-process runner, the execution-timeout timer, sensors and
 * task code using `ctx.clock`) is released by `advance()` instead of real time passing, so a test of a
 * task with a one-hour retry delay finishes in milliseconds.
 *
 * Two ways to move time:
 * - `advance(ms)` / `advanceTo(t)` / `runAll()`: the test decides. Sleepers whose deadline is reached are
 *   released one deadline at a time, in deadline order, and the event loop gets a few turns between two
 *   deadlines so the code they woke can react (and sleep again) before time moves further.
 * - `autoAdvance: true`: whenever something waits on the clock and the process is otherwise idle — a
 *   few event-loop turns pass with no clock activity and no file, DNS or socket request in flight — time
 *   jumps to the earliest deadline. This is "every pending activity is waiting on the clock": nothing
 *   else could still happen first. A sleep marked `{ deadline: true }` (an execution timeout guarding a
 *   running task) does not count as waiting: while a task runs a child process or awaits an HTTP reply,
 *   only its timeout is pending and time stands still; once the task itself waits on the clock, time
 *   jumps to the earliest deadline, the timeout included. Code that waits on real timers (`setTimeout`)
 *   is invisible to the clock; task code that should be time-virtualized waits through the clock.
 *
 * @example
 * ```ts
 * const clock = new ManualClock({ start: Date.parse('2026-01-01T00:00:00Z') });
 * const woke = clock.sleep(3_600_000);
 * await clock.advance(3_600_000); // `woke` resolves; clock.now() is one hour later
 * ```
 */
import type { Clock, SleepOptions } from '../core/index.ts';
import { InvalidArgument } from '../core/index.ts';

/** Options of a {@link ManualClock}. */
export interface ManualClockOptions {
  /** Initial time, epoch ms. Default: `Date.now()` when the clock is created. */
  start?: number;
  /** Jump to the next deadline whenever only the clock can release what is pending. Default false. */
  autoAdvance?: boolean;
  /**
   * Event-loop turns without clock activity or I/O in flight before auto-advance jumps. Default 5;
   * raise it when task code chains many `setImmediate` steps between two waits.
   */
  idleTurns?: number;
}

interface Sleeper {
  deadline: number;
  /** A deadline guarding other work, not a wait (see SleepOptions). */
  guard: boolean;
  seq: number;
  resolve: () => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** Resource types of `process.getActiveResourcesInfo()` that mean I/O is still in flight. */
const IN_FLIGHT = /Req|WriteWrap|ShutdownWrap|ConnectWrap/;

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A clock moved by the test (or, with `autoAdvance`, by idleness). See the module comment. */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #sleepers: Sleeper[] = [];
  /** Bumped on every sleep, wake-up and advance: the idle detector's notion of "something happened". */
  #activity = 0;
  #auto: boolean;
  #autoLoop: Promise<void> | undefined;
  readonly #idleTurns: number;
  #advancing: Promise<void> = Promise.resolve();
  /** Total time moved forward since creation, ms. */
  #advanced = 0;

  constructor(options: ManualClockOptions = {}) {
    this.#now = options.start ?? Date.now();
    this.#auto = options.autoAdvance ?? false;
    this.#idleTurns = options.idleTurns ?? 5;
    if (!Number.isFinite(this.#now)) throw new InvalidArgument(`ManualClock start must be a finite epoch-ms number, not ${String(options.start)}`);
    if (!Number.isInteger(this.#idleTurns) || this.#idleTurns < 1) throw new InvalidArgument(`ManualClock idleTurns must be a whole number ≥ 1, not ${String(options.idleTurns)}`);
  }

  now(): number {
    return this.#now;
  }

  /** How far the clock has moved since it was created, ms. */
  get elapsed(): number {
    return this.#advanced;
  }

  /** Sleepers not yet released (deadlines included). */
  get pending(): number {
    return this.#sleepers.length;
  }

  /** Sleepers that wait on the clock (not counting deadlines that guard other work). */
  get waiting(): number {
    return this.#sleepers.filter((s) => !s.guard).length;
  }

  /** The earliest deadline anyone is sleeping until, or null. */
  get nextDeadline(): number | null {
    return this.#sleepers[0]?.deadline ?? null;
  }

  sleep(ms: number, signal?: AbortSignal, options: SleepOptions = {}): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const s: Sleeper = {
        deadline: this.#now + Math.max(0, Number.isFinite(ms) ? ms : 0),
        guard: options.deadline ?? false,
        seq: this.#seq++,
        resolve,
        signal,
        onAbort: () => {
          this.#remove(s);
          resolve();
        },
      };
      signal?.addEventListener('abort', s.onAbort, { once: true });
      const at = this.#sleepers.findIndex((o) => o.deadline > s.deadline);
      this.#sleepers.splice(at === -1 ? this.#sleepers.length : at, 0, s);
      this.#activity++;
      if (s.deadline <= this.#now) {
        // A zero sleep still yields, but never needs time to move.
        this.#release(this.#now);
        return;
      }
      this.#startAutoLoop();
    });
  }

  /** Move time forward by `ms`, releasing every sleeper due on the way, in deadline order. */
  advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new InvalidArgument(`ManualClock.advance(ms) needs a finite ms ≥ 0, not ${String(ms)}`);
    return this.advanceTo(this.#now + ms);
  }

  /** Move time forward to `t` (epoch ms; never backwards), releasing sleepers due on the way. */
  advanceTo(t: number): Promise<void> {
    if (!Number.isFinite(t)) throw new InvalidArgument(`ManualClock.advanceTo(t) needs a finite epoch-ms time, not ${String(t)}`);
    // Advances are serialized so two overlapping calls never release sleepers out of order.
    const next = this.#advancing.then(() => this.#stepTo(t));
    this.#advancing = next.catch(() => undefined);
    return next;
  }

  /**
   * Keep jumping to the next deadline until nobody sleeps on the clock (or `maxSteps` jumps were made,
   * which guards against code that sleeps forever in a loop). Returns the number of jumps.
   */
  async runAll(maxSteps = 10_000): Promise<number> {
    let steps = 0;
    for (;;) {
      await this.#settle();
      const next = this.nextDeadline;
      if (next === null) return steps;
      if (steps >= maxSteps) throw new InvalidArgument(`ManualClock.runAll: still sleepers after ${maxSteps} jumps (something sleeps in a loop forever?)`);
      await this.advanceTo(next);
      steps++;
    }
  }

  /** Turn auto-advance on or off (see the module comment). */
  setAutoAdvance(on: boolean): void {
    this.#auto = on;
    if (on) this.#startAutoLoop();
  }

  async #stepTo(t: number): Promise<void> {
    for (;;) {
      const first = this.#sleepers[0];
      if (!first || first.deadline > t) break;
      this.#moveTo(first.deadline);
      this.#release(first.deadline);
      // Let the woken code run (and maybe sleep again) before time moves on.
      await this.#settle();
    }
    this.#moveTo(t);
  }

  #moveTo(t: number): void {
    if (t <= this.#now) return;
    this.#advanced += t - this.#now;
    this.#now = t;
    this.#activity++;
  }

  /** Release every sleeper due at or before `t`. */
  #release(t: number): void {
    while (this.#sleepers[0] && this.#sleepers[0].deadline <= t) {
      const s = this.#sleepers.shift() as Sleeper;
      s.signal?.removeEventListener('abort', s.onAbort);
      this.#activity++;
      s.resolve();
    }
  }

  #remove(s: Sleeper): void {
    const i = this.#sleepers.indexOf(s);
    if (i !== -1) this.#sleepers.splice(i, 1);
    this.#activity++;
  }

  /** A few event-loop turns, so promise chains woken by a release run to their next wait. */
  async #settle(): Promise<void> {
    for (let i = 0; i < this.#idleTurns; i++) await turn();
  }

  #startAutoLoop(): void {
    if (!this.#auto || this.#autoLoop) return;
    this.#autoLoop = this.#autoAdvanceLoop().finally(() => {
      this.#autoLoop = undefined;
      // A sleeper registered while the loop was ending.
      if (this.#auto && this.waiting > 0) this.#startAutoLoop();
    });
  }

  /** While auto-advance is on and someone sleeps: wait for idleness, then jump to the next deadline. */
  async #autoAdvanceLoop(): Promise<void> {
    let quiet = 0;
    let seen = this.#activity;
    // Runs only while something waits (a sleep() restarts it); deadlines alone never move time.
    while (this.#auto && this.waiting > 0) {
      await turn();
      const busy = process.getActiveResourcesInfo().some((r) => IN_FLIGHT.test(r));
      // Real I/O in flight: check again a little later rather than spin on setImmediate.
      if (busy) await new Promise<void>((resolve) => setTimeout(resolve, 1));
      if (busy || this.#activity !== seen) {
        quiet = 0;
        seen = this.#activity;
        continue;
      }
      if (++quiet < this.#idleTurns) continue;
      const next = this.nextDeadline;
      if (next !== null) await this.advanceTo(next);
      quiet = 0;
      seen = this.#activity;
    }
  }
}
