/**
 * Task logs per try: a byte range (`fromByte`/`toByte`, the last `tailBytes`, or the page ending at `endByte`)
 * with continuation tokens for the next and the previous page, and a live follow of a running try as
 * Server-Sent Events.
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { isTerminal, NotFound } from '../../../../core/index.ts';
import type { TaskLogKey } from '../../../../logging/taskLogs.ts';
import { readTryLog, type TryLogChunk } from '../../../../logging/taskLogs.ts';
import { findTaskInstance } from '../../../../store/index.ts';
import type { TaskInstanceRow } from '../../../../store/index.ts';
import { InvalidField } from '../../../http/index.ts';
import { onDag } from '../access.ts';
import type { V2Deps } from '../deps.ts';
import { intQuery } from '../input.ts';
import { defineRoute } from '../route.ts';
import { DagId, RunId, TaskId } from '../schemas/common.ts';
import { pollStream, wakeSources } from '../sse.ts';
import { MapIndexQuery } from './taskInstances.ts';

const TAGS = ['TaskInstance'];
const LogPath = { dagId: DagId, dagRunId: RunId, taskId: TaskId, tryNumber: intQuery({ min: 1, max: 1_000_000 }).openapi({ type: 'integer', minimum: 1, description: 'try number (1 = first try)' }) };
/** Largest slice one read answers. */
const MAX_READ_BYTES = 8 * 1024 * 1024;
const DEFAULT_READ_BYTES = 1024 * 1024;
const byteQuery = (description: string) => intQuery({ min: 0, max: Number.MAX_SAFE_INTEGER, description }).optional();

const LogChunkSchema = z
  .object({
    content: z.string().openapi({ description: 'log text from fromByte to nextByte (UTF-8)' }),
    fromByte: z.number().int(),
    nextByte: z.number().int(),
    ended: z.boolean().openapi({ description: 'the try is over and this read reached the end of its log' }),
    source: z.enum(['store', 'live']).openapi({ description: 'store: the log store; live: the worker pod, while the try runs' }),
    continuationToken: z.string().nullable().openapi({ description: 'pass as `token` to read on from nextByte; null once ended' }),
    previousToken: z.string().nullable().openapi({ description: 'pass as `before` to read the page ending at fromByte; null at the start of the log' }),
  })
  .openapi('TaskLogChunk');

/** The token is the next byte offset, opaque to clients so its form may change. */
const tokenFor = (nextByte: number) => Buffer.from(JSON.stringify({ b: nextByte })).toString('base64url');
function byteOfToken(token: string, field: 'token' | 'before'): number {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { b?: unknown };
    if (typeof v.b === 'number' && Number.isSafeInteger(v.b) && v.b >= 0) return v.b;
  } catch {
    // fall through
  }
  throw new InvalidField(field, `query: ${field}: is not a continuation token of this API`);
}

async function tryOf(d: V2Deps, p: { dagId: string; dagRunId: string; taskId: string; tryNumber: number }, mapIndex: number): Promise<{ ti: TaskInstanceRow; key: TaskLogKey }> {
  if (d.taskLogs === undefined) throw new NotFound('this API server reads no task logs');
  const ti = await findTaskInstance(d.db, p.dagId, p.dagRunId, p.taskId, mapIndex);
  if (p.tryNumber > Math.max(ti.try_number, 1)) throw new NotFound(`task '${p.taskId}' has had ${ti.try_number} tries, not ${p.tryNumber}`);
  return { ti, key: { dagId: p.dagId, runId: p.dagRunId, taskId: p.taskId, mapIndex, tryNumber: p.tryNumber } };
}

async function readLog(d: V2Deps, key: TaskLogKey, fromByte: number): Promise<TryLogChunk> {
  const logs = d.taskLogs as NonNullable<V2Deps['taskLogs']>;
  try {
    return await readTryLog(key, { handler: logs.handler, fromByte, ...(logs.live ? { live: logs.live } : {}) });
  } catch (err) {
    // The store's own message names the file on the server; the client learns which try has none.
    if (err instanceof NotFound) throw new NotFound(`no log of try ${key.tryNumber} of task '${key.taskId}' in run '${key.runId}' yet`, err.hint);
    throw err;
  }
}

