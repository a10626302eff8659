/**
 * Backfills, with Airflow 3's semantics (docs/backfill.md). A backfill is a request recorded in the
 * metadata DB: for each schedule interval whose logical date lies in [from, to], a run of type
 * `backfill` is created `queued`, and the normal scheduler starts and executes it like any other run —
 * there is no separate execution loop. What makes backfill runs different is only how many may run at
 * once: the backfill's own `maxActiveRuns` (default: the DAG's), applied independently of the DAG's
 * `maxActiveRuns` (backfill runs do not count against it, nor scheduled and manual runs against the
 * backfill's). Task-level limits — the DAG's `maxActiveTasks`, pools, executor slots — apply as usual.
 *
 * Dates that already have a run follow the reprocess behaviour: `none` skips them, `failed` re-runs
 * failed runs, `completed` re-runs failed and successful ones (the CLI's `--rerun-failed` and
 * `--reset-dagruns`). A run still queued or running is never touched. Re-running clears the run's task
 * instances (as `tasks clear`) and makes it a backfill run of this backfill. Every date of the range is
 * recorded with the run serving it or why it was skipped.
 */
import {
  CapstanError,
  type DagRunState,
  type DataInterval,
  firstInterval,
  InvalidArgument,
  isDagRunTerminal,
  isTerminal,
  nextInterval,
} from '../core/index.ts';
import type { JsonObject, SerializedDag } from '../core/index.ts';
import {
  AuditLog,
  backfillLinks,
  backfillsOfRuns,
  closeBackfillFailingQueuedRuns,
  countRunsByDag,
  createDagRun,
  findBackfill,
  findDagRunByLogicalDate,
  getSerializedDag,
  insertBackfill,
  linkBackfillRun,
  makeRunId,
  markBackfillCompleted,
  retypeAsBackfillRun,
  runningRunsByBackfill,
  runStates,
  setBackfillPausedFlag,
  tiCountsByStateOfRuns,
  type BackfillInfo,
  type BackfillLink,
  type DagRunRow,
  type MetadataDb,
  type ReprocessBehavior,
} from '../store/index.ts';
import { clearTaskInstances } from './clear.ts';
import { validateConf } from './triggerRun.ts';

export { BACKFILL_SORT_FIELDS, listBackfills, pageBackfills, type BackfillInfo, type BackfillSortField, type ReprocessBehavior } from '../store/index.ts';

/** Every reprocess behaviour, in the order the CLI lists them. */
export const REPROCESS_BEHAVIORS: readonly ReprocessBehavior[] = ['none', 'failed', 'completed'];

/** Most intervals one backfill may cover (a guard against a per-minute schedule over years). */
export const MAX_BACKFILL_INTERVALS = 10_000;

export interface BackfillRequest {
  dagId: string;
  /** First logical date (inclusive), epoch ms. */
  from: number;
  /** Last logical date (inclusive), epoch ms. */
  to: number;
  /** Default `none`. */
  reprocess?: ReprocessBehavior;
  /** Default: the DAG's maxActiveRuns. */
  maxActiveRuns?: number;
  /** Conf of every run, checked against the DAG's params. Default `{}`. */
  conf?: JsonObject;
  /** Plan only: nothing is written. */
  dryRun?: boolean;
}

/** What the backfill does with one logical date. */
export type BackfillAction =
  | { kind: 'create' }
  | { kind: 'rerun'; previousState: DagRunState }
  | { kind: 'skip'; reason: 'already_exists' | 'in_flight'; existingState: DagRunState };

export interface BackfillPlanEntry {
  logicalDate: number;
  dataIntervalEnd: number;
  /** The run serving the date: the new run's id, or the existing run's. */
  runId: string;
  action: BackfillAction;
}

export interface BackfillCreated {
  /** Null on a dry run. */
  backfill: BackfillInfo | null;
  plan: BackfillPlanEntry[];
  /** Intervals of the range that have not ended yet (not backfilled; the scheduler runs them). */
  notEnded: number[];
}

/** Counts of a backfill's runs and tasks, for progress output. */
export interface BackfillProgress {
  backfill: BackfillInfo;
  runs: { total: number; queued: number; running: number; success: number; failed: number };
  /** Dates skipped because a run existed or was in flight. */
  skipped: number;
  tasks: { done: number; total: number };
  /** Every run of the backfill has finished. */
  complete: boolean;
}

/** A backfill bound, as the API and the CLI take it (core's ISO 8601 date parsing). */
export { parseIsoDate as parseBackfillDate } from '../core/index.ts';

