/**
 * Where task logs are kept beyond the process that wrote them. A task process whose filesystem disappears with
 * it (a Kubernetes worker pod) ships its log through the Execution API; the API server hands each chunk to a
 * `TaskLogHandler`, and readers (`capstan tasks logs`, the public API) read the log back from the same handler.
 *
 * Shipping is positional: a chunk carries the byte offset it starts at in the try's log, so a resent chunk
 * (a retried request, a shipper that restarted its last interval) writes the same bytes at the same place
 * and changes nothing, and a chunk that would leave a gap is refused with the size the handler holds, from
 * which the shipper resumes. Nothing is ever appended twice.
 *
 * A try that continues in a new process (a deferred task resumed in a new pod) starts a fresh local file; its
 * shipper asks the store's size first and ships the new file after what is stored.
 *
 * `LocalFileTaskLogHandler` keeps shipped logs in the API server's `logging.baseLogFolder`, in the same layout
 * the local task processes write, so every reader finds local and shipped logs alike.
 * `ObjectStoreTaskLogHandler` (objectStoreHandler.ts) implements the same three methods over an S3-API bucket;
 * `taskLogHandlerFor` (handlerFromConfig.ts) picks one from `logging.remoteStore`.
 */
import { mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CapstanError } from '../core/index.ts';
import { taskLogPath, type TaskLogKey } from './taskLog.ts';
import { readTaskLog, type TaskLogChunk } from './taskLogReader.ts';

/** A shipped chunk that does not continue the stored log: `size` is where the next chunk must start. */
export class TaskLogGapError extends CapstanError {
  readonly size: number;
  constructor(offset: number, size: number) {
    super('conflict', `a task log chunk at byte ${offset} would leave a gap: the stored log has ${size} bytes`, { hint: `resend from byte ${size}` });
    this.name = 'TaskLogGapError';
    this.size = size;
  }
}

/** Options of `TaskLogHandler.read`. */
export interface TaskLogReadOptions {
  /** First byte (default 0). */
  fromByte?: number;
  /** End byte, exclusive (default the stored size): a reader paging backwards reads only what it shows. */
  toByte?: number;
}

/**
 * Storage of task logs by try. Implementations must make `write` idempotent for the same bytes at the same
 * offset. The same contract suite (test/logging/logHandlerContract.ts) runs against every implementation.
 */
export interface TaskLogHandler {
  /** Short name for diagnostics, e.g. `local-file`. */
  readonly name: string;
  /**
   * Store `chunk` at byte `offset` of the try's log and return the stored size. Throws `TaskLogGapError` when
   * `offset` is past the stored size.
   */
  write(key: TaskLogKey, offset: number, chunk: Uint8Array): Promise<{ size: number }>;
  /** Bytes stored for the try (0 when none). */
  size(key: TaskLogKey): Promise<number>;
  /**
   * The stored log from `fromByte` to `toByte` (a UTF-8 character cut at the end is left for the next read);
   * `ended` says whether the stored log ends with the end marker. Throws `NotFound` when nothing is stored.
   */
  read(key: TaskLogKey, options?: TaskLogReadOptions): Promise<TaskLogChunk>;
}

/**
 * Keeps task logs as files under `baseFolder` (`logging.baseLogFolder`), at `taskLogPath(baseFolder, key)`.
 *
 * @example
 * const handler = new LocalFileTaskLogHandler(config.logging.baseLogFolder);
 * await handler.write(key, 0, Buffer.from('2026-01-01T00:00:00.000Z INFO hello\n'));
 */
export class LocalFileTaskLogHandler implements TaskLogHandler {
  readonly name = 'local-file';
  readonly baseFolder: string;

  constructor(baseFolder: string) {
    this.baseFolder = baseFolder;
  }

  async write(key: TaskLogKey, offset: number, chunk: Uint8Array): Promise<{ size: number }> {
    if (!Number.isInteger(offset) || offset < 0) throw new CapstanError('invalid_argument', `task log offset must be an integer ≥ 0, got ${offset}`);
    const path = taskLogPath(this.baseFolder, key);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    // 'a+' would force every write to the end; 'r+' needs the file: create it first without truncating.
    await (await open(path, 'a', 0o600)).close();
    const handle = await open(path, 'r+');
    try {
      const { size } = await handle.stat();
      if (offset > size) throw new TaskLogGapError(offset, size);
      let written = 0;
      while (written < chunk.length) {
        const { bytesWritten } = await handle.write(chunk, written, chunk.length - written, offset + written);
        written += bytesWritten;
      }
      return { size: Math.max(size, offset + chunk.length) };
    } finally {
      await handle.close();
    }
  }

  async size(key: TaskLogKey): Promise<number> {
    try {
      return (await stat(taskLogPath(this.baseFolder, key))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
  }

  read(key: TaskLogKey, options: TaskLogReadOptions = {}): Promise<TaskLogChunk> {
    return readTaskLog(taskLogPath(this.baseFolder, key), options);
  }
}
