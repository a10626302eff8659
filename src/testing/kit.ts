/**
 * The DAG authors' test kit (`import { testDag, ManualClock } from 'capstan/testing'`): from any test
 * runner, run a whole DAG run or one task of a DAG in this process, against a throwaway in-memory SQLite
 * metadata DB, on a manual clock — and assert on task states, try numbers, XComs, rendered template
 * fields and log lines. Documented in docs/testing-dags.md.
 *
 * It is the engine's own in-process runner (`dags test`): trigger rules, retries, skips, branching and
 * XComs behave as they do under the scheduler, one task at a time. Time is a {@link ManualClock} with
 * auto-advance on by default, so retry delays, execution timeouts, sensors and schedules pass without
 * real waiting: whenever only the clock can release what is pending, time jumps to the next deadline.
 *
 * @example
 * ```ts
 * import { testDag } from 'capstan/testing';
 * import { etl } from '../dags/etl.ts';
 *
 * const t = await testDag(etl, { variables: { bucket: 'test' } });
 * const run = await t.run({ logicalDate: '2026-01-01' });
 * assert.equal(run.state, 'success');
 * assert.deepEqual(run.task('extract').xcom(), [1, 2, 3]);
 * await t.close();
 * ```
 */
import { resolve } from 'node:path';
import type { Clock, DagRunType, JsonObject, JsonValue, SerializedDag, TaskInstanceState } from '../core/index.ts';
import { assertNever, type DataInterval, firstInterval, InvalidArgument, NotFound } from '../core/index.ts';
import type { TryOutcome } from '../services/index.ts';
import { nextDueInterval } from '../scheduler/index.ts';
import type { Dag } from '../sdk/dag.ts';
import { connectionEnvName, SecretsLookup, variableEnvName } from '../secrets/index.ts';
import {
  listTaskInstances,
  listTries,
  listXComs,
  type MetadataDb,
  migrateToLatest,
  openMetadataDb,
} from '../store/index.ts';
import type { DagRunRow } from '../store/index.ts';
import type { LogLevel, TaskLogLine } from './context.ts';
import { runDagInProcess } from './inProcessRun.ts';
import { ManualClock } from './manualClock.ts';
import { testTaskInProcess } from './taskTest.ts';

/** A point in time as tests like to write it: a `Date`, epoch ms, or an ISO string (`'2026-01-01'`). */
export type TimeInput = Date | number | string;

/** Options of {@link testDag}. */
export interface DagTestOptions {
  /**
   * The clock runs and tasks see. Default: a new {@link ManualClock} with auto-advance, starting now. Pass
   * a `ManualClock` without auto-advance to move time yourself, or `systemClock` for real time.
   */
  clock?: Clock;
  /** Variables tasks read (`ctx.getVariable`, `{{ var.value.x }}`). */
  variables?: Readonly<Record<string, string>>;
  /** Connections by id: a connection URI (`postgres://u:p@host:5432/db`) or its JSON form. */
  connections?: Readonly<Record<string, string | JsonObject>>;
  /**
   * The DAG's file: templates with a file extension such as `.sql` are read relative to its folder.
   * Default: `<dagId>.ts` in the current working directory; pass the DAG module's path
   * (`fileURLToPath(new URL('../dags/etl.ts', import.meta.url))`) when the DAG uses template files.
   */
  fileloc?: string;
  /** Largest XCom value in bytes. Default 1 MiB (as `core.xcomMaxBytes`). */
  xcomMaxBytes?: number;
}

/** Options of one run. */
export interface RunOptions {
  /** Logical date of a manual run. Default: the clock's now. */
  logicalDate?: TimeInput;
  conf?: JsonObject;
  runId?: string;
}

/** One try of a task instance, as recorded. */
export interface TryRecord {
  tryNumber: number;
  state: TaskInstanceState;
  failureReason: string | null;
  /** The try's rendered templated fields (masked), null when the task has none. */
  renderedFields: JsonObject | null;
  startDate: Date | null;
  endDate: Date | null;
}