/** The schedule intervals whose logical date (start) lies in [from, to]. */
export function backfillIntervals(dag: SerializedDag, from: number, to: number): DataInterval[] {
  const t = dag.timetable;
  if (t.kind !== 'cron' && t.kind !== 'delta') {
    throw new InvalidArgument(`DAG '${dag.dagId}' has no time-based schedule (${dag.scheduleText ?? 'manual only'}); a backfill needs one`, 'trigger runs with `capstan dags trigger --logical-date` instead');
  }
  const out: DataInterval[] = [];
  // A delta schedule is anchored at the DAG's start date; a cron schedule at its own ticks.
  let next = t.kind === 'delta' && dag.startDate !== null ? alignDelta(dag.startDate, t.everyMs, from) : firstInterval(t, from);
  while (next && next.start <= to) {
    if (out.length >= MAX_BACKFILL_INTERVALS) {
      throw new InvalidArgument(`the range covers more than ${MAX_BACKFILL_INTERVALS} intervals of DAG '${dag.dagId}' (schedule ${dag.scheduleText ?? ''})`, 'split it into several backfills');
    }
    out.push(next);
    next = nextInterval(t, next);
  }
  return out;
}

function alignDelta(anchor: number, everyMs: number, from: number): DataInterval {
  const k = Math.ceil((from - anchor) / everyMs);
  const start = anchor + k * everyMs;
  return { start, end: start + everyMs };
}

function checkRequest(dag: SerializedDag, req: BackfillRequest): { reprocess: ReprocessBehavior; maxActiveRuns: number; conf: JsonObject } {
  if (!Number.isFinite(req.from) || !Number.isFinite(req.to)) throw new InvalidArgument('the start and end of a backfill must be dates');
  if (req.from > req.to) {
    throw new InvalidArgument(`the start ${new Date(req.from).toISOString()} is after the end ${new Date(req.to).toISOString()}`, 'swap --start and --end');
  }
  const reprocess = req.reprocess ?? 'none';
  if (!REPROCESS_BEHAVIORS.includes(reprocess)) throw new InvalidArgument(`reprocess behaviour '${String(reprocess)}' is not one of ${REPROCESS_BEHAVIORS.join(', ')}`);
  const maxActiveRuns = req.maxActiveRuns ?? dag.maxActiveRuns;
  if (!Number.isInteger(maxActiveRuns) || maxActiveRuns < 1) throw new InvalidArgument(`max active runs must be a whole number ≥ 1, not ${String(req.maxActiveRuns)}`);
  const conf = req.conf ?? {};
  validateConf(dag, conf);
  return { reprocess, maxActiveRuns, conf };
}

function actionFor(existing: DagRunRow | undefined, reprocess: ReprocessBehavior): BackfillAction {
  if (!existing) return { kind: 'create' };
  if (!isDagRunTerminal(existing.state)) return { kind: 'skip', reason: 'in_flight', existingState: existing.state };
  const rerun = reprocess === 'completed' || (reprocess === 'failed' && existing.state === 'failed');
  return rerun ? { kind: 'rerun', previousState: existing.state } : { kind: 'skip', reason: 'already_exists', existingState: existing.state };
}

/**
 * Plan and (unless `dryRun`) create a backfill: record it, create its runs `queued` (or re-run existing
 * ones per the reprocess behaviour) and audit it as `actor`. The scheduler does the rest. Throws
 * `invalid_argument` for a bad range, a DAG without a time-based schedule, bad conf or limits, and a
 * range in which no interval has ended; `not_found` for an unknown DAG.
 */
export async function createBackfill(m: MetadataDb, req: BackfillRequest, now: number, actor: string): Promise<BackfillCreated> {
  const dag = await getSerializedDag(m, req.dagId);
  const { reprocess, maxActiveRuns, conf } = checkRequest(dag, req);
  const intervals = backfillIntervals(dag, req.from, req.to);
  const ended = intervals.filter((i) => i.end <= now);
  const notEnded = intervals.filter((i) => i.end > now).map((i) => i.start);
  if (ended.length === 0) {
    const why = intervals.length === 0 ? 'contains no logical date of its schedule' : 'contains only intervals that have not ended yet';
    throw new InvalidArgument(`the range ${new Date(req.from).toISOString()} – ${new Date(req.to).toISOString()} of DAG '${dag.dagId}' ${why} (schedule ${dag.scheduleText ?? ''})`, 'widen the range or move it into the past');
  }
  const plan: BackfillPlanEntry[] = [];
  const existingRuns = new Map<number, DagRunRow>();
  for (const i of ended) {
    const existing = await findDagRunByLogicalDate(m, dag.dagId, i.start);
    if (existing) existingRuns.set(i.start, existing);
    plan.push({ logicalDate: i.start, dataIntervalEnd: i.end, runId: existing?.run_id ?? makeRunId('backfill', i.start), action: actionFor(existing, reprocess) });
  }
  if (req.dryRun) return { backfill: null, plan, notEnded };

  const backfill = await insertBackfill(m, { dagId: dag.dagId, from: req.from, to: req.to, reprocess, maxActiveRuns, conf }, now);
  for (const [ordinal, entry] of plan.entries()) {
    await applyEntry(m, { backfillId: backfill.id, ordinal, entry, existing: existingRuns.get(entry.logicalDate), dag, conf, now, actor });
  }
  await new AuditLog(m, { now: () => now }).append({
    event: 'dag.backfill',
    actor,
    dagId: dag.dagId,
    runId: null,
    details: {
      backfillId: backfill.id,
      from: new Date(req.from).toISOString(),
      to: new Date(req.to).toISOString(),
      reprocess,
      maxActiveRuns,
      created: plan.filter((p) => p.action.kind === 'create').length,
      rerun: plan.filter((p) => p.action.kind === 'rerun').length,
      skipped: plan.filter((p) => p.action.kind === 'skip').length,
    },
  });
  return { backfill, plan, notEnded };
}

