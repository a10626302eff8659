/**
 * `capstan dags …` through a remote API server: the same rows, objects and exit codes as the local commands
 * in src/cli/commands/dags.ts, read from `/api/v2`.
 */
import type { JsonValue } from '../../core/index.ts';
import { printObject, printRows, type OutputFormat } from '../output.ts';
import { renderTaskTree } from '../taskTree.ts';
import { remoteDagJson, remoteRunJson } from '../views.ts';
import type { RemoteApi } from './connection.ts';

/** The largest page the API serves; lists are read page by page up to their totalEntries. */
export const PAGE = 1000;

/** Every entry of a paged list, page by page. */
export async function allPages<T>(read: (offset: number) => Promise<{ items: T[]; totalEntries: number }>): Promise<T[]> {
  const all: T[] = [];
  for (;;) {
    const { items, totalEntries } = await read(all.length);
    all.push(...items);
    if (items.length === 0 || all.length >= totalEntries) return all;
  }
}

export async function listDagsRemote(api: RemoteApi, output: OutputFormat, columns: string[]): Promise<void> {
  const dags = await allPages(async (offset) => {
    const page = await api.ok(api.client.call('get', '/dags', { query: { limit: PAGE, offset, orderBy: 'dagId' } }));
    return { items: page.dags, totalEntries: page.totalEntries };
  });
  printRows(dags.map(remoteDagJson), columns, output);
}

export async function listImportErrorsRemote(api: RemoteApi, output: OutputFormat): Promise<void> {
  const errors = await allPages(async (offset) => {
    const page = await api.ok(api.client.call('get', '/importErrors', { query: { limit: PAGE, offset } }));
    return { items: page.importErrors, totalEntries: page.totalEntries };
  });
  printRows(errors.map((e) => ({ file: e.filename, at: e.timestamp, error: e.stackTrace })), ['file', 'at', 'error'], output);
  if (errors.length > 0 && output === 'table') process.exitCode = 1;
}

export async function listWarningsRemote(api: RemoteApi, output: OutputFormat, dagId: string | undefined): Promise<void> {
  if (dagId !== undefined) await api.ok(api.client.call('get', '/dags/{dagId}', { path: { dagId } })); // an unknown DAG is a 404, as locally
  const warnings = await allPages(async (offset) => {
    const page = await api.ok(api.client.call('get', '/dagWarnings', { query: { limit: PAGE, offset, ...(dagId === undefined ? {} : { dagId }) } }));
    return { items: page.dagWarnings, totalEntries: page.totalEntries };
  });
  printRows(warnings.map((w) => ({ dagId: w.dagId, taskId: w.taskId ?? '', code: w.warningType, message: w.message })), ['dagId', 'taskId', 'code', 'message'], output);
}

export async function showDagRemote(api: RemoteApi, output: OutputFormat, dagId: string): Promise<void> {
  if (output === 'json') {
    // The stored serialized DAG, as the local command prints it.
    printObject(await api.ok(api.client.call('get', '/dags/{dagId}/serializedDag', { path: { dagId } })), 'json');
    return;
  }
  const path = { dagId };
  const [d, { tasks }, { dagWarnings }] = await Promise.all([
    api.ok(api.client.call('get', '/dags/{dagId}/details', { path })),
    api.ok(api.client.call('get', '/dags/{dagId}/tasks', { path })),
    api.ok(api.client.call('get', '/dagWarnings', { query: { dagId, limit: PAGE } })),
  ]);
  printObject({ dagId: d.dagId, schedule: d.timetableSummary ?? 'manual', catchup: d.catchup, maxActiveRuns: d.maxActiveRuns, maxActiveTasks: d.maxActiveTasks, file: d.fileloc }, 'table');
  process.stdout.write('\n');
  printRows(
    tasks.map((t) => ({ task: t.taskId, operator: t.operator, triggerRule: t.triggerRule, retries: t.retries, pool: t.pool, upstream: t.upstreamTaskIds.join(', ') })),
    ['task', 'operator', 'triggerRule', 'retries', 'pool', 'upstream'],
    'table',
  );
  const tree = tasks.map((t) => ({ taskId: t.taskId, operator: t.operator, triggerRule: t.triggerRule, retries: t.retries, upstream: t.upstreamTaskIds, downstream: t.downstreamTaskIds }));
  process.stdout.write(`\n${renderTaskTree(tree).join('\n')}\n`);
  for (const w of dagWarnings) process.stdout.write(`\nwarning (${w.warningType}${w.taskId === null ? '' : `, task ${w.taskId}`}): ${w.message}`);
  if (dagWarnings.length > 0) process.stdout.write('\n');
}

