/**
 * Reading one try's task log wherever it is: the log store first (the local file a local task process wrote,
 * or what a remote worker shipped), then, while a remote try has shipped nothing yet, a live source such as
 * the worker pod's `pods/log`. `capstan tasks logs` and the public API both read through here.
 */
import { NotFound } from '../core/index.ts';
import type { TaskLogHandler } from './logHandler.ts';
import type { TaskLogKey } from './taskLog.ts';
import type { TaskLogChunk } from './taskLogReader.ts';
import { isEndOfLogLine } from './taskLog.ts';

/** A place a try's log can be read from while its process runs elsewhere (a worker pod's stdout). */
export interface LiveTaskLogSource {
  /** The whole log text so far, or `undefined` when this source has nothing for the try. */
  read(key: TaskLogKey): Promise<string | undefined>;
}

/** A slice of a try's log and where it was read from. */
export interface TryLogChunk extends TaskLogChunk {
  /** `store`: the log store (local file or shipped); `live`: a live source (e.g. the pod's log). */
  source: 'store' | 'live';
}

/**
 * The try's log from `fromByte`: from `handler`, else from the first live source that has it. Throws
 * `NotFound` when neither has anything (the try may not have started).
 *
 * @example
 * const { text, source } = await readTryLog(key, { handler: new LocalFileTaskLogHandler(base), live: [podLogs] });
 */
export async function readTryLog(
  key: TaskLogKey,
  options: { handler: TaskLogHandler; live?: readonly LiveTaskLogSource[]; fromByte?: number },
): Promise<TryLogChunk> {
  const fromByte = options.fromByte ?? 0;
  let notFound: NotFound;
  try {
    return { ...(await options.handler.read(key, { fromByte })), source: 'store' };
  } catch (err) {
    if (!(err instanceof NotFound)) throw err;
    notFound = err;
  }
  for (const source of options.live ?? []) {
    const text = await source.read(key);
    if (text === undefined) continue;
    const bytes = Buffer.from(text, 'utf8');
    const start = Math.min(fromByte, bytes.length);
    const body = text.endsWith('\n') ? text.slice(0, -1) : text;
    return {
      text: bytes.subarray(start).toString('utf8'),
      nextByte: bytes.length,
      ended: text.endsWith('\n') && isEndOfLogLine(body.slice(body.lastIndexOf('\n') + 1)),
      source: 'live',
    };
  }
  throw notFound;
}

/** Options of {@link followTryLog}. */
export interface FollowTryLogOptions {
  handler: TaskLogHandler;
  live?: readonly LiveTaskLogSource[];
  /** Where to start. Default 0. */
  fromByte?: number;
  /** Period of the reads. Default 500 ms. */
  pollIntervalMs?: number;
  /**
   * Asked while nothing is stored for the try: true when the try is over (or was moved on) and will write no
   * log, which ends the follow. Default: never (wait for a log or the signal).
   */
  isOver?: () => Promise<boolean>;
}

/**
 * Deliver the try's log to `onText` as it grows, read through `readTryLog` (so from whichever store is
 * configured, e.g. a bucket a remote worker ships to), until the stored log ends with the end marker, `isOver`
 * says no log will come, or `signal` aborts. Resolves with where reading stopped. The API's log stream
 * follows the same way; a local file can instead be watched with `followTaskLog`.
 *
 * @example
 * await followTryLog(key, (text) => process.stdout.write(text), ac.signal, { handler: taskLogHandlerFor(config.logging) });
 */
export async function followTryLog(key: TaskLogKey, onText: (text: string) => void, signal: AbortSignal, options: FollowTryLogOptions): Promise<{ nextByte: number; ended: boolean }> {
  let cursor = options.fromByte ?? 0;
  while (!signal.aborted) {
    let chunk: TryLogChunk | undefined;
    try {
      chunk = await readTryLog(key, { handler: options.handler, fromByte: cursor, ...(options.live ? { live: options.live } : {}) });
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
    }
    if (chunk && chunk.nextByte > cursor) {
      cursor = chunk.nextByte;
      onText(chunk.text);
    }
    if (chunk?.ended) return { nextByte: cursor, ended: true };
    if (!chunk && options.isOver && (await options.isOver())) return { nextByte: cursor, ended: false };
    await sleep(options.pollIntervalMs ?? 500, signal);
  }
  return { nextByte: cursor, ended: false };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
