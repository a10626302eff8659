/**
 * Task logs per try: a byte range (`fromByte`/`toByte`, or the last `tailBytes`) with a continuation token
 * for the next read, and a live follow of a running try as Server-Sent Events.
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { NotFound } from '../../../core/errors.ts';
import { isTerminal } from '../../../core/states.ts';
import type { TaskLogKey } from '../../../logging/taskLog.ts';
import { readTryLog, type TryLogChunk } from '../../../logging/tryLog.ts';
import { findTaskInstance } from '../../../store/taskInstances.ts';
import type { TaskInstanceRow } from '../../../store/schema.ts';
import { InvalidField } from '../../http/index.ts';
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
  })
  .openapi('TaskLogChunk');

/** The token is the next byte offset, opaque to clients so its form may change. */
const tokenFor = (nextByte: number) => Buffer.from(JSON.stringify({ b: nextByte })).toString('base64url');
function byteOfToken(token: string): number {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { b?: unknown };
    if (typeof v.b === 'number' && Number.isSafeInteger(v.b) && v.b >= 0) return v.b;
  } catch {
    // fall through
  }
  throw new InvalidField('token', 'query: token: is not a continuation token of this API');
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

export const getLog = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/logs/{tryNumber}',
  operationId: 'getLog',
  tags: TAGS,
  summary: "A try's log, by byte range",
  description: 'Reads at most `maxBytes` (default 1 MiB, at most 8 MiB) from `fromByte` (or `token`), up to `toByte` (exclusive) when given. `tailBytes` reads the end of the log (from the first whole line within that many bytes) — how a viewer opens a 50 MB log at its tail, then loads backwards with `fromByte`/`toByte`.',
  access: onDag('task_log', 'read'),
  params: LogPath,
  query: {
    mapIndex: MapIndexQuery,
    fromByte: byteQuery('first byte (default 0)'),
    toByte: byteQuery('end byte, exclusive'),
    tailBytes: intQuery({ min: 1, max: MAX_READ_BYTES, description: 'read the last N bytes instead' }).optional(),
    maxBytes: intQuery({ min: 1, max: MAX_READ_BYTES, description: `default ${DEFAULT_READ_BYTES}` }).optional(),
    token: z.string().max(200).optional().openapi({ description: 'a continuationToken from an earlier read' }),
  },
  response: { schema: LogChunkSchema },
  handler: async (_c, { params, query: q }, d) => {
    if ([q.fromByte, q.token, q.tailBytes].filter((v) => v !== undefined).length > 1) throw new InvalidField('fromByte', 'query: give one of fromByte, token and tailBytes');
    const { key } = await tryOf(d, params, q.mapIndex);
    let fromByte = q.token !== undefined ? byteOfToken(q.token) : (q.fromByte ?? 0);
    if (q.tailBytes !== undefined) {
      const size = await (d.taskLogs as NonNullable<V2Deps['taskLogs']>).handler.size(key);
      fromByte = Math.max(0, size - q.tailBytes);
    }
    if (q.toByte !== undefined && q.toByte < fromByte) throw new InvalidField('toByte', 'query: toByte: must be at least fromByte');
    const chunk = await readLog(d, key, fromByte);
    const start = Math.min(fromByte, chunk.nextByte);
    let bytes = Buffer.from(chunk.text, 'utf8');
    let first = start;
    if (q.tailBytes !== undefined && first > 0) {
      // Start at a whole line.
      const nl = bytes.indexOf(0x0a);
      if (nl >= 0 && nl + 1 < bytes.length) {
        bytes = bytes.subarray(nl + 1);
        first += nl + 1;
      }
    }
    const limit = Math.min(q.maxBytes ?? DEFAULT_READ_BYTES, q.toByte === undefined ? Number.MAX_SAFE_INTEGER : q.toByte - first);
    const slice = cutUtf8(bytes, Math.max(0, limit));
    const nextByte = first + slice.length;
    const ended = chunk.ended && nextByte >= chunk.nextByte;
    return { content: slice.toString('utf8'), fromByte: first, nextByte, ended, source: chunk.source, continuationToken: ended ? null : tokenFor(nextByte) };
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
