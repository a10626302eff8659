/**
 * A whole DAG run inside this process, without a scheduler, executor or API server (`capstan dags test`,
 * and the seed of the DAG authors' test kit). The run and its task instances are real rows in the
 * metadata DB, moved by the same guarded transitions the scheduler uses: trigger rules are evaluated by
 * the scheduler's own `scheduleRun`, tries are queued with `queueTaskInstance` and started and ended by
 * `TaskLifecycle`, XComs go to the XCom table. Only execution differs: each ready task runs here, one at a
 * time, in dependency order (ties broken by priority weight, then task id).
 *
 * Deliberate differences from a scheduled run:
 * - `dependsOnPast`, pools, `maxActiveTasks` and `dagrunTimeout` are not applied (one task runs at a time).
 * - Retries wait their real delay, as in Airflow's `dags test`, unless `retryDelay: 'skip'` is passed;
 *   rescheduled sensors wait until their next poke date (both on the injected clock).
 * - A task that defers has no triggerer to hand its trigger to: the trigger runs here, on the same clock
 *   (inProcessTrigger.ts), and resumes the task as the triggerer would (as Airflow's `dag.test()`).
 * - A finished run with the same run id (by default: the same logical date) is deleted and replaced, as
 *   Airflow's `dags test` does; a queued or running one is refused.
 * - Tries are recorded with executor `InProcess`; a scheduler sharing the database never adopts them. A
 *   scheduler that knows the DAG may still schedule the run's tasks itself; run `dags test` where none is
 *   serving that DAG.
 */
import { hostname } from 'node:os';
import {
  CapstanError,
  type Clock,
  errorMessage,
  isDagRunTerminal,
  isTerminal,
  systemClock,
  type TaskInstanceState,
} from '../core/index.ts';
import type { JsonObject, JsonValue, SerializedDag } from '../core/index.ts';
import { SerializedDagCache, type IndexedDag, dagCallbackContext, dagCallbackKind, EngineEvents, TaskLifecycle, triggerDagRun, validateConf } from '../services/index.ts';
import { taskLogPath, TaskLogWriter } from '../logging/taskLogs.ts';
import { executeSuspendable, runTaskCallbacks } from '../runtime/index.ts';
import { resolveParams, scheduleRun, RunSnapshot } from '../scheduler/index.ts';
import type { Dag } from '../sdk/dag.ts';
import { SecretMasker, type SecretsLookup } from '../secrets/index.ts';
import {
  clearXComs,
  createDagRun,
  deleteDagRun,
  encodeXCom,
  findDagRun,
  finishRun,
  getDagRunById,
  getTaskInstance,
  inTransaction,
  listTaskInstances,
  makeRunId,
  parseNextKwargs,
  previousSuccessfulRun,
  pullMappedXComs,
  pullXCom,
  pushXCom,
  queueTaskInstance,
  releaseRetries,
  RETURN_VALUE_KEY,
  saveRenderedFields,
  setDagCallbackOutcome,
  startRun,
  tryStartDate,
  type DagRunRow,
  type MetadataDb,
  type TaskInstanceRow,
} from '../store/index.ts';
import { createInProcessContext, type TaskLogLine, type XComBackend } from './context.ts';
import { runTriggerInProcess } from './inProcessTrigger.ts';

/** The executor name recorded on tries run in process. */
export const IN_PROCESS_EXECUTOR = 'InProcess';

/** A task instance that reached a state, as reported while the run progresses. */
export interface TaskOutcomeEvent {
  taskId: string;
  state: TaskInstanceState;
  /** 0 when the task ended without running (skipped or upstream_failed by its trigger rule). */
  tryNumber: number;
  maxTries: number;
  durationMs: number | null;
  reason: string | null;
  /** When the next try may start (state `up_for_retry`). */
  nextRetryAt: number | null;
}

