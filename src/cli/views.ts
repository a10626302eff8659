/**
 * The JSON shapes of CLI output, one per concept, whether the command read the local metadata DB or a remote
 * API server: local rows go through src/api/views.ts, `/api/v2` bodies are mapped here to the same shapes, so
 * `--output json` does not depend on where the command ran (checked by test/cli/remote.test.ts).
 */
import type { components, dagJson, runJson, tiJson } from '../api/client.ts';

type Schemas = components['schemas'];
/** A DAG as `dags list` prints it. */
export type DagJson = ReturnType<typeof dagJson>;
/** A DAG run as `dags list-runs` and `dags trigger` print it. */
export type RunJson = ReturnType<typeof runJson>;
/** A task instance as `tasks list` and `tasks state` print it. */
export type TaskInstanceJson = ReturnType<typeof tiJson>;
/**
 * One try of a task instance (`tasks state --output json`): the API's TaskInstanceTry. A local command maps
 * its stored tries with the API's own `tryView` (src/api/public/v2/schemas/runs.ts), so the shape has one home.
 */
export type TryJson = Schemas['TaskInstanceTry'];

/** An API try as {@link TryJson} (the same keys, in the same order, whatever else the server adds). */
export function remoteTryJson(t: Schemas['TaskInstanceTry']): TryJson {
  const { dagId, dagRunId, taskId, mapIndex, tryNumber, state, executor, hostname, pid, externalExecutorId, queuedAt, startDate, endDate, durationMs, exitCode, failureReason, failureKind } = t;
  return { dagId, dagRunId, taskId, mapIndex, tryNumber, state, executor, hostname, pid, externalExecutorId, queuedAt, startDate, endDate, durationMs, exitCode, failureReason, failureKind: failureKind ?? null };
}

/** An API DAG as {@link DagJson}. */
export function remoteDagJson(d: Schemas['Dag']): DagJson {
  return {
    dagId: d.dagId,
    fileloc: d.fileloc,
    isPaused: d.isPaused,
    isActive: d.isActive,
    owner: d.owners[0] ?? '',
    tags: d.tags,
    schedule: d.timetableSummary,
    description: d.description,
    nextDataIntervalStart: d.nextDagrunDataIntervalStart,
    nextDataIntervalEnd: d.nextDagrunDataIntervalEnd,
  };
}

/** An API DAG run as {@link RunJson}. */
export function remoteRunJson(r: Schemas['DagRun']): RunJson {
  return {
    dagId: r.dagId,
    runId: r.dagRunId,
    runType: r.runType,
    state: r.state,
    logicalDate: r.logicalDate,
    dataIntervalStart: r.dataIntervalStart,
    dataIntervalEnd: r.dataIntervalEnd,
    conf: r.conf,
    startDate: r.startDate,
    endDate: r.endDate,
    note: r.note,
  };
}

/** An API task instance (and its rendered fields, read separately) as {@link TaskInstanceJson}. */
export function remoteTiJson(t: Schemas['TaskInstance'], renderedFields: TaskInstanceJson['renderedFields']): TaskInstanceJson {
  return {
    taskId: t.taskId,
    mapIndex: t.mapIndex,
    state: t.state,
    tryNumber: t.tryNumber,
    maxTries: t.maxTries,
    operator: t.operator,
    pool: t.pool,
    queuedAt: t.queuedAt,
    startDate: t.startDate,
    endDate: t.endDate,
    durationMs: t.durationMs,
    hostname: t.hostname,
    pid: t.pid,
    exitCode: t.exitCode,
    failureReason: t.failureReason,
    note: t.note,
    renderedFields,
  };
}
