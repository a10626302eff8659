/**
 * Runs one task try inside a task process: claim the try through the Execution API, import the DAG
 * file, execute the operator with heartbeats and the execution timeout, report the outcome and run the
 * task's callbacks. Everything it knows comes from the API; it holds no database credentials.
 */
import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { CapstanError, errorMessage, systemClock } from '../core/index.ts';
import type { JsonObject, JsonValue, TaskRunContext, TryOutcome, TrySuspension } from '../core/index.ts';
import { importDagFile } from '../dagprocessing/loader.ts';
import { taskLogPath, TaskLogWriter } from '../logging/taskLogs.ts';
import { SecretMasker } from '../secrets/index.ts';
import type { BaseOperator } from '../sdk/baseOperator.ts';
import type { Dag } from '../sdk/dag.ts';
import type { TaskContext } from '../sdk/taskContext.ts';
import { ConflictError, ExecutionClient, PayloadTooLargeError } from './executionClient.ts';
import { executeSuspendable, runTaskCallbacks, type SuspendableTryResult } from './executeTry.ts';
import { LogShipper } from './logShipper.ts';
import { markPhase, writePhases } from './tryPhases.ts';

/** How often a task process heart-beats unless the zombie threshold asks for more. */
export const DEFAULT_TASK_HEARTBEAT_INTERVAL_MS = 5_000;

/**
 * The heartbeat interval for task processes judged against `zombieTimeoutMs`
 * (scheduler.taskHeartbeatTimeoutMs): at least three beats fit in the threshold, so a healthy task is
 * never taken for a zombie, however low the threshold is set.
 */
export function taskHeartbeatIntervalMs(zombieTimeoutMs: number): number {
  return Math.max(50, Math.min(DEFAULT_TASK_HEARTBEAT_INTERVAL_MS, Math.floor(zombieTimeoutMs / 3)));
}

export interface RunTaskOptions {
  apiUrl: string;
  token: string;
  tiId: string;
  baseLogFolder: string;
  /** Default 5 s. */
  heartbeatIntervalMs?: number;
  /**
   * Ship the task log to the API server's log store every `intervalMs` and at the end (worker pods, whose
   * filesystem goes with them). Default: not shipped (the log stays in `baseLogFolder`).
   */
  shipLogs?: { intervalMs: number };
  /** Also print every (masked) task log line on this process's stdout: a worker pod's `pods/log`. Default false. */
  logToStdout?: boolean;
}

/** What a reused task process gives {@link runTaskTry}, and learns from it. */
export interface ReusedProcessHooks {
  /** Imports the try's DAG file (a reused process imports a fresh instance per try). */
  importDag: (path: string) => Promise<Dag[]>;
  /** Filled in as the try ends. */
  report: TryEndReport;
  /** Called as the try's final outcome (not a pause) is about to be reported: only reporting, callbacks and the log's end are left. */
  onReporting?: () => void;
}

/** How a try went, beyond its exit code: what a reused task process needs to know to take another one. */
export interface TryEndReport {
  /** The try was deferred or rescheduled: it continues later, in another process. */
  paused: boolean;
  /** The try was stopped from inside (execution timeout, its state changed elsewhere): its work may still run. */
  aborted: boolean;
}

/**
 * Run one try. Resolves with the process exit code: 0 when the outcome was reported (whatever it was), 1 when
 * it could not be. `reused` is given by a task process that runs more than one try.
 */
export async function runTaskTry(o: RunTaskOptions, reused?: ReusedProcessHooks): Promise<number> {
  try {
    return await runClaimedTry(o, reused);
  } finally {
    writePhases({ tiId: o.tiId });
  }
}