export interface InProcessRunOptions {
  db: MetadataDb;
  /** The imported DAG; its tasks are executed. */
  dag: Dag;
  /** The DAG's file, recorded in the serialized structure. */
  fileloc: string;
  secrets: SecretsLookup;
  /** XCom size limit (`core.xcomMaxBytes`). */
  xcomMaxBytes: number;
  /** Default: now. */
  logicalDate?: number;
  conf?: JsonValue;
  runId?: string;
  /** Write each try's log file under this folder as the task process would. Default: no files. */
  baseLogFolder?: string;
  /** `wait` (default) sleeps until a retry is due; `skip` retries at once. */
  retryDelay?: 'wait' | 'skip';
  /** Heartbeat of a running try, so a scheduler sharing the DB never takes it for a zombie. Default 5 s. */
  heartbeatIntervalMs?: number;
  /** Time source when no `clock` is given. Default `Date.now`. */
  now?: () => number;
  /**
   * The clock retry delays and execution timeouts are measured on (and `now` when given). The test kit
   * passes a `ManualClock`, so a one-hour retry delay passes without real waiting. Default: the wall clock.
   */
  clock?: Clock;
  /**
   * Run as a `scheduled` run over this data interval (logical date = its start, run id
   * `scheduled__…`) instead of a manual run. The test kit uses it to run a DAG's next scheduled interval.
   */
  scheduledInterval?: { start: number; end: number };
  /**
   * A finished run with the same run id is deleted and replaced (Airflow's `dags test` replaces the run
   * of its logical date). Default true; when false, or when that run is still queued or running, the
   * test is refused with a conflict.
   */
  replaceFinishedRun?: boolean;
  /** Aborting stops the running try (it fails) and the run. */
  signal?: AbortSignal;
  onRunCreated?: (run: DagRunRow, replaced: DagRunRow | undefined) => void;
  onTaskStart?: (e: { taskId: string; tryNumber: number; maxTries: number }) => void;
  onTaskOutcome?: (e: TaskOutcomeEvent) => void;
  onLog?: (line: TaskLogLine) => void;
  /** The DAG's onSuccess / onFailure callback ran (error: null) or threw (its message). */
  onDagCallback?: (e: { kind: 'onSuccess' | 'onFailure'; error: string | null }) => void;
}

export interface InProcessRunResult {
  run: DagRunRow;
  state: 'success' | 'failed';
  /** Why the run failed (the first failed leaf, or the abort reason). */
  reason: string | null;
  taskInstances: TaskInstanceRow[];
}

/** The DAG cache the lifecycle reads retry policies from, serving the imported structure. */
class ImportedDagCache extends SerializedDagCache {
  readonly #indexed: IndexedDag;

  constructor(db: MetadataDb, dag: SerializedDag) {
    super(db);
    this.#indexed = { dag, hash: 'in-process', tasks: new Map(dag.tasks.map((t) => [t.taskId, t])) };
  }

  override async get(dagId: string): Promise<IndexedDag> {
    return dagId === this.#indexed.dag.dagId ? this.#indexed : super.get(dagId);
  }

  override peek(dagId: string): IndexedDag | undefined {
    return dagId === this.#indexed.dag.dagId ? this.#indexed : super.peek(dagId);
  }

  get indexed(): IndexedDag {
    return this.#indexed;
  }
}

/** Create a manual run of `o.dag` and run it to the end in this process. */
export async function runDagInProcess(o: InProcessRunOptions): Promise<InProcessRunResult> {
  const clock = o.clock ?? (o.now ? { now: o.now, sleep: systemClock.sleep } : systemClock);
  const now = () => clock.now();
  const serialized = o.dag.serialize(o.fileloc);
  const cache = new ImportedDagCache(o.db, serialized);
  const lifecycle = new TaskLifecycle({ db: o.db, dags: cache, events: new EngineEvents(), now });
  const logicalDate = o.scheduledInterval?.start ?? o.logicalDate ?? now();
  const runId = o.runId ?? makeRunId(o.scheduledInterval ? 'scheduled' : 'manual', logicalDate);
  const existing = await findDagRun(o.db, serialized.dagId, runId);
  if (existing) {
    if ((o.replaceFinishedRun ?? true) === false || !isDagRunTerminal(existing.state)) {
      throw new CapstanError('conflict', `DAG '${serialized.dagId}' already has a ${existing.state} run '${runId}'`, { hint: 'pass another --logical-date or --run-id' });
    }
    await deleteDagRun(o.db, existing.id);
  }
  const created = o.scheduledInterval
    ? await createScheduledRun(o, serialized, runId, o.scheduledInterval, now())
    : await triggerDagRun(o.db, { dagId: serialized.dagId, runId, logicalDate, ...(o.conf === undefined ? {} : { conf: o.conf }) }, now(), serialized);
  o.onRunCreated?.(created, existing);
  const startedAt = now();
  if ((await startRun(o.db.db, created.id, startedAt)).kind !== 'moved') {
    throw new CapstanError('conflict', `run '${created.run_id}' was started by another process (is a scheduler serving DAG '${serialized.dagId}'?)`);
  }
  const run = await getDagRunById(o.db, created.id);
  const runner = new RunDriver(o, run, cache.indexed, lifecycle, clock);
  let outcome: { state: 'success' | 'failed'; reason: string | null };
  try {
    outcome = await runner.drive();
  } catch (err) {
    // Leave no run behind as running when the runner itself fails (a conflict, a lost database).
    await finishRun(o.db.db, run.id, 'failed', now(), { by: { actor: 'scheduler', reason: 'the in-process runner failed' } }).catch(() => undefined);
    throw err;
  }
  const { state, reason } = outcome;
  await finishRun(o.db.db, run.id, state, now(), { by: { actor: 'scheduler', reason } });
  await runDagCallback(o, await getDagRunById(o.db, run.id));
  return { run: await getDagRunById(o.db, run.id), state, reason, taskInstances: await listTaskInstances(o.db, { dagRunId: run.id }) };
}

