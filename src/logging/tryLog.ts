/**
 * Reading one try's task log wherever it is: the log store first (the local file a local task process wrote,
 * or what a remote worker shipped), then, while a remote try has shipped nothing yet, a live source such as
 * the worker pod's `pods/log`. `capstan tasks logs` and the public API both read through here.
 */
import { NotFound } from '../core/errors.ts';
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