/** `bytes` cut to at most `max`, not splitting a UTF-8 character. */
function cutUtf8(bytes: Buffer, max: number): Buffer {
  if (bytes.length <= max) return bytes;
  let end = max;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/** Continuation-token query parameters and the read each one asks for. */
type LogRead = { kind: 'forward'; fromByte: number } | { kind: 'tail'; bytes: number } | { kind: 'backward'; endByte: number };

function logReadOf(q: { fromByte?: number | undefined; token?: string | undefined; tailBytes?: number | undefined; endByte?: number | undefined; before?: string | undefined }): LogRead {
  const given = (['fromByte', 'token', 'tailBytes', 'endByte', 'before'] as const).filter((k) => q[k] !== undefined);
  if (given.length > 1) throw new InvalidField(given[1] ?? 'fromByte', `query: give one of fromByte, token, tailBytes, endByte and before, not ${given.join(' and ')}`);
  if (q.tailBytes !== undefined) return { kind: 'tail', bytes: q.tailBytes };
  if (q.endByte !== undefined) return { kind: 'backward', endByte: q.endByte };
  if (q.before !== undefined) return { kind: 'backward', endByte: byteOfToken(q.before, 'before') };
  return { kind: 'forward', fromByte: q.token !== undefined ? byteOfToken(q.token, 'token') : (q.fromByte ?? 0) };
}

/**
 * Bytes `fromByte`..`toByte` of the try's log (at most what exists), where the log is, and its whole size:
 * the store's range read when it holds the log (a 50 MB log is not read to answer 1 MiB of it), else the
 * live source's text.
 */
async function readLogRange(d: V2Deps, key: TaskLogKey, fromByte: number, toByte: number): Promise<{ bytes: Buffer; size: number; ended: boolean; source: TryLogChunk['source'] }> {
  const logs = d.taskLogs as NonNullable<V2Deps['taskLogs']>;
  const size = await logs.handler.size(key);
  if (size > 0) {
    const chunk = await logs.handler.read(key, { fromByte: Math.min(fromByte, size), toByte: Math.min(toByte, size) });
    return { bytes: Buffer.from(chunk.text, 'utf8'), size, ended: chunk.ended, source: 'store' };
  }
  const chunk = await readLog(d, key, 0);
  const all = Buffer.from(chunk.text, 'utf8');
  return { bytes: all.subarray(Math.min(fromByte, all.length), Math.min(toByte, all.length)), size: all.length, ended: chunk.ended, source: chunk.source };
}

/** Where `bytes` (read from an offset that may fall inside a line) starts its first whole line; 0 when none. */
function firstLineStart(bytes: Buffer): number {
  const nl = bytes.indexOf(0x0a);
  if (nl >= 0 && nl + 1 < bytes.length) return nl + 1;
  // One line longer than the read: start at a whole UTF-8 character instead.
  let i = 0;
  while (i < bytes.length && ((bytes[i] ?? 0) & 0xc0) === 0x80) i++;
  return i;
}

export const getLog = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/logs/{tryNumber}',
  operationId: 'getLog',
  tags: TAGS,
  summary: "A try's log, by byte range",
  description:
    'Forwards: at most `maxBytes` (default 1 MiB, at most 8 MiB) from `fromByte` (or `token`), up to `toByte` (exclusive) when given. ' +
    'At the tail: `tailBytes` reads the end of the log (from the first whole line within that many bytes). ' +
    'Backwards: `endByte` (or `before`) reads at most `maxBytes` ending there, from the first whole line — how a viewer opens a 50 MB log at its tail, then loads earlier pages on demand with each answer’s `previousToken`.',
  access: onDag('task_log', 'read'),
  params: LogPath,
  query: {
    mapIndex: MapIndexQuery,
    fromByte: byteQuery('first byte (default 0)'),
    toByte: byteQuery('end byte, exclusive'),
    tailBytes: intQuery({ min: 1, max: MAX_READ_BYTES, description: 'read the last N bytes instead' }).optional(),
    endByte: byteQuery('read backwards: the page ending at this byte (exclusive)'),
    maxBytes: intQuery({ min: 1, max: MAX_READ_BYTES, description: `default ${DEFAULT_READ_BYTES}` }).optional(),
    token: z.string().max(200).optional().openapi({ description: 'a continuationToken from an earlier read: the page after it' }),
    before: z.string().max(200).optional().openapi({ description: 'a previousToken from an earlier read: the page before it' }),
  },
  response: { schema: LogChunkSchema },
  handler: async (_c, { params, query: q }, d) => {
    const read = logReadOf(q);
    if (read.kind !== 'forward' && q.toByte !== undefined) throw new InvalidField('toByte', 'query: toByte: goes with fromByte or token only');
    if (read.kind === 'forward' && q.toByte !== undefined && q.toByte < read.fromByte) throw new InvalidField('toByte', 'query: toByte: must be at least fromByte');
    const { key } = await tryOf(d, params, q.mapIndex);
    const max = q.maxBytes ?? DEFAULT_READ_BYTES;
    let from: number;
    let to: number;
    if (read.kind === 'forward') {
      from = read.fromByte;
      to = Math.min(q.toByte ?? Number.MAX_SAFE_INTEGER, from + max);
    } else {
      const size = await (d.taskLogs as NonNullable<V2Deps['taskLogs']>).handler.size(key);
      // A log only in the live source has no stored size: its range is cut from the whole text below.
      const end = read.kind === 'tail' ? size || Number.MAX_SAFE_INTEGER : read.endByte;
      from = Math.max(0, end - (read.kind === 'tail' ? read.bytes : max));
      to = end;
    }
    const range = await readLogRange(d, key, from, to);
    if (read.kind === 'tail' && range.size < to) {
      // Live text: now that its size is known, take its tail.
      from = Math.max(0, range.size - read.bytes);
      to = range.size;
      range.bytes = (await readLogRange(d, key, from, to)).bytes;
    }
    let bytes = range.bytes;
    let first = Math.min(from, range.size);
    if (read.kind !== 'forward' && first > 0) {
      const skip = firstLineStart(bytes);
      bytes = bytes.subarray(skip);
      first += skip;
    }
    const slice = cutUtf8(bytes, read.kind === 'forward' ? max : bytes.length);
    const nextByte = first + slice.length;
    const ended = range.ended && nextByte >= range.size;
    return {
      content: slice.toString('utf8'),
      fromByte: first,
      nextByte,
      ended,
      source: range.source,
      continuationToken: ended ? null : tokenFor(nextByte),
      previousToken: first > 0 ? tokenFor(first) : null,
    };
  },
});