/** A `scheduled` run over `interval`, its conf checked against the params as a manual run's is. */
async function createScheduledRun(o: InProcessRunOptions, dag: SerializedDag, runId: string, interval: { start: number; end: number }, now: number): Promise<DagRunRow> {
  const conf = o.conf ?? {};
  if (typeof conf !== 'object' || conf === null || Array.isArray(conf)) throw new CapstanError('invalid_argument', 'conf must be a JSON object');
  validateConf(dag, conf as JsonObject);
  return createDagRun(
    o.db,
    { dagId: dag.dagId, runId, runType: 'scheduled', logicalDate: interval.start, dataIntervalStart: interval.start, dataIntervalEnd: interval.end, conf: conf as JsonObject },
    dag,
    now,
  );
}

/**
 * Run the DAG-level callback of the ended run here (the DAG is already imported), recording it on the
 * run as the scheduler does; its error is reported, never thrown.
 */
async function runDagCallback(o: InProcessRunOptions, run: DagRunRow): Promise<void> {
  const kind = dagCallbackKind(run.state);
  const cb = o.dag.callbacks[kind];
  if (!cb) return;
  const data = dagCallbackContext(run, await listTaskInstances(o.db, { dagRunId: run.id }));
  let error: string | null = null;
  try {
    await cb({ ...data, logicalDate: data.logicalDate === null ? null : new Date(data.logicalDate) });
  } catch (err) {
    error = errorMessage(err);
  }
  await setDagCallbackOutcome(o.db, run.id, error === null ? 'done' : 'failed');
  o.onDagCallback?.({ kind, error });
}

/** The loop of one run: decide, execute what is ready, wait for retries, until the run is judged. */
class RunDriver {
  readonly #o: InProcessRunOptions;
  readonly #run: DagRunRow;
  readonly #dag: IndexedDag;
  readonly #lifecycle: TaskLifecycle;
  readonly #clock: Clock;
  readonly #now: () => number;
  readonly #params: Record<string, JsonValue>;
  readonly #conf: JsonObject;

  constructor(o: InProcessRunOptions, run: DagRunRow, dag: IndexedDag, lifecycle: TaskLifecycle, clock: Clock) {
    this.#o = o;
    this.#run = run;
    this.#dag = dag;
    this.#lifecycle = lifecycle;
    this.#clock = clock;
    this.#now = () => clock.now();
    this.#conf = JSON.parse(run.conf) as JsonObject;
    this.#params = resolveParams(dag.dag, this.#conf);
  }