/** Carry out one date of a backfill's plan: record a skip, create the run, or re-run the existing one. */
async function applyEntry(
  m: MetadataDb,
  e: { backfillId: number; ordinal: number; entry: BackfillPlanEntry; existing: DagRunRow | undefined; dag: SerializedDag; conf: JsonObject; now: number; actor: string },
): Promise<void> {
  const { entry, dag, conf, now } = e;
  const link = (dagRunId: number | null, exceptionReason: BackfillLink['exceptionReason']) =>
    linkBackfillRun(m, { backfillId: e.backfillId, logicalDate: entry.logicalDate, sortOrdinal: e.ordinal, dagRunId, exceptionReason });
  const a = entry.action;
  if (a.kind === 'skip') {
    await link(e.existing?.id ?? null, a.reason);
    return;
  }
  if (a.kind === 'rerun' && e.existing) {
    // Link and retype first, so the run is under this backfill's limit from the moment it is queued again.
    await link(e.existing.id, null);
    await retypeAsBackfillRun(m, e.existing.id, conf, now);
    await clearTaskInstances(m, { dagId: dag.dagId, runId: e.existing.run_id }, now, e.actor);
    return;
  }
  // The link is written after the run's own transaction, so the scheduler may see the queued run a moment
  // before its link: such a run waits (see RunStartGate) rather than start unlimited.
  let run: DagRunRow;
  try {
    run = await createDagRun(
      m,
      { dagId: dag.dagId, runId: entry.runId, runType: 'backfill', logicalDate: entry.logicalDate, dataIntervalStart: entry.logicalDate, dataIntervalEnd: entry.dataIntervalEnd, conf, createdBy: e.actor },
      dag,
      now,
    );
  } catch (err) {
    // Another backfill (or a trigger) created this date's run since the plan was made: it serves the date.
    if (!(err instanceof CapstanError) || err.code !== 'conflict') throw err;
    const other = await findDagRunByLogicalDate(m, dag.dagId, entry.logicalDate);
    if (!other) throw err;
    entry.action = { kind: 'skip', reason: 'in_flight', existingState: other.state };
    await link(other.id, 'in_flight');
    return;
  }
  await link(run.id, null);
}

/** The backfill with this id. Throws `not_found`. */
export async function getBackfill(m: MetadataDb, id: number): Promise<BackfillInfo> {
  const backfill = await findBackfill(m, id);
  if (!backfill) throw new CapstanError('not_found', `no backfill with id ${id}`, { hint: 'list them with `capstan dags list-backfills <dagId>`' });
  return backfill;
}

/**
 * Pause or unpause a backfill: while paused the scheduler starts none of its queued runs (running ones
 * finish). Refuses a completed or cancelled backfill (`conflict`); audits the change as `actor`.
 */
export async function setBackfillPaused(m: MetadataDb, id: number, paused: boolean, now: number, actor: string): Promise<BackfillInfo> {
  const b = await getBackfill(m, id);
  if (b.completedAt !== null) throw new CapstanError('conflict', `backfill ${id} has ended; it can no longer be ${paused ? 'paused' : 'unpaused'}`, { hint: 'create a new backfill' });
  await setBackfillPausedFlag(m, id, paused, now);
  await new AuditLog(m, { now: () => now }).append({ event: paused ? 'backfill.pause' : 'backfill.unpause', actor, dagId: b.dagId, details: { backfillId: id } });
  return getBackfill(m, id);
}

/**
 * Cancel a backfill, as Airflow 3 does: it is paused and marked completed, and its runs still queued are
 * failed (running runs finish; their task instances are not touched). Refuses a backfill that already
 * ended (`conflict`); audits the cancellation as `actor` with the number of runs failed.
 */
