/**
 * `capstan tasks …` through a remote API server: the same rows, objects and exit codes as the local commands in
 * src/cli/commands/tasks.ts, read from `/api/v2`. `tasks logs --follow` reads the try's log on from the last
 * byte it printed (the API's continuation token) until the API says the try ended.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CapstanError, InvalidArgument, isTerminal } from '../../core/index.ts';
import type { JsonObject } from '../../core/index.ts';
import type { ClearRequest, ClearResult } from '../../services/index.ts';
import { printObject, type OutputFormat } from '../output.ts';
import { remoteTiJson, remoteTryJson, type TaskInstanceJson } from '../views.ts';
import type { RemoteApi } from './connection.ts';
import { allPages, PAGE } from './dags.ts';

/** One task instance of a run. */
export interface TiKey {
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
}

/** How often a follow asks for more log while the try runs. */
const FOLLOW_POLL_MS = 500;
/** Rendered fields are read for this many task instances at a time. */
const RENDERED_FIELDS_CONCURRENCY = 8;

export async function listTaskInstancesRemote(api: RemoteApi, output: OutputFormat, dagId: string, runId: string): Promise<TaskInstanceJson[]> {
  const path = { dagId, dagRunId: runId };
  const tis = await allPages(async (offset) => {
    const page = await api.ok(api.client.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances', { path, query: { limit: PAGE, offset, orderBy: 'taskId' } }));
    return { items: page.taskInstances, totalEntries: page.totalEntries };
  });
  tis.sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : a.mapIndex - b.mapIndex)); // the local order: task id, then map index
  // Only the JSON output carries rendered fields, which the list does not include: read them per task instance.
  const rendered = output === 'json' ? await mapLimited(tis, RENDERED_FIELDS_CONCURRENCY, (t) => renderedFieldsOf(api, { dagId, runId, taskId: t.taskId, mapIndex: t.mapIndex })) : tis.map(() => null);
  return tis.map((t, i) => remoteTiJson(t, rendered[i] ?? null));
}

