/**
 * The resume bookkeeping of a followed container log, pure. Lines come from `pods/log?timestamps=true`,
 * each prefixed by an RFC3339Nano timestamp. After a cut, the stream is reopened with `sinceTime` set to
 * the last timestamp seen, truncated to the second (the API server forwards `sinceTime` to the kubelet at
 * second precision), so the new stream repeats lines already delivered. The cursor remembers the last
 * timestamp and how many lines carried exactly that timestamp, and drops repeated lines: anything older
 * than the last timestamp, and the first N lines at exactly that timestamp. Lines are assumed in
 * non-decreasing timestamp order, which is how the container runtime records them.
 */

/** One log line with its timestamp split off. */
export interface TimedLine {
  /** Nanoseconds since the epoch, or undefined when the line carried no parseable timestamp. */
  ns: bigint | undefined;
  /** The timestamp text as sent. */
  timestamp: string | undefined;
  text: string;
}

const STAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2}) /;

/** Splits `2026-01-02T03:04:05.123456789Z message` into its timestamp (as ns) and text. */
export function parseTimedLine(line: string): TimedLine {
  const m = STAMP.exec(line);
  if (m === null) return { ns: undefined, timestamp: undefined, text: line };
  const [whole, secondsPart = '', fraction = '', zone = 'Z'] = m;
  const ms = Date.parse(`${secondsPart}${zone}`);
  if (Number.isNaN(ms)) return { ns: undefined, timestamp: undefined, text: line };
  const nanos = BigInt((fraction.slice(1) + '000000000').slice(0, 9));
  return { ns: BigInt(ms) * 1_000_000n + nanos, timestamp: whole.slice(0, -1), text: line.slice(whole.length) };
}

/**
 * Where a follower stopped, as JSON: the last timestamp delivered (ns since the epoch, decimal) and how many
 * lines carried it. A deferrable pod task's trigger hands it to the resumed task, which reads on from there.
 */
export interface LogCursorState {
  lastNs: string;
  atLast: number;
}

/** Tracks what was delivered so a resumed stream neither repeats nor skips lines. */
export class LogCursor {
  #lastNs: bigint | undefined;
  #atLast = 0;
  /** Count of matching lines skipped in the current stream (reset by {@link beginStream}). */
  #skippedAtLast = 0;

  /** A cursor that continues after `state` (as {@link state} returned it); a malformed state starts afresh. */
  static from(state: LogCursorState | undefined): LogCursor {
    const cursor = new LogCursor();
    if (state !== undefined && /^\d{1,30}$/.test(state.lastNs) && Number.isSafeInteger(state.atLast) && state.atLast > 0) {
      cursor.#lastNs = BigInt(state.lastNs);
      cursor.#atLast = state.atLast;
    }
    return cursor;
  }

  /** Where this cursor stands, or undefined before any timestamped line. */
  state(): LogCursorState | undefined {
    return this.#lastNs === undefined ? undefined : { lastNs: this.#lastNs.toString(), atLast: this.#atLast };
  }

  /** Call when a new stream (re)opens: its lines start from `sinceTime()`. */
  beginStream(): void {
    this.#skippedAtLast = 0;
  }

  /** Value for `sinceTime` when reopening, or undefined before any line was delivered. */
  sinceTime(): string | undefined {
    if (this.#lastNs === undefined) return undefined;
    const seconds = Number(this.#lastNs / 1_000_000_000n);
    return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  /** True when `line` is new and must be delivered; updates the cursor. */
  accept(line: TimedLine): boolean {
    if (line.ns === undefined) return true;
    if (this.#lastNs !== undefined) {
      if (line.ns < this.#lastNs) return false;
      if (line.ns === this.#lastNs) {
        if (this.#skippedAtLast < this.#atLast) {
          this.#skippedAtLast += 1;
          return false;
        }
        this.#atLast += 1;
        this.#skippedAtLast += 1;
        return true;
      }
    }
    this.#lastNs = line.ns;
    this.#atLast = 1;
    this.#skippedAtLast = 1;
    return true;
  }
}

/** Splits a byte stream into complete lines; a trailing partial line is kept until more arrives. */
export class LineSplitter {
  #pending = '';
  readonly #decoder = new TextDecoder();

  /** Complete lines in `chunk` (without their newline). */
  push(chunk: Uint8Array): string[] {
    this.#pending += this.#decoder.decode(chunk, { stream: true });
    const parts = this.#pending.split('\n');
    this.#pending = parts.pop() ?? '';
    return parts.map((p) => (p.endsWith('\r') ? p.slice(0, -1) : p));
  }

  /** The partial line left over at a true end of the log (discard it after a cut: it will be re-read). */
  rest(): string | undefined {
    const rest = this.#pending + this.#decoder.decode();
    this.#pending = '';
    return rest === '' ? undefined : rest;
  }
}
