/**
 * Ships a task process's log file to the API server's log store (`PUT /execution/v1/task-instances/:id/logs`),
 * every `intervalMs` while the try runs and completely when it ends, so the log outlives a worker pod. Each
 * chunk names the byte offset it starts at, so a resent chunk is harmless and a lost one is noticed (the
 * store answers with the size it holds and shipping resumes from there).
 */
import { open } from 'node:fs/promises';
import { errorMessage } from '../core/index.ts';

/** What the shipper needs of the Execution API client. */
export interface LogChunkSink {
  putLogChunk(offset: number, chunk: Uint8Array): Promise<{ size: number; gap: boolean }>;
}

/** Options of {@link LogShipper}. */
export interface LogShipperOptions {
  /** Period of the background shipping. */
  intervalMs: number;
  /** Largest chunk per request. Default 1 MiB. */
  maxChunkBytes?: number;
  /** Told about a failed background round (the next round retries). */
  onError?: (err: unknown) => void;
}

/**
 * @example
 * const shipper = new LogShipper(log.path, api, { intervalMs: 5_000 });
 * shipper.start();
 * // ... the try runs, the log is closed ...
 * await shipper.finish();
 */
export class LogShipper {
  readonly #path: string;
  readonly #sink: LogChunkSink;
  readonly #intervalMs: number;
  readonly #maxChunkBytes: number;
  readonly #onError: ((err: unknown) => void) | undefined;
  /** Store offset of byte 0 of the local file. */
  readonly #base: number;
  /** Bytes of the local file the store holds. */
  #shipped = 0;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;

  /**
   * `baseOffset` (default 0): where byte 0 of the local file goes in the store — what the store held minus what
   * the local file held, both measured before this process wrote. 0 when the file is the store's own (a
   * shared filesystem) or the try's first; the stored size for a fresh file of a try that continues in a new pod.
   */
  constructor(path: string, sink: LogChunkSink, options: LogShipperOptions & { baseOffset?: number }) {
    this.#path = path;
    this.#base = options.baseOffset ?? 0;
    this.#sink = sink;
    this.#intervalMs = options.intervalMs;
    this.#maxChunkBytes = options.maxChunkBytes ?? 1024 * 1024;
    this.#onError = options.onError;
  }

  /** Bytes the store has acknowledged. */
  get shippedBytes(): number {
    return this.#shipped;
  }

  /** Start shipping in the background. */
  start(): void {
    this.#timer ??= setInterval(() => {
      if (this.#round !== undefined) return;
      this.#round = this.#shipAll()
        .catch((err: unknown) => this.#onError?.(err))
        .finally(() => (this.#round = undefined));
    }, this.#intervalMs);
    // Shipping alone must not keep a finished task process alive.
    this.#timer.unref();
  }

  /** Ship everything the file holds now (after a background round in flight); the background rounds go on. */
  async shipNow(): Promise<void> {
    while (this.#round !== undefined) await this.#round;
    const round = this.#shipAll();
    this.#round = round.then(() => undefined, () => undefined).finally(() => (this.#round = undefined));
    await round;
  }

  /** Stop the background rounds and ship everything the file holds now (call after the log is closed). */
  async finish(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#round;
    await this.#shipAll();
  }

  async #shipAll(): Promise<void> {
    const handle = await open(this.#path, 'r');
    try {
      const base = this.#base;
      for (let guard = 0; guard < 10_000; guard++) {
        const { size } = await handle.stat();
        if (this.#shipped >= size) return;
        const length = Math.min(this.#maxChunkBytes, size - this.#shipped);
        const chunk = Buffer.alloc(length);
        const { bytesRead } = await handle.read(chunk, 0, length, this.#shipped);
        const stored = await this.#sink.putLogChunk(base + this.#shipped, chunk.subarray(0, bytesRead));
        // After a gap the store says where it stands; otherwise it holds at least what was sent.
        this.#shipped = stored.gap ? Math.max(0, stored.size - base) : this.#shipped + bytesRead;
      }
      throw new Error(`log shipping of ${this.#path} made no progress`);
    } catch (err) {
      throw new Error(`shipping the task log failed: ${errorMessage(err)}`, { cause: err });
    } finally {
      await handle.close();
    }
  }
}