/** A task instance of a finished test run. */
export interface TaskRunRecord {
  taskId: string;
  mapIndex: number;
  state: TaskInstanceState;
  /** The last try's number; 0 when the task never ran (skipped or upstream_failed by its trigger rule). */
  tryNumber: number;
  /** Retries + 1. */
  maxTries: number;
  failureReason: string | null;
  /** Rendered fields of the last try. */
  renderedFields: JsonObject | null;
  tries: TryRecord[];
  /** Messages the task logged, all tries, in order. */
  logs: string[];
  /** The XCom it pushed under `key` (default `return_value`), or undefined. */
  xcom(key?: string): JsonValue | undefined;
}

/** A finished test run. */
export interface DagRunResult {
  runId: string;
  runType: DagRunType;
  state: 'success' | 'failed';
  /** Why the run failed, null on success. */
  reason: string | null;
  logicalDate: Date | null;
  dataIntervalStart: Date | null;
  dataIntervalEnd: Date | null;
  /** Every task instance, by task id (mapped instances by `taskId[index]`). */
  tasks: Readonly<Record<string, TaskRunRecord>>;
  /** The task instance; throws naming the known task ids when there is none. */
  task(taskId: string, mapIndex?: number): TaskRunRecord;
  /** Every log line of the run, in order. */
  logs: TaskLogLine[];
}

/** Options of {@link DagTest.runTask}. */
export interface RunTaskOptions {
  logicalDate?: TimeInput;
  conf?: JsonObject;
  /** XComs the task can pull as if its upstream tasks had pushed them. */
  xcoms?: ReadonlyArray<{ taskId: string; key?: string; mapIndex?: number; value: JsonValue }>;
}

/** How one task ended when run alone ({@link DagTest.runTask}); nothing is recorded. */
export interface TaskTestRecord {
  state: 'success' | 'failed' | 'skipped';
  /** The failure or skip reason; null on success. */
  reason: string | null;
  returnValue: JsonValue | undefined;
  renderedFields: JsonObject | null;
  /** XComs the task pushed with `ctx.xcomPush` (the return value is `returnValue`). */
  pushed: Array<{ key: string; mapIndex: number; value: JsonValue }>;
  logs: string[];
}

/** The next scheduled run of a DAG: its logical date and data interval. */
export interface ScheduledRunInfo {
  logicalDate: Date;
  dataIntervalStart: Date;
  dataIntervalEnd: Date;
}

/** Read a {@link TimeInput} as epoch ms; `name` is the option named in the error. */
export function toEpochMs(value: TimeInput, name: string): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(ms)) throw new InvalidArgument(`${name}: '${String(value)}' is not a date`, `use a Date, epoch milliseconds or an ISO 8601 string such as '2026-01-01T00:00:00Z'`);
  return ms;
}

/**
 * Prepare to test `dag`: a throwaway in-memory SQLite metadata DB (migrated) and a clock. Runs made
 * through one `DagTest` share that DB, so a second scheduled run follows the first and a task run alone
 * can pull the XComs of a run with the same logical date. Call `close()` when done.
 */
export async function testDag(dag: Dag, options: DagTestOptions = {}): Promise<DagTest> {
  const db = openMetadataDb('sqlite::memory:');
  await migrateToLatest(db);
  return new DagTest(dag, db, options);
}

/** A DAG under test; see {@link testDag}. */
export class DagTest {
  readonly dag: Dag;
  /** The clock the runs use. */
  readonly clock: Clock;
  /** The throwaway metadata DB (for assertions the results do not cover). */
  readonly db: MetadataDb;
  readonly #secrets: SecretsLookup;
  readonly #fileloc: string;
  readonly #xcomMaxBytes: number;
  readonly #serialized: SerializedDag;

