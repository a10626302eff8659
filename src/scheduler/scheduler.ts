/**
 * The scheduler loop. Each iteration: create due runs, start queued runs, decide what is ready in each
 * running run, queue ready tries to the executor, and process executor events. Housekeeping (zombies,
 * timeouts, its own heartbeat) runs on its own cadence. The loop sleeps until its interval passes or an
 * event wakes it: a task finished or a run was triggered in this process, or — on PostgreSQL — another
 * process said so with a NOTIFY. Events arriving during a pass coalesce into one more pass.
 */
import type { Logger } from 'pino';
import { isTerminal, type TaskInstanceState, Wakeup } from '../core/index.ts';
import { RunStartGate } from '../services/index.ts';
import type { SerializedDagCache, EngineEvents, TaskLifecycle } from '../services/index.ts';
import type { CapstanConfig } from '../config/index.ts';
import type { Executor, TaskWorkload } from '../executors/index.ts';
import type { CapstanMetrics } from '../metrics/index.ts';
import {
  countTisByState,
  failDeferral,
  finishRun,
  inTransaction,
  JobRegistry,
  listenForChanges,
  lockDagRows,
  previousRunTiState,
  queuedRunsToStart,
  runningRuns,
  skipUnfinished,
  startRun,
  timedOutDeferrals,
  type DagRunRow,
  type MetadataDb,
} from '../store/index.ts';
import { adoptOrResetOrphans } from './adoption.ts';
import { DagCallbackRunner, hasDagCallback } from './dagCallbacks.ts';
import { findTimedOutTries, findZombies } from './housekeeping.ts';
import { QueueingCache, queueScheduledTasks } from './queueing.ts';
import { DEFAULT_MAX_MAP_LENGTH } from './expansion.ts';
import { createDueRuns } from './runCreation.ts';
import { scheduleRun } from './runScheduling.ts';
import { RunSnapshot } from './runSnapshot.ts';

/** The `scheduler` config section's loop settings (documented there), plus test-only knobs. */
export type SchedulerOptions = Pick<
  CapstanConfig['scheduler'],
  'loopIntervalMs' | 'wakeOnNotify' | 'heartbeatIntervalMs' | 'healthCheckThresholdMs' | 'taskHeartbeatTimeoutMs' | 'zombieCheckIntervalMs' | 'maxTisPerQuery' | 'maxDagRunsPerLoop'
> & {
  /** How often to look for due scheduled runs. Default 1 s. */
  runCreationIntervalMs?: number;
  /** A DAG-level callback running longer is killed. Default 60 s. */
  dagCallbackTimeoutMs?: number;
  /** `core.maxMapLength`: most task instances a mapped task may expand to. Default 1024. */
  maxMapLength?: number;
  /** `core.maxActiveTasksPerDag`: the limit of a DAG whose own is not known yet (not parsed into the cache or the dag table). Default 16. */
  maxActiveTasksPerDag?: number;
};

export interface SchedulerDeps {
  db: MetadataDb;
  executor: Executor;
  lifecycle: TaskLifecycle;
  dags: SerializedDagCache;
  events: EngineEvents;
  logger: Logger;
  metrics?: CapstanMetrics;
  now: () => number;
  options: SchedulerOptions;
  /** Environment of DAG-callback processes (the task environment); default this process's. */
  userCodeEnv?: Record<string, string>;
}

export class Scheduler {
  readonly #d: SchedulerDeps;
  readonly #wakeup = new Wakeup();
  readonly #snapshots = new Map<number, RunSnapshot>();
  /** Runs with a task change reported in-process since their last evaluation. */
  readonly #hinted = new Set<number>();
  readonly #jobs: JobRegistry;
  readonly #callbacks: DagCallbackRunner;
  /** A run ended here (or this scheduler just started): look for due DAG callbacks. */
  #callbacksDue = true;
  readonly #queueingCache = new QueueingCache();
  #jobId: string | undefined;
  /** When run() started; undefined when only runOnce() is driven (tests, benchmarks). */
  #startedAt: number | undefined;
  #lastHeartbeat = 0;
  #lastHousekeeping = 0;
  #lastRunCreation = 0;
  /** Queued runs are looked for on the run-creation tick, or at once when something woke the loop. */
  #checkQueuedRuns = true;
  /** Running runs, re-read on the tick or when this scheduler changed one (others' changes wait a tick). */
  #runningRuns: DagRunRow[] | undefined;
  #loops = 0;
  /** Id of the last running run examined in its turn (not for a hint). */
  #roundRobinAfter = 0;