  async drive(): Promise<{ state: 'success' | 'failed'; reason: string | null }> {
    for (;;) {
      if (this.#o.signal?.aborted) return { state: 'failed', reason: `stopped: ${errorMessage(this.#o.signal.reason)}` };
      const snap = new RunSnapshot(this.#run.id);
      await snap.sync(this.#o.db, this.#now());
      const before = new Map([...snap.byTask].map(([id, r]) => [id, r.state]));
      const noneTasks = new Set([...snap.byTask.values()].filter((r) => r.state === 'none').map((r) => r.task_id));
      const decision = await scheduleRun(this.#o.db, this.#run, this.#dag, snap, noneTasks, this.#now(), async () => null);
      for (const [taskId, row] of snap.byTask) {
        if (before.get(taskId) === 'none' && (row.state === 'skipped' || row.state === 'upstream_failed')) {
          const max = (this.#dag.tasks.get(taskId)?.retry.retries ?? 0) + 1;
          this.#o.onTaskOutcome?.({ taskId, state: row.state, tryNumber: 0, maxTries: max, durationMs: null, reason: 'trigger rule', nextRetryAt: null });
        }
      }
      if (decision.finalState) return { state: decision.finalState, reason: decision.reason ?? null };
      const ready = [...snap.byTask.values()]
        .filter((r) => r.state === 'scheduled')
        .sort((a, b) => (this.#dag.tasks.get(b.task_id)?.priorityWeight ?? 1) - (this.#dag.tasks.get(a.task_id)?.priorityWeight ?? 1) || a.task_id.localeCompare(b.task_id));
      const next = ready[0];
      if (next) {
        await this.#runTry(next.id, next.task_id);
        continue;
      }
      // Retries and rescheduled sensors wait until their next_retry_at; scheduleRun releases them when due.
      const retries = [...snap.byTask.values()].filter((r) => r.state === 'up_for_retry' || r.state === 'up_for_reschedule');
      if (retries.length === 0) {
        const stuck = [...snap.byTask.values()].filter((r) => !isTerminal(r.state)).map((r) => `${r.task_id}=${r.state}`);
        throw new CapstanError('conflict', `run '${this.#run.run_id}' cannot progress: ${stuck.join(', ')} (changed by another process?)`);
      }
      const due = Math.min(...retries.map((r) => r.next_retry_at ?? 0));
      if (this.#o.retryDelay === 'skip' && retries.some((r) => r.state === 'up_for_retry')) {
        const first = retries.find((r) => r.state === 'up_for_retry' && (r.next_retry_at ?? 0) === due) ?? retries.find((r) => r.state === 'up_for_retry');
        if (first) await releaseRetries(this.#o.db.db, [first.id], this.#now());
      } else {
        await this.#clock.sleep(Math.max(0, due - this.#now()), this.#o.signal);
      }
    }
  }

  /** Queue, start, execute and end one try of a `scheduled` task instance. */
  async #runTry(tiId: string, taskId: string): Promise<void> {
    const { db } = this.#o;
    const tryNumber = await inTransaction(db, (tx) => queueTaskInstance(tx.db, tiId, IN_PROCESS_EXECUTOR, this.#now(), null));
    if (tryNumber === null) throw new CapstanError('conflict', `task '${taskId}' was queued by another process (is a scheduler serving this DAG?)`);
    const key = { tiId, tryNumber };
    const started = await this.#lifecycle.start(key, { hostname: hostname(), pid: process.pid });
    if (!started.ok) throw new CapstanError('conflict', `task '${taskId}' could not start: ${started.reason}`);
    const ti = started.ti;
    const maxTries = ti.max_tries + 1;
    this.#o.onTaskStart?.({ taskId, tryNumber, maxTries });
    // A try resuming after a deferral keeps what it pushed before deferring (as the Execution API does).
    if (ti.next_method === null) await clearXComs(db, ti.dag_run_id, ti.task_id, ti.map_index);
    const next = parseNextKwargs(ti.next_kwargs);
    const resume = ti.next_method === null ? null : { method: ti.next_method, event: next.event ?? null, kwargs: next.kwargs };
    const tryStart = await tryStartDate(db, tiId, tryNumber);
    const masker = new SecretMasker();
    const file = this.#o.baseLogFolder
      ? await TaskLogWriter.open(taskLogPath(this.#o.baseLogFolder, { dagId: ti.dag_id, runId: ti.run_id, taskId, mapIndex: ti.map_index, tryNumber }), { mask: (t) => masker.mask(t) })
      : undefined;
    const onLog = (line: TaskLogLine) => {
      file?.write(line.level, line.message);
      this.#o.onLog?.(line);
    };
    const abort = new AbortController();
    const stopOnParent = () => abort.abort(this.#o.signal?.reason ?? new CapstanError('task_failed', 'stopped'));
    this.#o.signal?.addEventListener('abort', stopOnParent, { once: true });
    const stopHeartbeat = this.#heartbeat(key, abort);
    const prev = this.#run.logical_date === null ? undefined : await previousSuccessfulRun(db, ti.dag_id, this.#run.logical_date);
    const ctx = createInProcessContext(
      {
        dagId: ti.dag_id,
        taskId,
        runId: ti.run_id,
        runType: this.#run.run_type,
        mapIndex: ti.map_index,
        tryNumber,
        maxTries,
        logicalDate: this.#run.logical_date,
        dataIntervalStart: this.#run.data_interval_start,
        dataIntervalEnd: this.#run.data_interval_end,
        prevDataIntervalStartSuccess: prev?.data_interval_start ?? null,
        prevDataIntervalEndSuccess: prev?.data_interval_end ?? null,
        tryStartedAt: tryStart ?? ti.start_date ?? this.#now(),
        rescheduleCount: ti.reschedule_count,
        params: this.#params,
        conf: this.#conf,
      },
      { xcom: this.#xcoms(ti), secrets: this.#o.secrets, masker, onLog, signal: abort.signal, clock: this.#clock },
    );
    ctx.log.info(`starting try ${tryNumber} of ${maxTries} for ${ti.dag_id}.${taskId} run ${ti.run_id} in process ${process.pid}`);
    const op = this.#o.dag.getTask(taskId);
    const result = await executeSuspendable(
      op,
      ctx,
      this.#dag.tasks.get(taskId)?.executionTimeoutMs ?? null,
      abort,
      ctx.log,
      {
        fileloc: this.#o.fileloc,
        ...(this.#o.now || this.#o.clock ? { now: this.#now } : {}),
        onRendered: (rendered) => saveRenderedFields(db, tiId, tryNumber, JSON.parse(masker.mask(JSON.stringify(rendered))) as JsonObject),
      },
      this.#clock,
      resume,
    );
    stopHeartbeat();
    this.#o.signal?.removeEventListener('abort', stopOnParent);
    let outcome = result.outcome;
    if (outcome.kind === 'success' && result.returnValue !== undefined) {
      try {
        const encoded = encodeXCom({ taskId }, RETURN_VALUE_KEY, result.returnValue, this.#o.xcomMaxBytes);
        await pushXCom(db, { dagRunId: ti.dag_run_id, dagId: ti.dag_id, runId: ti.run_id, taskId, mapIndex: ti.map_index }, RETURN_VALUE_KEY, encoded, this.#now());
      } catch (err) {
        if (!(err instanceof CapstanError)) throw err;
        ctx.log.error(err.message);
        outcome = { kind: 'failed', failure: { kind: 'xcom', message: err.message } };
      }
    }
    const state = await this.#lifecycle.finish(key, outcome);
    if (state === 'deferred') {
      // No triggerer here: the trigger runs in this process, on the runner's clock, and resumes the task.
      await runTriggerInProcess(db, tiId, ctx, this.#clock, this.#o.signal);
    } else if (state === 'up_for_reschedule') {
      ctx.log.info('try paused until its reschedule date');
    } else {
      ctx.log.info(`try ended: ${state ?? 'already ended elsewhere'}`);
    }
    if (state && outcome.kind !== 'deferred' && outcome.kind !== 'rescheduled') await runTaskCallbacks(op, ctx, state, outcome, ctx.log);
    await file?.close();
    const row = await getTaskInstance(db, tiId);
    this.#o.onTaskOutcome?.({
      taskId,
      state: row.state,
      tryNumber,
      maxTries,
      durationMs: row.duration_ms,
      reason: row.failure_reason,
      nextRetryAt: row.state === 'up_for_retry' || row.state === 'up_for_reschedule' ? row.next_retry_at : null,
    });
  }

  #xcoms(ti: TaskInstanceRow): XComBackend {
    const { db, xcomMaxBytes } = this.#o;
    return {
      push: async (taskId, mapIndex, key, value) => {
        const encoded = encodeXCom({ taskId }, key, value, xcomMaxBytes);
        await pushXCom(db, { dagRunId: ti.dag_run_id, dagId: ti.dag_id, runId: ti.run_id, taskId, mapIndex }, key, encoded, this.#now());
      },
      // A pull without a map index of a mapped task gets its values in map-index order, as from the Execution API.
      pull: (taskId, key, mapIndex) =>
        mapIndex === -1 && this.#dag.tasks.get(taskId)?.mapping ? pullMappedXComs(db, ti.dag_run_id, taskId, key) : pullXCom(db, ti.dag_run_id, taskId, key, mapIndex),
    };
  }

  /** Heartbeat the try; when it was ended or cleared elsewhere, abort it as the task process would. */
  #heartbeat(key: { tiId: string; tryNumber: number }, abort: AbortController): () => void {
    const timer = setInterval(() => {
      this.#lifecycle
        .heartbeat(key)
        .then((hb) => {
          if (!hb.current) abort.abort(new CapstanError('task_failed', `task stopped: its state was set to ${hb.state} externally`));
        })
        // A failed heartbeat is retried on the next tick; only a confirmed state change stops the try.
        .catch(() => undefined);
    }, this.#o.heartbeatIntervalMs ?? 5_000);
    timer.unref();
    return () => clearInterval(timer);
  }
}