  constructor(dag: Dag, db: MetadataDb, options: DagTestOptions) {
    this.dag = dag;
    this.db = db;
    this.clock = options.clock ?? new ManualClock({ autoAdvance: true });
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(options.variables ?? {})) env[variableEnvName(k)] = v;
    for (const [k, v] of Object.entries(options.connections ?? {})) env[connectionEnvName(k)] = typeof v === 'string' ? v : JSON.stringify(v);
    this.#secrets = new SecretsLookup({ env });
    this.#fileloc = resolve(options.fileloc ?? `${dag.dagId}.ts`);
    this.#xcomMaxBytes = options.xcomMaxBytes ?? 1024 * 1024;
    this.#serialized = dag.serialize(this.#fileloc);
  }

  /** Run the whole DAG once as a manual run (by default at the clock's now) and report how it ended. */
  async run(options: RunOptions = {}): Promise<DagRunResult> {
    return this.#run({
      ...(options.logicalDate === undefined ? {} : { logicalDate: toEpochMs(options.logicalDate, 'logicalDate') }),
      ...(options.conf === undefined ? {} : { conf: options.conf }),
      ...(options.runId === undefined ? {} : { runId: options.runId }),
    });
  }

  /**
   * The interval the scheduler would run next for this DAG, given the runs made so far through this
   * `DagTest` and the clock's now (with `catchup: false`, the latest complete interval). Null when the
   * DAG has no schedule, no start date, or its end date has passed.
   */
  async nextScheduledRun(): Promise<ScheduledRunInfo | null> {
    const next = await nextDueInterval(this.db, this.#serialized, this.clock.now());
    return next ? info(next) : null;
  }

  /**
   * Run the DAG's next scheduled interval as a `scheduled` run (or the interval starting at
   * `logicalDate`). A scheduler creates the run when its interval ends: on a {@link ManualClock} time is
   * moved there first; on another clock an interval that has not ended is refused.
   */
  async runScheduled(options: Omit<RunOptions, 'runId'> = {}): Promise<DagRunResult> {
    let interval: DataInterval | null;
    if (options.logicalDate !== undefined) {
      const at = toEpochMs(options.logicalDate, 'logicalDate');
      interval = firstInterval(this.#serialized.timetable, at);
      if (!interval || interval.start !== at) {
        const hint = interval ? `; the next one starts at ${new Date(interval.start).toISOString()}` : '';
        throw new InvalidArgument(`logicalDate ${new Date(at).toISOString()} is not the start of a scheduled interval of DAG '${this.dag.dagId}' (schedule ${this.#serialized.scheduleText ?? 'none'})${hint}`);
      }
    } else {
      interval = await nextDueInterval(this.db, this.#serialized, this.clock.now());
      if (!interval) throw new NotFound(`DAG '${this.dag.dagId}' has no further scheduled run (schedule ${this.#serialized.scheduleText ?? 'none'}, startDate and endDate decide)`);
    }
    if (interval.end > this.clock.now()) {
      if (!(this.clock instanceof ManualClock)) throw new InvalidArgument(`the interval ${new Date(interval.start).toISOString()} – ${new Date(interval.end).toISOString()} has not ended yet`, 'use a ManualClock (the default) to move time there');
      await this.clock.advanceTo(interval.end);
    }
    return this.#run({ scheduledInterval: interval, ...(options.conf === undefined ? {} : { conf: options.conf }) });
  }

  /**
   * Run one task alone, recording nothing (as `capstan tasks test`): its dependencies are not run, its
   * pulls read `options.xcoms`, then the stored XComs of this DAG's run with the same logical date.
   */
  async runTask(taskId: string, options: RunTaskOptions = {}): Promise<TaskTestRecord> {
    if (!this.dag.tasks.has(taskId)) throw new NotFound(`DAG '${this.dag.dagId}' has no task '${taskId}' (it has: ${[...this.dag.tasks.keys()].join(', ')})`);
    const logs: string[] = [];
    const r = await testTaskInProcess({
      dag: this.dag,
      taskId,
      fileloc: this.#fileloc,
      secrets: this.#secrets,
      db: this.db,
      clock: this.clock,
      onLog: (l) => logs.push(l.message),
      ...(options.logicalDate === undefined ? {} : { logicalDate: toEpochMs(options.logicalDate, 'logicalDate') }),
      ...(options.conf === undefined ? {} : { conf: options.conf }),
      ...(options.xcoms === undefined ? {} : { xcoms: options.xcoms }),
    });
    return {
      state: r.outcome.kind,
      reason: reasonOf(r.outcome),
      returnValue: r.returnValue,
      renderedFields: r.renderedFields,
      pushed: r.pushed.filter((p) => p.taskId === taskId).map(({ key, mapIndex, value }) => ({ key, mapIndex, value })),
      logs,
    };
  }

  /** Close the throwaway database. */
  async close(): Promise<void> {
    await this.db.close();
  }

  async #run(o: { logicalDate?: number; conf?: JsonObject; runId?: string; scheduledInterval?: DataInterval }): Promise<DagRunResult> {
    const logs: TaskLogLine[] = [];
    const result = await runDagInProcess({
      db: this.db,
      dag: this.dag,
      fileloc: this.#fileloc,
      secrets: this.#secrets,
      xcomMaxBytes: this.#xcomMaxBytes,
      clock: this.clock,
      replaceFinishedRun: false,
      onLog: (l) => logs.push(l),
      ...o,
    });
    return this.#collect(result.run, result.state, result.reason, logs);
  }

  async #collect(run: DagRunRow, state: 'success' | 'failed', reason: string | null, logs: TaskLogLine[]): Promise<DagRunResult> {
    const xcoms = await listXComs(this.db, { dagId: run.dag_id, runId: run.run_id });
    const tasks: Record<string, TaskRunRecord> = {};
    const tis = await listTaskInstances(this.db, { dagRunId: run.id });
    for (const ti of tis) {
      const tries: TryRecord[] = (await listTries(this.db, ti.id)).map((t) => ({
        tryNumber: t.try_number,
        state: t.state,
        failureReason: t.failure_reason,
        renderedFields: t.rendered_fields === null ? null : (JSON.parse(t.rendered_fields) as JsonObject),
        startDate: date(t.start_date),
        endDate: date(t.end_date),
      }));
      const mine = xcoms.filter((x) => x.taskId === ti.task_id && x.mapIndex === ti.map_index);
      tasks[ti.map_index === -1 ? ti.task_id : `${ti.task_id}[${ti.map_index}]`] = {
        taskId: ti.task_id,
        mapIndex: ti.map_index,
        state: ti.state,
        tryNumber: ti.try_number,
        maxTries: ti.max_tries + 1,
        failureReason: ti.failure_reason,
        renderedFields: tries.at(-1)?.renderedFields ?? null,
        tries,
        // Log lines carry no map index; a mapped instance shows every index's lines.
        logs: logs.filter((l) => l.taskId === ti.task_id).map((l) => l.message),
        xcom: (key = 'return_value') => mine.find((x) => x.key === key)?.value,
      };
    }
    return {
      runId: run.run_id,
      runType: run.run_type,
      state,
      reason,
      logicalDate: date(run.logical_date),
      dataIntervalStart: date(run.data_interval_start),
      dataIntervalEnd: date(run.data_interval_end),
      tasks,
      task: (taskId, mapIndex = -1) => {
        const t = tasks[mapIndex === -1 ? taskId : `${taskId}[${mapIndex}]`];
        if (!t) throw new NotFound(`run ${run.run_id} has no task instance '${taskId}'${mapIndex === -1 ? '' : ` [${mapIndex}]`} (it has: ${Object.keys(tasks).join(', ')})`);
        return t;
      },
      logs,
    };
  }
}

function date(v: number | null): Date | null {
  return v === null ? null : new Date(v);
}

function info(i: DataInterval): ScheduledRunInfo {
  return { logicalDate: new Date(i.start), dataIntervalStart: new Date(i.start), dataIntervalEnd: new Date(i.end) };
}

function reasonOf(o: TryOutcome): string | null {
  switch (o.kind) {
    case 'success':
      return null;
    case 'failed':
      return o.failure.message;
    case 'skipped':
      return o.reason;
    default:
      return assertNever(o);
  }
}

export { ManualClock, type ManualClockOptions } from './manualClock.ts';
export { simulatePodOutcome, type PodTaskSimulation, type SimulatedPodOutcome, type SimulatePodOptions } from './podOutcome.ts';
export { type Clock, systemClock } from '../core/index.ts';
export type { LogLevel, TaskLogLine };