export async function triggerDagRemote(api: RemoteApi, output: OutputFormat, dagId: string, o: { conf?: JsonValue; runId?: string; logicalDate?: number }): Promise<void> {
  const body = {
    ...(o.conf === undefined ? {} : { conf: o.conf as Record<string, unknown> }),
    ...(o.runId === undefined ? {} : { dagRunId: o.runId }),
    ...(o.logicalDate === undefined ? {} : { logicalDate: new Date(o.logicalDate).toISOString() }),
  };
  const run = await api.ok(api.client.call('post', '/dags/{dagId}/dagRuns', { path: { dagId }, body }));
  printObject(remoteRunJson(run), output);
}

export async function setPausedRemote(api: RemoteApi, output: OutputFormat, dagId: string, paused: boolean): Promise<void> {
  const d = await api.ok(api.client.call('patch', '/dags/{dagId}', { path: { dagId }, body: { isPaused: paused } }));
  printObject({ dagId: d.dagId, isPaused: d.isPaused }, output);
}

export async function listRunsRemote(api: RemoteApi, output: OutputFormat, dagId: string, o: { state?: 'queued' | 'running' | 'success' | 'failed'; limit: number }, columns: string[]): Promise<void> {
  await api.ok(api.client.call('get', '/dags/{dagId}', { path: { dagId } })); // an unknown DAG is a 404, as locally
  const runs = await allPages(async (offset) => {
    const page = await api.ok(api.client.call('get', '/dags/{dagId}/dagRuns', { path: { dagId }, query: { limit: Math.min(PAGE, o.limit - offset), offset, orderBy: '-id', ...(o.state ? { state: [o.state] } : {}) } }));
    return { items: page.dagRuns, totalEntries: Math.min(page.totalEntries, o.limit) };
  });
  printRows(runs.map(remoteRunJson), columns, output);
}

/** What `dags mark-run` prints: the engine's MarkRunResult. */
export interface MarkRunOutput {
  runId: string;
  previousState: string;
  state: 'success' | 'failed';
  taskInstances: Array<{ runId: string; taskId: string; mapIndex: number; previousState: string; state: string }>;
}

/**
 * `dags mark-run`: `PATCH …/dagRuns/{run}` with the state. The API answers the run; the task instances it moved
 * are those whose state differs from before the call (read before and after), listed as locally: the ones moved
 * to the run's state first, then (marking failed) the unfinished ones it skipped.
 */
export async function markRunRemote(api: RemoteApi, dagId: string, runId: string, state: 'success' | 'failed'): Promise<MarkRunOutput> {
  const path = { dagId, dagRunId: runId };
  const run = await api.ok(api.client.call('get', '/dags/{dagId}/dagRuns/{dagRunId}', { path }));
  const before = await runTaskInstances(api, dagId, runId);
  await api.ok(api.client.call('patch', '/dags/{dagId}/dagRuns/{dagRunId}', { path, body: { state } }));
  const after = new Map((await runTaskInstances(api, dagId, runId)).map((t) => [`${t.taskId}\u0000${t.mapIndex}`, t.state]));
  const moved = before.flatMap((t) => {
    const now = after.get(`${t.taskId}\u0000${t.mapIndex}`);
    return now === undefined || now === t.state ? [] : [{ runId, taskId: t.taskId, mapIndex: t.mapIndex, previousState: t.state, state: now }];
  });
  moved.sort((a, b) => Number(b.state === state) - Number(a.state === state));
  return { runId: run.dagRunId, previousState: run.state, state, taskInstances: moved };
}

/** `dags note`: `PATCH …/dagRuns/{run}` with the note (null removes it). */
export async function setRunNoteRemote(api: RemoteApi, dagId: string, runId: string, note: string | null): Promise<void> {
  await api.ok(api.client.call('patch', '/dags/{dagId}/dagRuns/{dagRunId}', { path: { dagId, dagRunId: runId }, body: { note } }));
}

/** Every task instance of a run, in the local order (task id, then map index). */
async function runTaskInstances(api: RemoteApi, dagId: string, runId: string) {
  const tis = await allPages(async (offset) => {
    const page = await api.ok(api.client.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances', { path: { dagId, dagRunId: runId }, query: { limit: PAGE, offset, orderBy: 'taskId' } }));
    return { items: page.taskInstances, totalEntries: page.totalEntries };
  });
  return tis.sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : a.mapIndex - b.mapIndex));
}
