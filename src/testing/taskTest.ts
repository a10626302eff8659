/**
 * One task, executed in this process without recording anything (`capstan tasks test`, Airflow's
 * `tasks test`): no run, no task-instance state, no XCom rows. Dependencies are ignored. XCom pulls read
 * what this task pushed in memory, then the stored XComs of the DAG's run with the same logical date when
 * one exists (so a task can be tried against a real upstream result); otherwise they return null.
 */
import { type Clock, InvalidArgument, manualRunInterval, systemClock } from '../core/index.ts';
import { validateConf, deferralDeadline } from '../services/index.ts';
import type { JsonObject, JsonValue } from '../core/index.ts';
import type { TryOutcome } from '../services/index.ts';
import { findDagRunByLogicalDate, makeRunId, previousSuccessfulRun, pullXCom } from '../store/index.ts';
import { executeSuspendable, type ResumePoint } from '../runtime/index.ts';
import { FAIL_METHOD } from '../triggers/index.ts';
import { awaitTriggerEvent } from './inProcessTrigger.ts';
import { resolveParams } from '../scheduler/index.ts';
import type { Dag } from '../sdk/dag.ts';
import { SecretMasker, type SecretsLookup } from '../secrets/index.ts';
import type { MetadataDb } from '../store/index.ts';
import { createInProcessContext, MemoryXComs, type TaskIdentity, type TaskLogLine } from './context.ts';

export interface TaskTestOptions {
  dag: Dag;
  taskId: string;
  fileloc: string;
  secrets: SecretsLookup;
  /** Read upstream XComs of an existing run with the same logical date. Optional. */
  db?: MetadataDb;
  /** Default: now. */
  logicalDate?: number;
  conf?: JsonValue;
  onLog?: (line: TaskLogLine) => void;
  signal?: AbortSignal;
  now?: () => number;
  /** XComs the task can pull as if upstream tasks had pushed them (read before stored ones). */
  xcoms?: ReadonlyArray<{ taskId: string; key?: string; mapIndex?: number; value: JsonValue }>;
  /** The clock the execution timeout is measured on (and `now` when given). Default: the wall clock. */
  clock?: Clock;
}

export interface TaskTestResult {
  outcome: TryOutcome;
  returnValue: JsonValue | undefined;
  /** The run whose XComs were readable, if any. */
  readFromRunId: string | null;
  /** The try's rendered template fields (masked; not stored), null when it has none or rendering failed. */
  renderedFields: JsonObject | null;
  /** XComs the task pushed (not stored). */
  pushed: Array<{ taskId: string; mapIndex: number; key: string; value: JsonValue }>;
}

/** Execute `taskId` of `dag` once and report how it ended. */
export async function testTaskInProcess(o: TaskTestOptions): Promise<TaskTestResult> {
  const op = o.dag.getTask(o.taskId);
  const serialized = o.dag.serialize(o.fileloc);
  const conf = o.conf ?? {};
  if (typeof conf !== 'object' || conf === null || Array.isArray(conf)) throw new InvalidArgument('conf must be a JSON object', `e.g. --conf '{"key": "value"}'`);
  validateConf(serialized, conf as JsonObject);
  const now = o.clock ? () => (o.clock as Clock).now() : o.now;
  const at = o.logicalDate ?? (now ?? Date.now)();
  const interval = manualRunInterval(serialized.timetable, at);
  const db = o.db;
  const stored = db ? await findDagRunByLogicalDate(db, o.dag.dagId, at) : undefined;
  const prev = db ? await previousSuccessfulRun(db, o.dag.dagId, at) : undefined;
  const seeds = new MemoryXComs(stored && db ? (taskId, key, mapIndex) => pullXCom(db, stored.id, taskId, key, mapIndex) : undefined);
  for (const x of o.xcoms ?? []) await seeds.push(x.taskId, x.mapIndex ?? -1, x.key ?? 'return_value', x.value);
  const xcoms = new MemoryXComs((taskId, key, mapIndex) => seeds.pull(taskId, key, mapIndex));
  const masker = new SecretMasker();
  const abort = new AbortController();
  const stop = () => abort.abort(o.signal?.reason);
  o.signal?.addEventListener('abort', stop, { once: true });
  const clock = o.clock ?? (now ? { now, sleep: systemClock.sleep } : systemClock);
  const identity: TaskIdentity = {
    dagId: o.dag.dagId,
    taskId: o.taskId,
    runId: stored?.run_id ?? makeRunId('manual', at),
    runType: 'manual',
    mapIndex: -1,
    tryNumber: 1,
    maxTries: op.retry.retries + 1,
    logicalDate: at,
    dataIntervalStart: interval.start,
    dataIntervalEnd: interval.end,
    prevDataIntervalStartSuccess: prev?.data_interval_start ?? null,
    prevDataIntervalEndSuccess: prev?.data_interval_end ?? null,
    tryStartedAt: clock.now(),
    rescheduleCount: 0,
    params: resolveParams(serialized, conf as JsonObject),
    conf: conf as JsonObject,
  };
  const deps = { xcom: xcoms, secrets: o.secrets, masker, onLog: o.onLog ?? (() => undefined), signal: abort.signal, clock };
  try {
    let renderedFields: JsonObject | null = null;
    const templating = {
      fileloc: o.fileloc,
      ...(now ? { now } : {}),
      onRendered: async (rendered: JsonObject) => {
        renderedFields = JSON.parse(masker.mask(JSON.stringify(rendered))) as JsonObject;
      },
    };
    // A deferral runs its trigger here and resumes; a reschedule waits on the clock and pokes again — the
    // same try, as under a scheduler, with nothing recorded.
    let resume: ResumePoint | null = null;
    for (;;) {
      const ctx = createInProcessContext(identity, deps);
      const result = await executeSuspendable(op, ctx, op.executionTimeoutMs, abort, ctx.log, templating, clock, resume);
      const out = result.outcome;
      if (out.kind === 'rescheduled') {
        await clock.sleep(Math.max(0, out.rescheduleAt - clock.now()), abort.signal);
        identity.rescheduleCount = (identity.rescheduleCount ?? 0) + 1;
        resume = null;
      } else if (out.kind === 'deferred') {
        const deadline = deferralDeadline(clock.now(), out.timeoutMs, identity.tryStartedAt ?? clock.now(), op.executionTimeoutMs);
        const r = await awaitTriggerEvent(out.trigger, deadline, ctx, clock, 0, abort.signal);
        resume =
          r.kind === 'event'
            ? { method: out.method, event: r.payload, kwargs: out.kwargs }
            : { method: FAIL_METHOD, event: { kind: r.kind === 'timed_out' ? 'timeout' : 'error', error: r.error }, kwargs: out.kwargs };
      } else {
        return { outcome: out, returnValue: result.returnValue, renderedFields, readFromRunId: stored?.run_id ?? null, pushed: xcoms.entries() };
      }
    }
  } finally {
    o.signal?.removeEventListener('abort', stop);
  }
}