async function runClaimedTry(o: RunTaskOptions, reused: ReusedProcessHooks | undefined): Promise<number> {
  const report = reused?.report;
  const api = new ExecutionClient(o.apiUrl, o.token, o.tiId);
  let rc: TaskRunContext;
  markPhase('startCall');
  try {
    rc = await api.start({ hostname: hostname(), pid: process.pid });
  } catch (err) {
    if (err instanceof ConflictError) return 0; // another process owns or ended this try: do nothing
    throw err;
  }
  markPhase('started');
  const masker = new SecretMasker();
  // Bound now: while the task runs, process.stdout.write is redirected into the log (captureConsole).
  const stdout = process.stdout.write.bind(process.stdout);
  const logPath = taskLogPath(o.baseLogFolder, { dagId: rc.dagId, runId: rc.runId, taskId: rc.taskId, mapIndex: rc.mapIndex, tryNumber: rc.tryNumber });
  const sizeAtOpen = await stat(logPath).then((s) => s.size, () => 0);
  const baseOffset = o.shipLogs === undefined ? 0 : Math.max(0, (await api.logSize()) - sizeAtOpen);
  const log = await TaskLogWriter.open(
    logPath,
    { mask: (t) => masker.mask(t), ...(o.logToStdout ? { mirror: (line: string) => void stdout(line) } : {}) },
  );
  const shipper = o.shipLogs === undefined ? undefined : new LogShipper(log.path, api, {
    intervalMs: o.shipLogs.intervalMs,
    baseOffset,
    onError: (err) => process.stderr.write(`${errorMessage(err)} (retrying)\n`),
  });
  shipper?.start();
  // Everything the task printed is in its log — the file, and the log store when shipped — before its outcome is
  // reported: a reader who sees the try ended (a state, a finished run) finds every line written while it ran.
  // Only what follows the outcome (its own line, the task callbacks, the end marker) can still arrive.
  const settleLog = async (): Promise<void> => {
    await log.flush().catch((err: unknown) => process.stderr.write(`writing the task log failed: ${errorMessage(err)}\n`));
    await shipper?.shipNow().catch((err: unknown) => process.stderr.write(`${errorMessage(err)}\n`));
  };
  const closeLog = async (): Promise<void> => {
    await log.close();
    // The last round ships everything up to the end marker, so readers of the store know the try is over.
    await shipper?.finish().catch((err: unknown) => process.stderr.write(`${errorMessage(err)}\n`));
  };
  const abort = new AbortController();
  const stopHeartbeat = startHeartbeat(api, o.heartbeatIntervalMs ?? DEFAULT_TASK_HEARTBEAT_INTERVAL_MS, abort, log);
  const stopCapture = captureConsole(log);
  let result: SuspendableTryResult;
  let op: BaseOperator | undefined;
  let ctx: TaskContext | undefined;
  try {
    log.info(`starting try ${rc.tryNumber} of ${rc.maxTries} for ${rc.dagId}.${rc.taskId} run ${rc.runId} on ${hostname()} (pid ${process.pid})`);
    markPhase('dagImport');
    const dags = await (reused?.importDag ?? importDagFile)(rc.fileloc);
    markPhase('dagImported');
    const dag = dags.find((d) => d.dagId === rc.dagId);
    if (!dag) throw new CapstanError('dag_not_found', `DAG '${rc.dagId}' is no longer defined in ${rc.fileloc}`);
    op = dag.getTask(rc.taskId);
    ctx = makeContext(rc, api, log, masker, abort.signal);
    const templating = {
      fileloc: rc.fileloc,
      // Stored and shown outside the task log, so masked like it.
      onRendered: (rendered: JsonObject) =>
        api.putRenderedFields(JSON.parse(masker.mask(JSON.stringify(rendered))) as JsonObject).catch((err: unknown) => {
          // The API refuses writes of a try that no longer runs (marked, cleared, timed out meanwhile).
          if (err instanceof ConflictError) stopChangedElsewhere(err, log, abort);
          throw err;
        }),
    };
    result = await executeSuspendable(op, ctx, rc.executionTimeoutMs, abort, log, templating, systemClock, rc.resume);
    markPhase('userCodeEnd');
  } catch (err) {
    // The DAG file could not be imported or no longer defines the task.
    log.error(`task failed: ${err instanceof Error && err.stack ? err.stack : errorMessage(err)}`);
    result = { outcome: { kind: 'failed', failure: { kind: 'exception', message: errorMessage(err) } }, returnValue: undefined };
  } finally {
    stopHeartbeat();
    stopCapture();
    if (report) report.aborted = abort.signal.aborted;
  }
  const { returnValue } = result;
  // The failure reason is stored and shown outside the task log, so it is masked like the log.
  let outcome: TryOutcome | TrySuspension = result.outcome.kind === 'failed' ? { ...result.outcome, failure: { ...result.outcome.failure, message: masker.mask(result.outcome.failure.message) } } : result.outcome;
  let finalState = 'unknown';
  markPhase('logSettle');
  await settleLog();
  markPhase('finishCall');
  if (outcome.kind !== 'deferred' && outcome.kind !== 'rescheduled') reused?.onReporting?.();
  try {
    const finished = await api.finish(outcome, returnValue).catch((err: unknown) => {
      // A return value too large to send at all fails the try as one over core.xcomMaxBytes does.
      if (!(err instanceof PayloadTooLargeError) || returnValue === undefined) throw err;
      outcome = { kind: 'failed', failure: { kind: 'xcom', message: `the return value is too large to store as an XCom (${errorMessage(err)})` } };
      return api.finish(outcome);
    });
    finalState = finished.state;
    markPhase('finished');
    // The API can still fail a try that succeeded here (a return value over core.xcomMaxBytes): say why.
    if (outcome.kind === 'success' && finished.failureReason) log.error(`the try failed when its result was stored: ${finished.failureReason}`);
  } catch (err) {
    if (!(err instanceof ConflictError)) {
      log.error(`could not report the outcome: ${errorMessage(err)}`);
      await closeLog();
      return 1;
    }
    // The try had already ended: an earlier attempt of this same call was applied but its answer was
    // lost, or the try was ended from outside (marked, cleared, timed out). Either way it is settled.
    finalState = err.state;
    log.warn(`the try had already ended as ${err.state} when its outcome (${outcome.kind}) was reported`);
  }
  if (outcome.kind === 'deferred' || outcome.kind === 'rescheduled') {
    // Not an end: the same try continues in a new process (no callbacks now).
    if (report) report.paused = true;
    log.info(`try paused: ${finalState}`);
    await closeLog();
    return 0;
  }
  log.info(`try ended: ${finalState}`);
  if (op && ctx) await runTaskCallbacks(op, ctx, finalState, outcome, log);
  await closeLog();
  markPhase('closed');
  return 0;
}