export async function cancelBackfill(m: MetadataDb, id: number, now: number, actor: string): Promise<BackfillInfo> {
  const b = await getBackfill(m, id);
  if (b.completedAt !== null) throw new CapstanError('conflict', `backfill ${id} has already ended`);
  const failed = await closeBackfillFailingQueuedRuns(m, id, `backfill ${id} cancelled`, actor, now);
  await new AuditLog(m, { now: () => now }).append({ event: 'backfill.cancel', actor, dagId: b.dagId, details: { backfillId: id, queuedRunsFailed: failed } });
  return getBackfill(m, id);
}

/**
 * Where a backfill stands: its runs by state and its task instances finished / total. The first call
 * that finds every run finished records `completedAt`.
 */
export async function backfillProgress(m: MetadataDb, id: number, now: number): Promise<BackfillProgress> {
  const backfill = await getBackfill(m, id);
  const links = await backfillLinks(m, id);
  const runIds = links.filter((l) => l.exception_reason === null && l.dag_run_id !== null).map((l) => Number(l.dag_run_id));
  const runs = { total: runIds.length, queued: 0, running: 0, success: 0, failed: 0 };
  const tasks = { done: 0, total: 0 };
  if (runIds.length > 0) {
    for (const state of await runStates(m, runIds)) runs[state]++;
    for (const t of await tiCountsByStateOfRuns(m, runIds)) {
      tasks.total += Number(t.n);
      if (isTerminal(t.state)) tasks.done += Number(t.n);
    }
  }
  const complete = runs.queued === 0 && runs.running === 0;
  if (complete && backfill.completedAt === null) {
    await markBackfillCompleted(m, id, now);
    backfill.completedAt = now;
  }
  return { backfill, runs, skipped: links.length - runIds.length, tasks, complete };
}

/**
 * The scheduler's admission rule for queued runs: a backfill run may start while fewer than its
 * backfill's `maxActiveRuns` runs of that backfill are running; any other run while fewer than the
 * DAG's `maxActiveRuns` non-backfill runs are running. Load it once per pass over the queued runs, ask
 * `mayStart`, and report each start with `started`.
 */
export class RunStartGate {
  readonly #runningByDag: Map<string, number>;
  readonly #runningByBackfill: Map<number, number>;
  /** Queued backfill run id → its backfill and that backfill's limit. */
  readonly #backfillOf: Map<number, { backfillId: number; max: number; paused: boolean }>;

  private constructor(runningByDag: Map<string, number>, runningByBackfill: Map<number, number>, backfillOf: Map<number, { backfillId: number; max: number; paused: boolean }>) {
    this.#runningByDag = runningByDag;
    this.#runningByBackfill = runningByBackfill;
    this.#backfillOf = backfillOf;
  }

  static async load(m: MetadataDb, queued: readonly DagRunRow[]): Promise<RunStartGate> {
    const runningByDag = await countRunsByDag(m, ['running'], { excludeRunType: 'backfill' });
    const queuedBackfill = queued.filter((r) => r.run_type === 'backfill').map((r) => r.id);
    const backfillOf = new Map<number, { backfillId: number; max: number; paused: boolean }>();
    const runningByBackfill = new Map<number, number>();
    if (queuedBackfill.length > 0) {
      // A run re-run by a later backfill belongs to the newest one: it is set last.
      for (const l of await backfillsOfRuns(m, queuedBackfill)) backfillOf.set(l.dagRunId, { backfillId: l.backfillId, max: l.maxActiveRuns, paused: l.paused });
      const backfillIds = [...new Set([...backfillOf.values()].map((b) => b.backfillId))];
      if (backfillIds.length > 0) for (const [backfillId, n] of await runningRunsByBackfill(m, backfillIds)) runningByBackfill.set(backfillId, n);
    }
    return new RunStartGate(runningByDag, runningByBackfill, backfillOf);
  }

  /** Whether `run` may start now; `dagMaxActiveRuns` is its DAG's limit. */
  mayStart(run: DagRunRow, dagMaxActiveRuns: number): boolean {
    if (run.run_type === 'backfill') {
      // A backfill run whose link is not written yet waits for it (see createBackfill); a paused one waits for its unpause.
      const b = this.#backfillOf.get(run.id);
      return b !== undefined && !b.paused && (this.#runningByBackfill.get(b.backfillId) ?? 0) < b.max;
    }
    return (this.#runningByDag.get(run.dag_id) ?? 0) < dagMaxActiveRuns;
  }

  /** Count `run` as running from now on. */
  started(run: DagRunRow): void {
    const b = run.run_type === 'backfill' ? this.#backfillOf.get(run.id) : undefined;
    if (b) this.#runningByBackfill.set(b.backfillId, (this.#runningByBackfill.get(b.backfillId) ?? 0) + 1);
    else this.#runningByDag.set(run.dag_id, (this.#runningByDag.get(run.dag_id) ?? 0) + 1);
  }
}
