/**
 * Reading task logs written by `TaskLogWriter`: one-shot reads from a byte offset (for paging through the
 * API) and following a growing file until the writer's end marker appears (`tasks logs --follow`).
 */
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { NotFound } from '../core/index.ts';
import { END_OF_LOG_MESSAGE, isEndOfLogLine } from './taskLog.ts';

/** A slice of a task log. */
export interface TaskLogChunk {
  /** Text from `fromByte` up to `nextByte`. */
  text: string;
  /** Offset to pass as `fromByte` next time. */
  nextByte: number;
  /** True when the file ends with the end marker: the try is over and nothing more will be written. */
  ended: boolean;
}

/** Longest end-marker line, with room for any ISO timestamp. */
export const END_LINE_MAX_BYTES = 64 + END_OF_LOG_MESSAGE.length;

/**
 * Read a task log from `fromByte` (default 0) to `toByte` (exclusive; default its current end). A multi-byte
 * character cut by a write still in progress (or by `toByte`) is left for the next read. `ended` says whether
 * the file ends with the end marker, whatever the range. Throws `NotFound` when the file does not exist.
 */
export async function readTaskLog(path: string, options: { fromByte?: number; toByte?: number } = {}): Promise<TaskLogChunk> {
  const fromByte = options.fromByte ?? 0;
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFound(`no task log at ${path}`, 'the try may not have started yet');
    throw err;
  }
  try {
    const { size } = await handle.stat();
    const start = Math.min(fromByte, size);
    const bytes = await readRange(handle, start, Math.max(start, Math.min(options.toByte ?? size, size)));
    const usable = completeUtf8Length(bytes);
    const tail = await readRange(handle, Math.max(0, size - END_LINE_MAX_BYTES), size);
    return { text: bytes.subarray(0, usable).toString('utf8'), nextByte: start + usable, ended: endsWithMarker(tail) };
  } finally {
    await handle.close();
  }
}

/** Options of `followTaskLog`. */
export interface FollowOptions {
  /** Where to start. Default 0 (the whole file). */
  fromByte?: number;
  /** Fallback poll period for filesystems where `fs.watch` misses changes. Default 500 ms. */
  pollIntervalMs?: number;
}

/**
 * Deliver the log's complete lines to `onChunk` as they are appended, until the end marker has been
 * delivered or `signal` aborts. The file need not exist yet. Resolves with where reading stopped.
 *
 * @example
 * const controller = new AbortController();
 * const { ended } = await followTaskLog(path, (text) => process.stdout.write(text), controller.signal);
 */
export async function followTaskLog(path: string, onChunk: (text: string) => void, signal: AbortSignal, options: FollowOptions = {}): Promise<{ nextByte: number; ended: boolean }> {
  let offset = options.fromByte ?? 0;
  const changes = new ChangeSignal(path, signal, options.pollIntervalMs ?? 500);
  try {
    while (!signal.aborted) {
      changes.reset();
      changes.refresh();
      const bytes = await readFrom(path, offset);
      const cut = bytes === undefined ? -1 : bytes.lastIndexOf(0x0a);
      if (bytes !== undefined && cut >= 0) {
        const text = bytes.subarray(0, cut + 1).toString('utf8');
        offset += cut + 1;
        onChunk(text);
        const lastLine = text.slice(text.lastIndexOf('\n', text.length - 2) + 1, -1);
        if (isEndOfLogLine(lastLine)) return { nextByte: offset, ended: true };
      }
      await changes.next();
    }
    return { nextByte: offset, ended: false };
  } finally {
    changes.dispose();
  }
}

/**
 * Wakes the follower when the file (or, before it exists, the nearest existing folder on its path) changes, on every poll tick, and on
 * abort. A change that lands while the follower is reading is remembered, so none is missed.
 */
class ChangeSignal {
  readonly #path: string;
  readonly #signal: AbortSignal;
  readonly #timer: NodeJS.Timeout;
  #watcher: FSWatcher | undefined;
  #watched: string | undefined;
  #dirty = false;
  #wake: (() => void) | undefined;
  readonly #onAbort = (): void => this.#poke();

  constructor(path: string, signal: AbortSignal, pollIntervalMs: number) {
    this.#path = path;
    this.#signal = signal;
    this.#timer = setInterval(() => this.#poke(), pollIntervalMs);
    signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  reset(): void {
    this.#dirty = false;
  }

  /**
   * Watch the file, or while it does not exist the nearest folder on its path that does, so the creation
   * of each missing level (and finally of the file) wakes the follower without waiting for a poll.
   */
  refresh(): void {
    let target = this.#path;
    while (!existsSync(target)) {
      const parent = dirname(target);
      if (parent === target) return;
      target = parent;
    }
    if (target !== this.#watched && this.#watch(target)) this.#watched = target;
  }

  next(): Promise<void> {
    if (this.#dirty || this.#signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  dispose(): void {
    clearInterval(this.#timer);
    this.#signal.removeEventListener('abort', this.#onAbort);
    this.#watcher?.close();
    this.#wake?.();
  }

  #poke(): void {
    this.#dirty = true;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #watch(target: string): boolean {
    try {
      const watcher = watch(target, { persistent: false }, () => this.#poke());
      watcher.on('error', () => {
        // The poll keeps the follower going when a watch breaks (file replaced, folder removed).
        watcher.close();
        if (this.#watcher === watcher) this.#watched = undefined;
      });
      this.#watcher?.close();
      this.#watcher = watcher;
      return true;
    } catch {
      return false; // Not there yet: the poll covers it until the next attempt.
    }
  }
}

async function readFrom(path: string, offset: number): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    return await readRange(handle, Math.min(offset, size), size);
  } finally {
    await handle.close();
  }
}

async function readRange(handle: FileHandle, start: number, end: number): Promise<Buffer> {
  const buffer = Buffer.alloc(Math.max(0, end - start));
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, start + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/** Length of the longest prefix of `bytes` that does not end inside a UTF-8 sequence. */
export function completeUtf8Length(bytes: Buffer): number {
  let i = bytes.length - 1;
  let continuation = 0;
  while (i >= 0 && continuation < 4 && ((bytes[i] ?? 0) & 0xc0) === 0x80) {
    i--;
    continuation++;
  }
  if (i < 0) return bytes.length;
  const lead = bytes[i] ?? 0;
  const needed = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0;
  return needed > continuation ? i : bytes.length;
}

/** True when `tail` (the last bytes of a log, at least `END_LINE_MAX_BYTES` of them when there are) ends with the end marker line. */
export function endsWithMarker(tail: Buffer): boolean {
  const text = tail.toString('utf8');
  if (!text.endsWith('\n')) return false;
  const body = text.slice(0, -1);
  return isEndOfLogLine(body.slice(body.lastIndexOf('\n') + 1));
}