export async function taskStateRemote(api: RemoteApi, output: OutputFormat, key: TiKey): Promise<void> {
  const ti = await getTi(api, key);
  if (output !== 'json') {
    process.stdout.write(`${ti.state}\n`);
    return;
  }
  const path = { dagId: key.dagId, dagRunId: key.runId, taskId: key.taskId };
  const [tries, rendered] = await Promise.all([api.ok(api.client.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries', { path, query: { mapIndex: key.mapIndex } })), renderedFieldsOf(api, key)]);
  printObject({ ...remoteTiJson(ti, rendered), tries: tries.taskInstances.map(remoteTryJson) }, 'json');
}

export async function taskLogsRemote(api: RemoteApi, output: OutputFormat, key: TiKey, o: { tryNumber?: number; follow: boolean }): Promise<void> {
  let ti = o.follow ? await waitForTi(api, key) : await getTi(api, key);
  // Following the latest try of a task that has not started yet waits for its first try.
  while (o.follow && o.tryNumber === undefined && ti.tryNumber < 1 && !isTerminal(ti.state)) {
    await sleep(FOLLOW_POLL_MS);
    ti = await getTi(api, key);
  }
  const tryNumber = o.tryNumber ?? ti.tryNumber;
  if (!Number.isInteger(tryNumber) || tryNumber < 1) throw new InvalidArgument(`--try must be a try number ≥ 1 (the task instance is at try ${ti.tryNumber})`);
  const path = { dagId: key.dagId, dagRunId: key.runId, taskId: key.taskId, tryNumber };
  const read = (token: string | undefined) => api.ok(api.client.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/logs/{tryNumber}', { path, query: { mapIndex: key.mapIndex, ...(token === undefined ? {} : { token }) } }));

  if (!o.follow) {
    let text = '';
    let source: 'store' | 'live' = 'store';
    for (let token: string | undefined; ; ) {
      const chunk = await read(token);
      text += chunk.content;
      source = chunk.source;
      if (chunk.content === '' || chunk.continuationToken === null) break;
      token = chunk.continuationToken;
    }
    if (output === 'json') printObject({ dagId: key.dagId, runId: key.runId, taskId: key.taskId, mapIndex: key.mapIndex, tryNumber, text, source }, 'json');
    else process.stdout.write(text);
    return;
  }

  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once('SIGINT', onSigint);
  try {
    let token: string | undefined;
    while (!stop.signal.aborted) {
      const chunk = await read(token).catch(async (err: unknown) => {
        // No log yet: the try is queued or starting. Wait for it unless the task instance has finished without one.
        if (err instanceof CapstanError && err.code === 'not_found' && !isTerminal((await getTi(api, key)).state)) return undefined;
        throw err;
      });
      if (chunk !== undefined) {
        process.stdout.write(chunk.content);
        if (chunk.ended || chunk.continuationToken === null) return;
        token = chunk.continuationToken;
        if (chunk.content !== '') continue;
      }
      await sleep(FOLLOW_POLL_MS, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

export async function clearTaskInstancesRemote(api: RemoteApi, r: ClearRequest): Promise<ClearResult> {
  const body = {
    dryRun: r.dryRun ?? false,
    includeUpstream: r.upstream ?? false,
    includeDownstream: r.downstream ?? false,
    onlyFailed: r.onlyFailed ?? false,
    ...(r.runId === undefined ? {} : { dagRunId: r.runId }),
    ...(r.taskRegex === undefined ? {} : { taskRegex: r.taskRegex }),
    ...(r.taskIds === undefined ? {} : { taskIds: r.taskIds }),
    ...(r.startDate === undefined ? {} : { startDate: new Date(r.startDate).toISOString() }),
    ...(r.endDate === undefined ? {} : { endDate: new Date(r.endDate).toISOString() }),
  };
  const result = await api.ok(api.client.call('post', '/dags/{dagId}/clearTaskInstances', { path: { dagId: r.dagId }, body }));
  return {
    dryRun: result.dryRun,
    taskInstances: result.taskInstances.map((t) => ({ runId: t.dagRunId, taskId: t.taskId, mapIndex: t.mapIndex, previousState: t.previousState })),
    runs: result.dagRuns.map((x) => ({ runId: x.dagRunId, previousState: x.previousState, state: x.state, clearNumber: x.clearNumber })),
  };
}

function getTi(api: RemoteApi, key: TiKey) {
  return api.ok(api.client.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}', { path: { dagId: key.dagId, dagRunId: key.runId, taskId: key.taskId }, query: { mapIndex: key.mapIndex } }));
}

/**
 * The task instance, waiting while its run is too new to have it (a follow right after `dags trigger`); a run
 * that is missing or finished without it is the 404 it would be locally.
 */
async function waitForTi(api: RemoteApi, key: TiKey): ReturnType<typeof getTi> {
  for (;;) {
    try {
      return await getTi(api, key);
    } catch (err) {
      if (!(err instanceof CapstanError && err.code === 'not_found')) throw err;
      const run = await api.ok(api.client.call('get', '/dags/{dagId}/dagRuns/{dagRunId}', { path: { dagId: key.dagId, dagRunId: key.runId } }));
      if (run.state !== 'queued' && run.state !== 'running') throw err;
    }
    await sleep(FOLLOW_POLL_MS);
  }
}

/** The latest rendered fields of a task instance, null before a try rendered them (as locally). */
async function renderedFieldsOf(api: RemoteApi, key: TiKey): Promise<JsonObject | null> {
  const r = await api.client.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/renderedFields', { path: { dagId: key.dagId, dagRunId: key.runId, taskId: key.taskId }, query: { mapIndex: key.mapIndex } });
  if (r.status === 404) return null;
  return (await api.ok(Promise.resolve(r))).renderedFields as JsonObject;
}

/** `fn` over `items`, at most `limit` at a time, results in order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** One state move as `tasks history` prints it. */
export interface HistoryRow {
  at: string | null;
  mapIndex: number;
  try: number;
  from: string | null;
  to: string | null;
  actor: string;
  failureKind: string | null;
  reason: string | null;
}

/**
 * `tasks history`: every state move of a task in a run from `…/stateHistory`, oldest first; without a map
 * index, every instance of the task (a mapped task's indexes in order), as locally.
 */
export async function taskHistoryRemote(api: RemoteApi, key: Omit<TiKey, 'mapIndex'> & { mapIndex?: number }): Promise<HistoryRow[]> {
  const path = { dagId: key.dagId, dagRunId: key.runId, taskId: key.taskId };
  let indexes: number[];
  if (key.mapIndex !== undefined) indexes = [key.mapIndex];
  else {
    const tis = await allPages(async (offset) => {
      const page = await api.ok(api.client.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances', { path: { dagId: key.dagId, dagRunId: key.runId }, query: { limit: PAGE, offset, orderBy: 'taskId' } }));
      return { items: page.taskInstances, totalEntries: page.totalEntries };
    });
    indexes = tis.filter((t) => t.taskId === key.taskId).map((t) => t.mapIndex).sort((a, b) => a - b);
    // An unknown task is the API's 404, as locally.
    if (indexes.length === 0) indexes = [-1];
  }
  const rows: HistoryRow[] = [];
  for (const mapIndex of indexes) {
    const moves = await allPages(async (offset) => {
      const page = await api.ok(api.client.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/stateHistory', { path, query: { mapIndex, limit: PAGE, offset, orderBy: 'at' } }));
      return { items: page.stateMoves, totalEntries: page.totalEntries };
    });
    for (const m of moves) rows.push({ at: m.at, mapIndex: m.mapIndex, try: m.tryNumber, from: m.fromState, to: m.toState, actor: m.actor, failureKind: m.failureKind, reason: m.reason });
  }
  return rows;
}

/** What `tasks mark-success|mark-failed` prints: the engine's MarkTasksResult. */
export interface MarkTasksOutput {
  dryRun: boolean;
  state: 'success' | 'failed';
  taskInstances: Array<{ runId: string; taskId: string; mapIndex: number; previousState: string }>;
}

/**
 * `tasks mark-success|mark-failed`: `PATCH …/taskInstances/{task}` for each named task (the API marks one task
 * and what its flags add along the graph and across runs); the task instances of every answer, each once.
 */
export async function markTaskInstancesRemote(
  api: RemoteApi,
  r: { dagId: string; runId: string; taskIds: string[]; state: 'success' | 'failed'; upstream: boolean; downstream: boolean; past: boolean; future: boolean; dryRun: boolean },
): Promise<MarkTasksOutput> {
  if (r.taskIds.length === 0) throw new InvalidArgument('name at least one task to mark');
  const seen = new Set<string>();
  const taskInstances: MarkTasksOutput['taskInstances'] = [];
  for (const taskId of r.taskIds) {
    const body = { newState: r.state, includeUpstream: r.upstream, includeDownstream: r.downstream, includePast: r.past, includeFuture: r.future, dryRun: r.dryRun };
    const result = await api.ok(api.client.call('patch', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}', { path: { dagId: r.dagId, dagRunId: r.runId, taskId }, body }));
    for (const t of result.taskInstances) {
      const id = JSON.stringify([t.dagRunId, t.taskId, t.mapIndex]);
      if (seen.has(id)) continue;
      seen.add(id);
      taskInstances.push({ runId: t.dagRunId, taskId: t.taskId, mapIndex: t.mapIndex, previousState: t.previousState });
    }
  }
  return { dryRun: r.dryRun, state: r.state, taskInstances };
}

/** `tasks note`: `PATCH …/taskInstances/{task}/note` (null removes it). */
export async function setTaskNoteRemote(api: RemoteApi, key: TiKey, note: string | null): Promise<void> {
  await api.ok(api.client.call('patch', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/note', { path: { dagId: key.dagId, dagRunId: key.runId, taskId: key.taskId }, query: { mapIndex: key.mapIndex }, body: { note } }));
}
