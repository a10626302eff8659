/**
 * `capstan dags backfill`, `list-backfills` and `cancel-backfill` through a remote API server (`/api/v2/backfills`):
 * the same plan rows, objects and exit codes as the local commands in src/cli/commands/dagsBackfill.ts. The API
 * serves a backfill without its progress, so the progress is counted here from the runs the backfill made (its
 * plan's runs) or, for `list-backfills`, from the DAG's backfill runs in its date range.
 */
import { isTerminal } from '../../core/index.ts';
import type { JsonObject } from '../../core/index.ts';
import type { components } from '../../api/client.ts';
import type { RemoteApi } from './connection.ts';
import { allPages, PAGE } from './dags.ts';

type Schemas = components['schemas'];

/** A backfill as the local commands print it (the store's BackfillInfo: epoch-ms dates). */
export interface BackfillJson {
  id: number;
  dagId: string;
  from: number;
  to: number;
  reprocess: Schemas['ReprocessBehavior'];
  maxActiveRuns: number;
  conf: JsonObject;
  createdAt: number;
  completedAt: number | null;
  isPaused: boolean;
}

/** One date of a plan as the local commands print it. */
export interface PlanRow {
  logicalDate: string;
  runId: string;
  action: string;
}

export interface BackfillRunCounts {
  total: number;
  queued: number;
  running: number;
  success: number;
  failed: number;
}

export interface RemoteBackfillProgress {
  backfill: BackfillJson;
  runs: BackfillRunCounts;
  skipped: number;
  tasks: { done: number; total: number };
  complete: boolean;
}

export function backfillJson(b: Schemas['Backfill']): BackfillJson {
  return {
    id: b.id,
    dagId: b.dagId,
    from: Date.parse(b.fromDate),
    to: Date.parse(b.toDate),
    reprocess: b.reprocessBehavior,
    maxActiveRuns: b.maxActiveRuns,
    conf: b.dagRunConf as JsonObject,
    createdAt: Date.parse(b.createdAt),
    completedAt: b.completedAt === null ? null : Date.parse(b.completedAt),
    isPaused: b.isPaused,
  };
}

/** The API's plan entry as the local `planRow`. */
export function planRow(p: Schemas['BackfillPlanEntry']): PlanRow {
  const action = p.action === 'create' ? 'create' : p.action === 'rerun' ? `rerun (was ${p.existingState ?? ''})` : `skip (${p.reason === 'in_flight' ? 'in flight' : 'exists'}: ${p.existingState ?? ''})`;
  return { logicalDate: new Date(Date.parse(p.logicalDate)).toISOString(), runId: p.dagRunId, action };
}

export interface BackfillBody {
  dagId: string;
  from: number;
  to: number;
  reprocess: Schemas['ReprocessBehavior'];
  maxActiveRuns?: number;
  conf?: JsonObject;
}

function createBody(r: BackfillBody): Schemas['BackfillCreate'] {
  return {
    dagId: r.dagId,
    fromDate: new Date(r.from).toISOString(),
    toDate: new Date(r.to).toISOString(),
    reprocessBehavior: r.reprocess,
    ...(r.maxActiveRuns === undefined ? {} : { maxActiveRuns: r.maxActiveRuns }),
    ...(r.conf === undefined ? {} : { dagRunConf: r.conf }),
  };
}

/** `POST /backfills/dryRun`: what a backfill would create, re-run and skip. */
export async function planBackfillRemote(api: RemoteApi, r: BackfillBody): Promise<Schemas['BackfillPlan']> {
  return api.ok(api.client.call('post', '/backfills/dryRun', { body: createBody(r) }));
}

/** `POST /backfills`: create it; the scheduler runs it. */
export async function createBackfillRemote(api: RemoteApi, r: BackfillBody): Promise<Schemas['BackfillCreated']> {
  return api.ok(api.client.call('post', '/backfills', { body: createBody(r) }));
}

/** The progress of a just-created backfill: its plan's runs (created or re-run), their states and task instances. */
export async function backfillProgressRemote(api: RemoteApi, backfillId: number, plan: ReadonlyArray<Schemas['BackfillPlanEntry']>): Promise<RemoteBackfillProgress> {
  const b = await api.ok(api.client.call('get', '/backfills/{backfillId}', { path: { backfillId } }));
  const runIds = new Set(plan.filter((p) => p.action !== 'skip').map((p) => p.dagRunId));
  const counted = await countRuns(api, b, (r) => runIds.has(r.dagRunId));
  return { backfill: backfillJson(b), ...counted, skipped: plan.length - runIds.size, complete: counted.runs.queued === 0 && counted.runs.running === 0 };
}

/** `dags list-backfills` rows, newest first. */
export async function listBackfillsRemote(api: RemoteApi, dagId: string): Promise<Record<string, unknown>[]> {
  await api.ok(api.client.call('get', '/dags/{dagId}', { path: { dagId } })); // an unknown DAG is a 404, as locally
  const backfills = await allPages(async (offset) => {
    const page = await api.ok(api.client.call('get', '/backfills', { query: { dagId, limit: PAGE, offset, orderBy: '-id' } }));
    return { items: page.backfills, totalEntries: page.totalEntries };
  });
  const rows = [];
  for (const b of backfills) {
    const { runs, tasks } = await countRuns(api, b, (r) => r.runType === 'backfill');
    const info = backfillJson(b);
    const iso = (ms: number) => new Date(ms).toISOString();
    rows.push({ id: info.id, from: iso(info.from), to: iso(info.to), reprocess: info.reprocess, maxActiveRuns: info.maxActiveRuns, ...runs, tasksDone: tasks.done, tasksTotal: tasks.total, completedAt: info.completedAt === null ? null : iso(info.completedAt) });
  }
  return rows;
}

/** `PUT /backfills/{id}/cancel`: its queued runs are not started; running ones finish. */
export async function cancelBackfillRemote(api: RemoteApi, backfillId: number): Promise<BackfillJson> {
  return backfillJson(await api.ok(api.client.call('put', '/backfills/{backfillId}/cancel', { path: { backfillId } })));
}

/** Run states and task-instance counts of the backfill's runs (those in its date range that `isOwn` accepts). */
async function countRuns(api: RemoteApi, b: Schemas['Backfill'], isOwn: (r: Schemas['DagRun']) => boolean): Promise<{ runs: BackfillRunCounts; tasks: { done: number; total: number } }> {
  const range = { logicalDateGte: b.fromDate, logicalDateLte: b.toDate };
  const runs = (
    await allPages(async (offset) => {
      const page = await api.ok(api.client.call('get', '/dags/{dagId}/dagRuns', { path: { dagId: b.dagId }, query: { limit: PAGE, offset, ...range } }));
      return { items: page.dagRuns, totalEntries: page.totalEntries };
    })
  ).filter(isOwn);
  const counts: BackfillRunCounts = { total: runs.length, queued: 0, running: 0, success: 0, failed: 0 };
  for (const r of runs) counts[r.state]++;
  const own = new Set(runs.map((r) => r.dagRunId));
  const tasks = { done: 0, total: 0 };
  if (own.size > 0) {
    const tis = await allPages(async (offset) => {
      const page = await api.ok(api.client.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances', { path: { dagId: b.dagId, dagRunId: '~' }, query: { limit: PAGE, offset, orderBy: 'id', ...range } }));
      return { items: page.taskInstances, totalEntries: page.totalEntries };
    });
    for (const t of tis) {
      if (!own.has(t.dagRunId)) continue;
      tasks.total++;
      if (isTerminal(t.state)) tasks.done++;
    }
  }
  return { runs: counts, tasks };
}