function makeContext(rc: TaskRunContext, api: ExecutionClient, log: TaskLogWriter, masker: SecretMasker, signal: AbortSignal): TaskContext {
  const date = (v: number | null) => (v === null ? null : new Date(v));
  return {
    dagId: rc.dagId,
    taskId: rc.taskId,
    runId: rc.runId,
    runType: rc.runType,
    mapIndex: rc.mapIndex,
    tryNumber: rc.tryNumber,
    maxTries: rc.maxTries,
    logicalDate: date(rc.logicalDate),
    dataIntervalStart: date(rc.dataIntervalStart),
    dataIntervalEnd: date(rc.dataIntervalEnd),
    prevDataIntervalStartSuccess: date(rc.prevDataIntervalStartSuccess),
    prevDataIntervalEndSuccess: date(rc.prevDataIntervalEndSuccess),
    params: rc.params,
    conf: rc.conf,
    log: { debug: (m) => log.debug(m), info: (m) => log.info(m), warn: (m) => log.warn(m), error: (m) => log.error(m) },
    signal,
    clock: systemClock,
    tryStartedAt: new Date(rc.tryStartedAt),
    rescheduleCount: rc.rescheduleCount,
    xcomPush: (key, value) => api.pushXCom(key, value),
    xcomPull: (taskId, key = 'return_value', mapIndex) => api.pullXCom(taskId, key, mapIndex),
    getVariable: async (key) => {
      const v = await api.getVariable(key);
      if (v !== null) masker.addVariable(key, v);
      return v;
    },
    getJsonVariable: async (key) => {
      const v = await api.getVariable(key);
      if (v === null) return null;
      masker.addVariable(key, v);
      return JSON.parse(v) as JsonValue;
    },
    getConnection: async (connId) => {
      const c = await api.getConnection(connId);
      masker.addConnection(c);
      return c;
    },
  };
}

/**
 * While the task runs, what its code prints (console.log, process.stdout.write; stderr as WARN) goes to
 * the task log, masked, as Airflow does with print(), and never unmasked to the worker's own output.
 */
function captureConsole(log: TaskLogWriter): () => void {
  const targets = [
    [process.stdout, log.stream('INFO')],
    [process.stderr, log.stream('WARN')],
  ] as const;
  const originals = targets.map(([stream]) => stream.write);
  for (const [stream, sink] of targets) {
    stream.write = ((chunk: string | Uint8Array, encodingOrDone?: BufferEncoding | ((err?: Error | null) => void), done?: (err?: Error | null) => void) => {
      sink.write(chunk);
      (typeof encodingOrDone === 'function' ? encodingOrDone : done)?.();
      return true;
    }) as typeof stream.write;
  }
  // The sinks stay open: closing the log writes any partial last line.
  return () => targets.forEach(([stream], i) => (stream.write = originals[i] as typeof stream.write));
}

/** The try was ended or moved on outside this process: say so and stop the task. */
function stopChangedElsewhere(err: ConflictError, log: TaskLogWriter, abort: AbortController): void {
  if (abort.signal.aborted) return;
  log.warn(`the try is now '${err.state}' (changed outside this process); stopping`);
  abort.abort(new CapstanError('task_failed', `task stopped: its state was set to ${err.state} externally`));
}

function startHeartbeat(api: ExecutionClient, everyMs: number, abort: AbortController, log: TaskLogWriter): () => void {
  // One heartbeat in flight at a time: while the API is down a call keeps retrying, and piling up a
  // new one every interval would only multiply the load once it is back.
  let inFlight = false;
  const timer = setInterval(() => {
    if (inFlight) return;
    inFlight = true;
    api
      .heartbeat()
      .catch((err: unknown) => {
        if (err instanceof ConflictError) stopChangedElsewhere(err, log, abort);
      })
      .finally(() => {
        inFlight = false;
      });
  }, everyMs);
  // Kept referenced on purpose: while the try runs, the heartbeat keeps the process alive, so task code
  // awaiting something that holds no handle of its own does not let the process exit unreported.
  return () => clearInterval(timer);
}
