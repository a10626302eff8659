/**
 * Live state and note changes of runs and task instances as Server-Sent Events, for one DAG (optionally one run) or
 * every DAG the caller may see (`~`). Fed by the engine's in-process change signal (standalone) and a
 * short poll of the `updated_at` every transition stamps, so a change committed by any process arrives
 * within about half a second, with no client polling.
 */

import type { Context } from 'hono';
import { type ChangeScope, getDagRun, runChangesSince, tiChangesSinceAnywhere } from '../../../../store/index.ts';
import { onDag } from '../access.ts';
import type { V2Deps } from '../deps.ts';
import { intQuery } from '../input.ts';
import { defineRoute } from '../route.ts';
import { DagIdOrAll, RunId } from '../schemas/common.ts';
import { pollStream, wakeSources } from '../sse.ts';
import { dagScope } from './scope.ts';

/** How far back each poll looks again: a transaction that committed late with an earlier stamp is still seen. */
const RESCAN_MS = 2000;
const BATCH = 1000;

export const streamEvents = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/events',
  operationId: 'streamStateChanges',
  tags: ['Event'],
  summary: 'Live run and task-instance state changes (Server-Sent Events)',
  description:
    'Events: `ready` (with the cursor) once, then `dagRun` `{ dagId, dagRunId, state, note, updatedAt }` and `taskInstance` `{ dagId, dagRunId, taskId, mapIndex, state, tryNumber, note, updatedAt }` as their state or note changes. Each event id is a cursor: reconnecting with Last-Event-ID (or `since`, epoch ms) resumes without gaps. `~` as the DAG id streams every DAG the caller may see.',
  access: onDag('task_instance', 'read'),
  params: { dagId: DagIdOrAll },
  query: {
    dagRunId: RunId.optional().openapi({ description: 'only this run' }),
    since: intQuery({ min: 0, max: Number.MAX_SAFE_INTEGER, description: 'epoch ms; default now' }).optional(),
  },
  response: { mediaType: 'text/event-stream', description: 'an event stream' },
  handler: async (c, { params, query: q }, d) => {
    const scope: ChangeScope = await dagScope(c, d, params.dagId);
    if (q.dagRunId !== undefined) {
      if (scope.dagId !== undefined) await getDagRun(d.db, scope.dagId, q.dagRunId);
      scope.runId = q.dagRunId;
    }
    return changeStream(c, d, scope, q.since ?? lastEventId(c) ?? d.now());
  },
});

function changeStream(c: Context, d: V2Deps, scope: ChangeScope, since: number): Response {
  let cursor = since;
  let started = false;
  /** What was sent per row (`state@updatedAt`), for rows within the rescan window. */
  const sent = new Map<string, { sig: string; at: number }>();
  const fresh = (key: string, sig: string, at: number) => {
    if (sent.get(key)?.sig === sig) return false;
    sent.set(key, { sig, at });
    return true;
  };
  return pollStream(c, {
    intervalMs: 500,
    ...(wakeSources(d) ? { onWake: wakeSources(d) as NonNullable<ReturnType<typeof wakeSources>> } : {}),
    poll: async (stream) => {
      if (!started) {
        started = true;
        await stream.writeSSE({ event: 'ready', id: String(cursor), data: JSON.stringify({ cursor }) });
      }
      const from = Math.max(0, cursor - RESCAN_MS);
      const [runs, tis] = await Promise.all([runChangesSince(d.db, scope, from, BATCH), tiChangesSinceAnywhere(d.db, scope, from, BATCH)]);
      let newest = cursor;
      for (const r of runs) {
        newest = Math.max(newest, r.updated_at);
        if (!fresh(`r|${r.dag_id}|${r.run_id}`, `${r.state}@${r.updated_at}`, r.updated_at) || r.updated_at < since) continue;
        await stream.writeSSE({ event: 'dagRun', id: String(r.updated_at), data: JSON.stringify({ dagId: r.dag_id, dagRunId: r.run_id, state: r.state, note: r.note, updatedAt: new Date(r.updated_at).toISOString() }) });
      }
      for (const t of tis) {
        newest = Math.max(newest, t.updated_at);
        if (!fresh(`t|${t.dag_id}|${t.run_id}|${t.task_id}|${t.map_index}`, `${t.state}@${t.try_number}@${t.updated_at}`, t.updated_at) || t.updated_at < since) continue;
        await stream.writeSSE({
          event: 'taskInstance',
          id: String(t.updated_at),
          data: JSON.stringify({ dagId: t.dag_id, dagRunId: t.run_id, taskId: t.task_id, mapIndex: t.map_index, state: t.state, tryNumber: t.try_number, note: t.note, updatedAt: new Date(t.updated_at).toISOString() }),
        });
      }
      cursor = newest;
      for (const [k, v] of sent) if (v.at < cursor - RESCAN_MS) sent.delete(k);
      return 'more';
    },
  });
}

function lastEventId(c: Context): number | undefined {
  const v = c.req.header('last-event-id');
  return v !== undefined && /^\d{1,15}$/.test(v) ? Number(v) : undefined;
}

export const eventRoutes = [streamEvents];
