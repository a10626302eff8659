/**
 * The `TaskContext` of a task that runs inside this process (`dags test`, `tasks test`, the authors' test
 * kit): XCom goes through an injected store (the metadata DB, or memory when nothing may be recorded),
 * variables and connections through `SecretsLookup`, and log lines through a sink, masked like a real
 * task log.
 */
import { type Clock, systemClock } from '../core/index.ts';
import type { DagRunType, JsonObject, JsonValue } from '../core/index.ts';
import type { SecretMasker, SecretsLookup } from '../secrets/index.ts';
import type { TaskConnection, TaskContext, TaskLogger } from '../sdk/taskContext.ts';

/** Levels of an in-process task log line (the same as a task log file's). */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** One line a task logged. `message` is already masked. */
export interface TaskLogLine {
  taskId: string;
  tryNumber: number;
  level: LogLevel;
  message: string;
}

/** Where a context reads and writes XComs. */
export interface XComBackend {
  push(taskId: string, mapIndex: number, key: string, value: JsonValue): Promise<void>;
  /** The value, or undefined when nothing was pushed. */
  pull(taskId: string, key: string, mapIndex: number): Promise<JsonValue | undefined>;
}

/** Who the task is and which run it belongs to. */
export interface TaskIdentity {
  dagId: string;
  taskId: string;
  runId: string;
  runType: DagRunType;
  mapIndex: number;
  tryNumber: number;
  maxTries: number;
  logicalDate: number | null;
  dataIntervalStart: number | null;
  dataIntervalEnd: number | null;
  /** The data interval of the DAG's latest successful run before this one. Default null. */
  prevDataIntervalStartSuccess?: number | null;
  prevDataIntervalEndSuccess?: number | null;
  /** When the current try first started (a rescheduled or resumed try keeps it), epoch ms. Default: unset. */
  tryStartedAt?: number;
  /** Reschedules of the current try so far. Default 0. */
  rescheduleCount?: number;
  params: Record<string, JsonValue>;
  conf: JsonObject;
}

export interface InProcessContextDeps {
  xcom: XComBackend;
  /** The clock task code waits on (`ctx.clock`). Default: the wall clock. */
  clock?: Clock;
  secrets: SecretsLookup;
  masker: SecretMasker;
  /** Receives every log line, masked. */
  onLog: (line: TaskLogLine) => void;
  signal: AbortSignal;
}

/** A logger that masks each line and hands it to `onLog`. */
export function inProcessLogger(id: Pick<TaskIdentity, 'taskId' | 'tryNumber'>, masker: SecretMasker, onLog: (line: TaskLogLine) => void): TaskLogger {
  const emit = (level: LogLevel) => (message: string) => onLog({ taskId: id.taskId, tryNumber: id.tryNumber, level, message: masker.mask(message) });
  return { debug: emit('DEBUG'), info: emit('INFO'), warn: emit('WARN'), error: emit('ERROR') };
}

/** Build the context a task's `execute` receives. */
export function createInProcessContext(id: TaskIdentity, deps: InProcessContextDeps): TaskContext {
  const date = (v: number | null) => (v === null ? null : new Date(v));
  const { secrets, masker, xcom } = deps;
  return {
    dagId: id.dagId,
    taskId: id.taskId,
    runId: id.runId,
    runType: id.runType,
    mapIndex: id.mapIndex,
    tryNumber: id.tryNumber,
    maxTries: id.maxTries,
    logicalDate: date(id.logicalDate),
    dataIntervalStart: date(id.dataIntervalStart),
    dataIntervalEnd: date(id.dataIntervalEnd),
    prevDataIntervalStartSuccess: date(id.prevDataIntervalStartSuccess ?? null),
    prevDataIntervalEndSuccess: date(id.prevDataIntervalEndSuccess ?? null),
    ...(id.tryStartedAt === undefined ? {} : { tryStartedAt: new Date(id.tryStartedAt) }),
    rescheduleCount: id.rescheduleCount ?? 0,
    params: id.params,
    conf: id.conf,
    log: inProcessLogger(id, masker, deps.onLog),
    signal: deps.signal,
    clock: deps.clock ?? systemClock,
    xcomPush: (key, value) => xcom.push(id.taskId, id.mapIndex, key, value),
    xcomPull: async (taskId, key = 'return_value', mapIndex = -1) => (await xcom.pull(taskId, key, mapIndex)) ?? null,
    getVariable: async (key) => {
      const v = await secrets.getVariable(key);
      if (v === undefined) return null;
      masker.addVariable(key, v);
      return v;
    },
    getJsonVariable: async (key) => {
      const v = await secrets.getVariable(key);
      if (v === undefined) return null;
      masker.addVariable(key, v);
      return JSON.parse(v) as JsonValue;
    },
    getConnection: async (connId): Promise<TaskConnection> => {
      const c = await secrets.requireConnection(connId);
      masker.addConnection(c);
      return { connId: c.connId, connType: c.connType, host: c.host, schema: c.schema, login: c.login, password: c.password, port: c.port, extra: c.extra as JsonObject };
    },
  };
}

/** XComs kept in memory (what `tasks test` pushes is not recorded), reading through to `fallback`. */
export class MemoryXComs implements XComBackend {
  readonly #values = new Map<string, JsonValue>();
  readonly #fallback: XComBackend['pull'] | undefined;

  constructor(fallback?: XComBackend['pull']) {
    this.#fallback = fallback;
  }

  async push(taskId: string, mapIndex: number, key: string, value: JsonValue): Promise<void> {
    this.#values.set(`${taskId}\u0000${mapIndex}\u0000${key}`, value);
  }

  async pull(taskId: string, key: string, mapIndex: number): Promise<JsonValue | undefined> {
    const k = `${taskId}\u0000${mapIndex}\u0000${key}`;
    if (this.#values.has(k)) return this.#values.get(k);
    return this.#fallback?.(taskId, key, mapIndex);
  }

  /** Everything pushed, in push order. */
  entries(): Array<{ taskId: string; mapIndex: number; key: string; value: JsonValue }> {
    return [...this.#values].map(([k, value]) => {
      const [taskId = '', mapIndex = '-1', key = ''] = k.split('\u0000');
      return { taskId, mapIndex: Number(mapIndex), key, value };
    });
  }
}
