/**
 * Appends lines to a try's log in a `TaskLogHandler` from outside the task process — the triggerer, which
 * streams a deferred pod task's container log while no task process runs. Lines have the task log's own form
 * (`<ISO ts> <LEVEL> <text>`, masked), so readers see one log.
 *
 * The task process that deferred writes its last lines and the end marker after reporting the deferral, so
 * the appender first waits (up to `settleTimeoutMs`) for the stored log to end with the marker; only then does
 * it write, each batch at the stored size. Nothing else writes a deferred try's log, so nothing interleaves.
 */
import { errorMessage } from '../core/index.ts';
import type { TaskLogHandler } from './logHandler.ts';
import type { TaskLogKey, TaskLogLevel } from './taskLog.ts';
import { END_OF_LOG_MESSAGE } from './taskLog.ts';

/** Options of {@link TaskLogAppender}. */
export interface TaskLogAppenderOptions {
  /** Applied to every line's text, e.g. a `SecretMasker`. */
  mask?: (text: string) => string;
  now?: () => Date;
  /** Longest wait for the deferring process's end marker before writing anyway. Default 30 s. */
  settleTimeoutMs?: number;
  /** Told about a failed write (the lines are kept and written with the next batch). */
  onError?: (err: unknown) => void;
}

/**
 * @example
 * const out = new TaskLogAppender(handler, async () => key, { mask: (t) => masker.mask(t) });
 * out.write('INFO', '[base] step 1 done');
 * await out.flush();
 */
export class TaskLogAppender {
  readonly #handler: TaskLogHandler;
  readonly #key: () => Promise<TaskLogKey>;
  readonly #o: TaskLogAppenderOptions;
  #pending: string[] = [];
  #drain: Promise<void> | undefined;
  #settled = false;

  /** `key` is asked once, before the first write (the triggerer reads the try number then). */
  constructor(handler: TaskLogHandler, key: () => Promise<TaskLogKey>, options: TaskLogAppenderOptions = {}) {
    this.#handler = handler;
    let resolved: Promise<TaskLogKey> | undefined;
    this.#key = () => (resolved ??= key());
    this.#o = options;
  }

  /** Queue `text` (one line per `\n`-separated part) at `level`. */
  write(level: TaskLogLevel, text: string): void {
    const stamp = (this.#o.now ?? (() => new Date()))().toISOString();
    for (const raw of text.replace(/\n$/, '').split('\n')) {
      const masked = this.#o.mask ? this.#o.mask(raw.replace(/\r$/, '')) : raw.replace(/\r$/, '');
      // Only a task log's writer ends it.
      const safe = masked === END_OF_LOG_MESSAGE ? `${masked} (written by the task)` : masked;
      this.#pending.push(`${stamp} ${level} ${safe}\n`);
    }
    this.#drain ??= this.#run().finally(() => (this.#drain = undefined));
  }

  info(text: string): void {
    this.write('INFO', text);
  }

  /** Resolves once every line queued so far is stored (or its write failed and was reported). */
  async flush(): Promise<void> {
    while (this.#drain !== undefined) await this.#drain;
  }

  async #run(): Promise<void> {
    try {
      const key = await this.#key();
      if (!this.#settled) await this.#settle(key);
      while (this.#pending.length > 0) {
        const n = this.#pending.length;
        const offset = await this.#handler.size(key);
        await this.#handler.write(key, offset, Buffer.from(this.#pending.slice(0, n).join(''), 'utf8'));
        this.#pending = this.#pending.slice(n);
      }
    } catch (err) {
      this.#o.onError?.(new Error(`appending to the task log failed: ${errorMessage(err)}`, { cause: err }));
    }
  }

  async #settle(key: TaskLogKey): Promise<void> {
    const deadline = Date.now() + (this.#o.settleTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      const size = await this.#handler.size(key);
      if (size > 0 && (await this.#handler.read(key, { fromByte: Math.max(0, size - 512) })).ended) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    this.#settled = true;
  }
}