export const followLog = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/logs/{tryNumber}/stream',
  operationId: 'followLog',
  tags: TAGS,
  summary: "Follow a try's log live (Server-Sent Events)",
  description:
    'Events: `log` with `{ content, nextByte }` as lines arrive (the event id is nextByte, so a reconnect with Last-Event-ID resumes), `end` when the try is over and its log is complete. Starts at `fromByte` (default 0). A try that has not written yet is waited for.',
  access: onDag('task_log', 'read'),
  params: LogPath,
  query: { mapIndex: MapIndexQuery, fromByte: byteQuery('first byte (default 0, or the Last-Event-ID header)') },
  response: { mediaType: 'text/event-stream', description: 'an event stream' },
  handler: async (c, { params, query: q }, d) => {
    const { key } = await tryOf(d, params, q.mapIndex);
    let cursor = q.fromByte ?? lastEventId(c) ?? 0;
    return pollStream(c, {
      intervalMs: 250,
      ...(wakeSources(d) ? { onWake: wakeSources(d) as NonNullable<ReturnType<typeof wakeSources>> } : {}),
      poll: async (stream) => {
        let chunk: TryLogChunk | undefined;
        try {
          chunk = await readLog(d, key, cursor);
        } catch (err) {
          if (!(err instanceof NotFound)) throw err;
        }
        if (chunk && chunk.nextByte > cursor) {
          cursor = chunk.nextByte;
          await stream.writeSSE({ event: 'log', id: String(cursor), data: JSON.stringify({ content: chunk.text, nextByte: cursor }) });
        }
        if (chunk?.ended) {
          await stream.writeSSE({ event: 'end', data: JSON.stringify({ nextByte: cursor }) });
          return 'done';
        }
        if (!chunk) {
          // No log, and the try will write none: it is over (or it never started and was moved on).
          const ti = await findTaskInstance(d.db, key.dagId, key.runId, key.taskId, q.mapIndex);
          if (ti.try_number > key.tryNumber || (isTerminal(ti.state) && ti.try_number === key.tryNumber)) {
            await stream.writeSSE({ event: 'end', data: JSON.stringify({ nextByte: cursor }) });
            return 'done';
          }
        }
        return 'more';
      },
    });
  },
});

function lastEventId(c: Context): number | undefined {
  const v = c.req.header('last-event-id');
  return v !== undefined && /^\d{1,15}$/.test(v) ? Number(v) : undefined;
}

export const logRoutes = [getLog, followLog];