  constructor(deps: SchedulerDeps) {
    this.#d = deps;
    this.#jobs = new JobRegistry(deps.db, { now: deps.now });
    this.#callbacks = new DagCallbackRunner({
      db: deps.db,
      dags: deps.dags,
      logger: deps.logger,
      ...(deps.options.dagCallbackTimeoutMs === undefined ? {} : { timeoutMs: deps.options.dagCallbackTimeoutMs }),
      ...(deps.userCodeEnv ? { env: deps.userCodeEnv } : {}),
    });
    deps.events.onTiChanged((e) => {
      this.#hinted.add(e.dagRunId);
      this.#wakeup.notify();
    });
  }

  get jobId(): string | undefined {
    return this.#jobId;
  }

  get loops(): number {
    return this.#loops;
  }

  /** Wake the loop now to look for queued runs (a DAG was triggered in this process, or another one said so). */
  wake(): void {
    this.#checkQueuedRuns = true;
    this.#wakeup.notify();
  }

  /** Register, adopt what a previous scheduler left, then loop until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { db, executor, logger } = this.#d;
    this.#jobId = await this.#jobs.register('scheduler');
    this.#startedAt = this.#d.now();
    await executor.start({ jobId: this.#jobId });
    await adoptOrResetOrphans(db, executor, this.#jobs, this.#d.options.healthCheckThresholdMs, this.#d.now(), logger, this.#jobId);
    logger.info({ jobId: this.#jobId, executor: executor.name }, 'scheduler started');
    // Other processes' runs and task ends (PostgreSQL NOTIFY); the loop's poll stays the fallback.
    const listener = this.#d.options.wakeOnNotify
      ? listenForChanges(
          db,
          {
            runQueued: () => this.wake(),
            tiChanged: (dagRunId) => {
              this.#hinted.add(dagRunId);
              this.#wakeup.notify();
            },
            reconnected: () => {
              // Notifications sent while the connection was down are lost: look at everything once.
              this.#runningRuns = undefined;
              this.wake();
            },
          },
          logger,
        )
      : undefined;
    try {
      while (!signal.aborted) {
        try {
          await this.runOnce();
        } catch (err) {
          logger.error({ err }, 'scheduler loop failed; retrying');
        }
        await this.#wakeup.wait(this.#d.options.loopIntervalMs, signal);
      }
    } finally {
      await listener?.close();
      // Callbacks already started finish (each within its timeout) rather than be lost.
      await this.#callbacks.idle();
      await executor.end();
      await this.#jobs.end(this.#jobId, 'success');
      logger.info('scheduler stopped');
    }
  }

  /** One scheduling iteration (public for tests and benchmarks). */
  async runOnce(): Promise<void> {
    const started = performance.now();
    const { db, options } = this.#d;
    let now = this.#d.now();
    if (now - this.#lastRunCreation >= (options.runCreationIntervalMs ?? 1000)) {
      this.#lastRunCreation = now;
      await createDueRuns(db, now, this.#d.logger);
      this.#checkQueuedRuns = true;
      this.#runningRuns = undefined;
    }
    if (this.#checkQueuedRuns) {
      this.#checkQueuedRuns = false;
      await this.#startQueuedRuns(now);
    }
    await this.#processExecutorEvents();
    now = this.#d.now();
    await this.#scheduleRunningRuns(now);
    await this.#queue(this.#d.now());
    await this.#housekeeping(this.#d.now());
    if (this.#callbacksDue) {
      this.#callbacksDue = false;
      await this.#callbacks.runDue();
    }
    this.#loops++;
    this.#d.metrics?.schedulerLoops.inc();
    this.#d.metrics?.schedulerLoopDuration.observe((performance.now() - started) / 1000);
  }

  async #startQueuedRuns(now: number): Promise<void> {
    const { db } = this.#d;
    const queued = await queuedRunsToStart(db, 100);
    if (queued.length === 0) return;
    if (db.dialect !== 'postgres') return this.#startRuns(db, queued, now);
    // Two schedulers counting running runs at once would each start one past maxActiveRuns: hold the
    // DAGs' rows while counting and starting (the guarded update alone only stops starting a run twice).
    await inTransaction(db, async (tx) => {
      await lockDagRows(tx, [...new Set(queued.map((r) => r.dag_id))].sort());
      await this.#startRuns(tx, queued, now);
    });
  }

  async #startRuns(db: MetadataDb, queued: DagRunRow[], now: number): Promise<void> {
    // maxActiveRuns: the DAG's for its scheduled and manual runs, a backfill's own for its runs.
    const gate = await RunStartGate.load(db, queued);
    for (const run of queued) {
      const dag = await this.#d.dags.get(run.dag_id).catch(() => undefined);
      if (!dag) continue;
      if (!gate.mayStart(run, dag.dag.maxActiveRuns)) continue;
      if ((await startRun(db.db, run.id, now)).kind === 'moved') {
        this.#runningRuns = undefined;
        gate.started(run);
        this.#hinted.add(run.id);
      }
    }
  }

  async #scheduleRunningRuns(now: number): Promise<void> {
    const { db, options } = this.#d;
    this.#runningRuns ??= await runningRuns(db);
    const runs = this.#runningRuns;
    const live = new Set(runs.map((r) => r.id));
    for (const id of this.#snapshots.keys()) if (!live.has(id)) this.#snapshots.delete(id);
    // Hinted runs first, then the rest round-robin within the per-loop budget: they continue after the
    // run where the previous loop stopped, so every run is looked at (released retries, dagrunTimeout)
    // even when no event points at it.
    const hinted = runs.filter((r) => this.#hinted.has(r.id));
    const rest = runs.filter((r) => !this.#hinted.has(r.id));
    const from = rest.findIndex((r) => r.id > this.#roundRobinAfter);
    const turn = (from <= 0 ? rest : [...rest.slice(from), ...rest.slice(0, from)]).slice(0, Math.max(0, options.maxDagRunsPerLoop - hinted.length));
    const last = turn.at(-1);
    if (last) this.#roundRobinAfter = last.id;
    for (const run of [...hinted, ...turn]) {
      this.#hinted.delete(run.id);
      await this.#scheduleOne(run, now);
    }
    // Hints for runs not running here (ended, or another scheduler's) would otherwise pile up.
    for (const id of this.#hinted) if (!live.has(id)) this.#hinted.delete(id);
  }

  async #scheduleOne(run: DagRunRow, now: number): Promise<void> {
    const { db, logger } = this.#d;
    const dag = await this.#d.dags.get(run.dag_id).catch(() => undefined);
    if (!dag) return;
    let snap = this.#snapshots.get(run.id);
    if (!snap) this.#snapshots.set(run.id, (snap = new RunSnapshot(run.id)));
    const { changed, full } = await snap.sync(db, now);
    const candidates = new Set<string>();
    if (full) for (const row of snap.byTask.values()) if (row.state === 'none') candidates.add(row.task_id);
    for (const row of changed) {
      if (isTerminal(row.state)) for (const d of dag.tasks.get(row.task_id)?.downstream ?? []) candidates.add(d);
      if (row.state === 'none') candidates.add(row.task_id);
    }
    const previous = (taskId: string) => this.#previousRunState(run, taskId);
    const mapping = { maxMapLength: this.#d.options.maxMapLength ?? DEFAULT_MAX_MAP_LENGTH };
    let decision = await scheduleRun(db, run, dag, snap, candidates, now, previous, mapping);
    if (decision.finalState === 'failed' && snap.unfinished > 0 && !full) {
      // Looks deadlocked from the changed tasks alone: confirm over every waiting task before failing.
      const all = new Set([...snap.byTask.values()].filter((r) => r.state === 'none').map((r) => r.task_id));
      decision = await scheduleRun(db, run, dag, snap, all, now, previous, mapping);
    }
    if (dag.dag.dagrunTimeoutMs !== null && run.start_date !== null && now - run.start_date > dag.dag.dagrunTimeoutMs && decision.finalState === null) {
      await this.#timeOutRun(run, snap, now);
      return;
    }
    if (decision.finalState) {
      const callbackDue = hasDagCallback(dag.dag.callbacks, decision.finalState);
      if ((await finishRun(db.db, run.id, decision.finalState, now, { callbackDue, by: { actor: 'scheduler', reason: decision.reason ?? null } })).kind === 'moved') {
        this.#callbacksDue ||= callbackDue;
        this.#runningRuns = undefined;
        this.#checkQueuedRuns = true; // a run waiting on maxActiveRuns may start now
        this.#snapshots.delete(run.id);
        logger.info({ dagId: run.dag_id, runId: run.run_id, state: decision.finalState, reason: decision.reason }, 'DAG run finished');
      }
    }
  }

  async #timeOutRun(run: DagRunRow, snap: RunSnapshot, now: number): Promise<void> {
    const { db, logger, executor } = this.#d;
    const unfinished = [...snap.byTask.values()].filter((r) => !isTerminal(r.state));
    for (const r of unfinished.filter((x) => x.state === 'running' || x.state === 'queued')) {
      await executor.terminate(r.id, r.try_number, 'DAG run timed out');
    }
    await skipUnfinished(db.db, unfinished.map((r) => r.id), 'DAG run timed out (dagrunTimeout)', now);
    const callbackDue = hasDagCallback(this.#d.dags.peek(run.dag_id)?.dag.callbacks, 'failed');
    await finishRun(db.db, run.id, 'failed', now, { callbackDue, by: { actor: 'scheduler', reason: 'DAG run timed out (dagrunTimeout)' } });
    this.#callbacksDue ||= callbackDue;
    this.#runningRuns = undefined;
    this.#checkQueuedRuns = true;
    this.#snapshots.delete(run.id);
    logger.warn({ dagId: run.dag_id, runId: run.run_id }, 'DAG run timed out; unfinished tasks skipped');
  }

  async #previousRunState(run: DagRunRow, taskId: string): Promise<TaskInstanceState | null> {
    return previousRunTiState(this.#d.db, { dagId: run.dag_id, taskId, before: run.logical_date ?? Number.MAX_SAFE_INTEGER });
  }

  async #queue(now: number): Promise<void> {
    const { db, executor, options } = this.#d;
    const queued = await queueScheduledTasks(
      db,
      {
        openExecutorSlots: executor.openSlots(),
        maxTisPerQuery: options.maxTisPerQuery,
        maxActiveTasks: (dagId) => this.#d.dags.peek(dagId)?.dag.maxActiveTasks ?? this.#d.options.maxActiveTasksPerDag ?? 16,
        executorName: executor.name,
        jobId: this.#jobId ?? null,
      },
      now,
      this.#queueingCache,
    );
    if (queued.length === 0) return;
    const workloads: TaskWorkload[] = [];
    for (const q of queued) {
      const dag = await this.#d.dags.get(q.ti.dag_id);
      workloads.push({
        tiId: q.ti.id,
        tryNumber: q.tryNumber,
        dagId: q.ti.dag_id,
        runId: q.ti.run_id,
        taskId: q.ti.task_id,
        mapIndex: q.ti.map_index,
        queue: q.ti.queue,
        priorityWeight: q.ti.priority_weight,
        fileloc: dag.dag.fileloc,
        executionTimeoutMs: dag.tasks.get(q.ti.task_id)?.executionTimeoutMs ?? null,
      });
    }
    executor.queueWorkloads(workloads);
  }

  async #processExecutorEvents(): Promise<void> {
    const { executor, lifecycle, logger } = this.#d;
    for (const e of await executor.sync()) {
      const key = { tiId: e.tiId, tryNumber: e.tryNumber };
      if (e.kind === 'launchFailed') {
        const failure = e.failure ?? { kind: 'launchFailed', message: e.reason, permanent: !e.retryable };
        await lifecycle.finish(key, { kind: 'failed', failure: { ...failure, message: `could not start: ${failure.message}` } }, { actor: 'executor' });
        continue;
      }
      // The process ended. If the task reported its outcome, finish() finds the try already ended.
      const detail = e.signal ? `killed by ${e.signal}` : `exited with code ${e.exitCode}`;
      const message = `task process ${detail} without reporting a result${e.detail ? `: ${e.detail}` : ''}`;
      const failure = e.failure ? { ...e.failure, message } : { kind: 'exitCode' as const, message, exitCode: e.exitCode, signal: e.signal };
      const ended = await lifecycle.finish(key, { kind: 'failed', failure }, { exitCode: e.exitCode, actor: 'executor', ...(e.pid === undefined ? {} : { exitedProcess: { pid: e.pid } }) });
      if (ended) logger.warn({ ...key, state: ended, detail }, 'task process ended without reporting');
    }
  }

  async #housekeeping(now: number): Promise<void> {
    const { db, options, lifecycle, executor, logger } = this.#d;
    if (this.#jobId && now - this.#lastHeartbeat >= options.heartbeatIntervalMs) {
      this.#lastHeartbeat = now;
      await this.#jobs.heartbeat(this.#jobId);
      if (this.#d.metrics) {
        for (const [state, n] of await countTisByState(db)) this.#d.metrics.taskInstances.set({ state }, n);
        this.#d.metrics.executorOpenSlots.set({ executor: executor.name }, executor.openSlots());
      }
    }
    if (now - this.#lastHousekeeping < options.zombieCheckIntervalMs) return;
    // Callbacks another scheduler made due but did not run (it stopped) are picked up here.
    this.#callbacksDue = true;
    this.#lastHousekeeping = now;
    // Only a registered scheduler can tell its own tries from orphans.
    if (this.#jobId) await adoptOrResetOrphans(db, executor, this.#jobs, options.healthCheckThresholdMs, now, logger, this.#jobId);
    // Heartbeats sent while no API server was up (a crashed standalone, an outage) were lost, not missed:
    // a task gets a full heartbeat window from this scheduler's start before it can be judged a zombie.
    const judgeZombies = this.#startedAt === undefined || now - this.#startedAt >= options.taskHeartbeatTimeoutMs;
    for (const z of judgeZombies ? await findZombies(db, now, options.taskHeartbeatTimeoutMs) : []) {
      logger.warn({ tiId: z.id, taskId: z.task_id, tryNumber: z.try_number }, 'zombie task: heartbeat lost');
      await executor.terminate(z.id, z.try_number, 'heartbeat lost');
      const failure = { kind: 'heartbeatLost', message: `heartbeat lost: no heartbeat for ${options.taskHeartbeatTimeoutMs} ms (zombie)` } as const;
      await lifecycle.finish({ tiId: z.id, tryNumber: z.try_number }, { kind: 'failed', failure }, { actor: 'scheduler' });
    }
    // Deferrals past their timeout resume into their failure path on a worker (Airflow's
    // check_trigger_timeouts); the triggerer cancels their triggers when it sees them leave `deferred`.
    for (const t of await timedOutDeferrals(db, now)) {
      const error = `trigger timeout: the task was deferred past its deadline ${new Date(t.trigger_timeout_at ?? now).toISOString()} (defer timeout or executionTimeout)`;
      if ((await failDeferral(db, { tiId: t.id }, { kind: 'timeout', error }, now)).length > 0) {
        logger.warn({ tiId: t.id, taskId: t.task_id }, 'deferred task timed out; resuming it to fail');
      }
    }
    for (const t of await findTimedOutTries(db, this.#d.dags, now)) {
      logger.warn({ tiId: t.id, taskId: t.task_id }, 'task exceeded executionTimeout; stopping it');
      await executor.terminate(t.id, t.try_number, 'execution timeout');
      await lifecycle.finish({ tiId: t.id, tryNumber: t.try_number }, { kind: 'failed', failure: { kind: 'timeout', message: 'execution timeout exceeded' } }, { actor: 'scheduler' });
    }
  }
}
