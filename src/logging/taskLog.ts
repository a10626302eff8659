/**
 * Task logs: one append-only file per task try, laid out like
 * `<base>/dag_id=<d>/run_id=<r>/task_id=<t>[/map_index=<n>]/attempt=<try>.log`.
 *
 * Every line is `<ISO timestamp> <LEVEL> <text>`. When the writer closes it appends the end marker line
 * `<ts> INFO ::capstan:: end of log`, so a reader following the file (`tasks logs --follow`) knows the try
 * is over and stops, instead of waiting for lines that will never come.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { InvalidArgument } from '../core/index.ts';
import { Writable } from 'node:stream';

/** Identifies one try of one task instance. `mapIndex` below 0 (or absent) means the task is not mapped. */
export interface TaskLogKey {
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex?: number | null;
  tryNumber: number;
}

/** Levels a task log line can carry. */
export type TaskLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** Text of the last line the writer appends on close. */
export const END_OF_LOG_MESSAGE = '::capstan:: end of log';

const END_LINE = new RegExp(`^\\S+ INFO ${END_OF_LOG_MESSAGE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

/** True when `line` (without its newline) is the end marker the writer appends on close. */
export function isEndOfLogLine(line: string): boolean {
  return END_LINE.test(line);
}

/**
 * A name made safe as one path segment: characters outside `A-Z a-z 0-9 . _ - + : @` become `%XX`
 * (UTF-8), and `.`/`..` are encoded whole, so no id can climb out of its folder or collide with another.
 */
export function escapePathSegment(name: string): string {
  if (name === '') throw new InvalidArgument('a task log path segment (dag, run or task id) is empty');
  if (name === '.' || name === '..') return name.replace(/\./g, '%2E');
  return Array.from(name, (ch) => (/^[A-Za-z0-9._\-+:@]$/.test(ch) ? ch : encodeURIComponent(ch).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))).join('');
}

/**
 * Path of the log file of one task try.
 *
 * @example
 * taskLogPath('/logs', { dagId: 'etl', runId: 'manual__2026-01-01T00:00:00+00:00', taskId: 'load', tryNumber: 1 })
 * // '/logs/dag_id=etl/run_id=manual__2026-01-01T00:00:00+00:00/task_id=load/attempt=1.log'
 */
export function taskLogPath(baseFolder: string, key: TaskLogKey): string {
  const parts = [`dag_id=${escapePathSegment(key.dagId)}`, `run_id=${escapePathSegment(key.runId)}`, `task_id=${escapePathSegment(key.taskId)}`];
  if (key.mapIndex !== undefined && key.mapIndex !== null && key.mapIndex >= 0) parts.push(`map_index=${Math.trunc(key.mapIndex)}`);
  parts.push(`attempt=${Math.trunc(key.tryNumber)}.log`);
  return join(baseFolder, ...parts);
}

/** Options of `TaskLogWriter.open`. */
export interface TaskLogWriterOptions {
  /** Applied to the text of every line before it is written, e.g. to replace secret values with `***`. */
  mask?: (text: string) => string;
  /** Clock for line timestamps. Default `() => new Date()`. */
  now?: () => Date;
  /**
   * Also receives every line as written to the file (masked, with its timestamp and newline), e.g. the
   * process's own stdout in a worker pod, so `pods/log` shows the task log while the pod runs.
   */
  mirror?: (line: string) => void;
}

/**
 * Appends timestamped, masked lines to one task log file. Calls from any number of concurrent producers
 * in this process are queued and written in call order, whole lines at a time; `flush` waits for them.
 * `close` writes the end marker. A write error is kept and thrown by the next `flush` or `close`.
 *
 * @example
 * const log = await TaskLogWriter.open(taskLogPath(config.logging.baseLogFolder, key), { mask });
 * child.stdout.pipe(log.stream('INFO'));
 * log.info('task started');
 * await log.close();
 */
export class TaskLogWriter {
  readonly path: string;
  readonly #handle: FileHandle;
  readonly #mask: ((text: string) => string) | undefined;
  readonly #now: () => Date;
  readonly #mirror: ((line: string) => void) | undefined;
  readonly #streams = new Set<LineStream>();
  #pending: string[] = [];
  #inFlight: Promise<void> | undefined;
  #failure: unknown;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(path: string, handle: FileHandle, options: TaskLogWriterOptions) {
    this.path = path;
    this.#handle = handle;
    this.#mask = options.mask;
    this.#now = options.now ?? (() => new Date());
    this.#mirror = options.mirror;
  }

  /** Open (creating folders and file as needed) for appending; an existing file is kept and added to. */
  static async open(path: string, options: TaskLogWriterOptions = {}): Promise<TaskLogWriter> {
    // Task logs may hold what a task printed: private to this user (folders 0700, files 0600).
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const handle = await open(path, 'a', 0o600);
    return new TaskLogWriter(path, handle, options);
  }

  /** Queue `text` as one line per `\n`-separated part (a trailing newline adds no empty line). */
  write(level: TaskLogLevel, text: string): void {
    if (this.#closed) throw new Error(`task log ${this.path} is closed`);
    const stamp = this.#now().toISOString();
    const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
    for (const raw of lines) {
      const masked = this.#mask ? this.#mask(raw.replace(/\r$/, '')) : raw.replace(/\r$/, '');
      const safe = masked === END_OF_LOG_MESSAGE ? `${masked} (written by the task)` : masked;
      const line = `${stamp} ${level} ${safe}\n`;
      this.#pending.push(line);
      this.#mirror?.(line);
    }
    this.#kick();
  }

  debug(text: string): void {
    this.write('DEBUG', text);
  }

  info(text: string): void {
    this.write('INFO', text);
  }

  warn(text: string): void {
    this.write('WARN', text);
  }

  error(text: string): void {
    this.write('ERROR', text);
  }

  /** A writable stream that turns arbitrary chunks (e.g. a child's stdout) into lines at `level`. */
  stream(level: TaskLogLevel): Writable {
    const s = new LineStream(this, level);
    this.#streams.add(s);
    s.once('close', () => this.#streams.delete(s));
    return s;
  }

  /** Resolves once every line queued so far is in the file; throws the first write error, if any. */
  async flush(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Write any partial stream lines and the end marker, flush, and close the file. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const s of this.#streams) s.flushPartial();
    const end = `${this.#now().toISOString()} INFO ${END_OF_LOG_MESSAGE}\n`;
    this.#pending.push(end);
    this.#mirror?.(end);
    this.#closed = true;
    this.#kick();
    try {
      await this.flush();
    } finally {
      await this.#handle.close();
    }
  }

  #kick(): void {
    this.#inFlight ??= this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending.length > 0 && this.#failure === undefined) {
        const chunk = this.#pending.join('');
        this.#pending = [];
        await this.#handle.appendFile(chunk, 'utf8');
      }
    } catch (err) {
      this.#failure = err;
      this.#pending = [];
    } finally {
      this.#inFlight = undefined;
    }
  }
}

/** Splits a byte stream into lines for `TaskLogWriter.stream`; a partial last line is written on end. */
class LineStream extends Writable {
  readonly #writer: TaskLogWriter;
  readonly #level: TaskLogLevel;
  readonly #decoder = new StringDecoder('utf8');
  #partial = '';

  constructor(writer: TaskLogWriter, level: TaskLogLevel) {
    super({ decodeStrings: false });
    this.#writer = writer;
    this.#level = level;
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      const text = this.#partial + (typeof chunk === 'string' ? chunk : this.#decoder.write(chunk));
      const cut = text.lastIndexOf('\n');
      this.#partial = cut < 0 ? text : text.slice(cut + 1);
      if (cut >= 0) this.#writer.write(this.#level, text.slice(0, cut));
      callback();
    } catch (err) {
      callback(err instanceof Error ? err : new Error(String(err)));
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    try {
      this.flushPartial();
      callback();
    } catch (err) {
      callback(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Write whatever is buffered without a newline yet. */
  flushPartial(): void {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    if (rest !== '') this.#writer.write(this.#level, rest);
  }
}
