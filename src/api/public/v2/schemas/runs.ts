/** Schemas and JSON views of DAG runs and task instances (Airflow 3's responses in camelCase). */
import { z } from '@hono/zod-openapi';
import { DAG_RUN_TYPES, FAILURE_KINDS, TASK_INSTANCE_STATES } from '../../../../core/index.ts';
import type { JsonObject } from '../../../../core/index.ts';
import type { DagRunRow, TaskInstanceRow, TaskInstanceTryRow } from '../../../../store/index.ts';
import { Timestamp } from './common.ts';
import { DagRunStateSchema, iso } from './dags.ts';

/** The longest note of a run or task instance, in characters. */
export const MAX_NOTE_LENGTH = 1000;

export const DagRunTypeSchema = z.enum(DAG_RUN_TYPES).openapi('DagRunType');
export const TaskInstanceStateSchema = z.enum(TASK_INSTANCE_STATES).openapi('TaskInstanceState');

export const DagRunSchema = z
  .object({
    dagId: z.string(),
    dagRunId: z.string(),
    runType: DagRunTypeSchema,
    state: DagRunStateSchema,
    logicalDate: Timestamp,
    dataIntervalStart: Timestamp,
    dataIntervalEnd: Timestamp,
    queuedAt: Timestamp,
    startDate: Timestamp,
    endDate: Timestamp,
    /** Milliseconds from start to end (or to now while running is left to the client). */
    durationMs: z.number().int().nullable(),
    conf: z.record(z.string(), z.unknown()),
    note: z.string().nullable(),
    clearNumber: z.number().int(),
  })
  .openapi('DagRun');

export function dagRunView(r: DagRunRow): z.input<typeof DagRunSchema> {
  return {
    dagId: r.dag_id,
    dagRunId: r.run_id,
    runType: r.run_type,
    state: r.state,
    logicalDate: iso(r.logical_date),
    dataIntervalStart: iso(r.data_interval_start),
    dataIntervalEnd: iso(r.data_interval_end),
    queuedAt: iso(r.queued_at),
    startDate: iso(r.start_date),
    endDate: iso(r.end_date),
    durationMs: r.start_date !== null && r.end_date !== null ? r.end_date - r.start_date : null,
    conf: JSON.parse(r.conf) as Record<string, unknown>,
    note: r.note,
    clearNumber: r.clear_number,
  };
}

export const TaskInstanceSchema = z
  .object({
    dagId: z.string(),
    dagRunId: z.string(),
    taskId: z.string(),
    mapIndex: z.number().int().openapi({ description: '-1 for an unmapped task' }),
    state: TaskInstanceStateSchema,
    tryNumber: z.number().int(),
    maxTries: z.number().int(),
    operator: z.string(),
    pool: z.string(),
    poolSlots: z.number().int(),
    queue: z.string(),
    priorityWeight: z.number().int(),
    executor: z.string().nullable(),
    hostname: z.string().nullable(),
    pid: z.number().int().nullable(),
    externalExecutorId: z.string().nullable().openapi({ description: 'e.g. the worker pod name' }),
    queuedAt: Timestamp,
    startDate: Timestamp,
    endDate: Timestamp,
    durationMs: z.number().nullable(),
    nextRetryAt: Timestamp,
    exitCode: z.number().int().nullable(),
    failureReason: z.string().nullable(),
    logicalDate: Timestamp,
    note: z.string().nullable().openapi({ description: "a user's note on the instance, kept across its tries" }),
    noteUpdatedBy: z.string().nullable().openapi({ description: 'who last set the note' }),
    noteUpdatedAt: Timestamp.openapi({ description: 'when the note was last set' }),
  })
  .openapi('TaskInstance');

export function taskInstanceView(t: TaskInstanceRow & { logical_date?: number | null }): z.input<typeof TaskInstanceSchema> {
  return {
    dagId: t.dag_id,
    dagRunId: t.run_id,
    taskId: t.task_id,
    mapIndex: t.map_index,
    state: t.state,
    tryNumber: t.try_number,
    maxTries: t.max_tries + 1,
    operator: t.operator,
    pool: t.pool,
    poolSlots: t.pool_slots,
    queue: t.queue,
    priorityWeight: t.priority_weight,
    executor: t.executor,
    hostname: t.hostname,
    pid: t.pid,
    externalExecutorId: t.external_executor_id,
    queuedAt: iso(t.queued_at),
    startDate: iso(t.start_date),
    endDate: iso(t.end_date),
    durationMs: t.duration_ms,
    nextRetryAt: iso(t.next_retry_at),
    exitCode: t.exit_code,
    failureReason: t.failure_reason,
    logicalDate: iso(t.logical_date ?? null),
    note: t.note,
    noteUpdatedBy: t.note_updated_by,
    noteUpdatedAt: iso(t.note_updated_at),
  };
}

export const TaskInstanceTrySchema = z
  .object({
    dagId: z.string(),
    dagRunId: z.string(),
    taskId: z.string(),
    mapIndex: z.number().int(),
    tryNumber: z.number().int(),
    state: TaskInstanceStateSchema,
    executor: z.string().nullable(),
    hostname: z.string().nullable(),
    pid: z.number().int().nullable(),
    externalExecutorId: z.string().nullable(),
    queuedAt: Timestamp,
    startDate: Timestamp,
    endDate: Timestamp,
    durationMs: z.number().nullable(),
    exitCode: z.number().int().nullable(),
    failureReason: z.string().nullable(),
    failureKind: z.enum(FAILURE_KINDS).nullable().optional().openapi({ description: 'what kind of failure ended the try (oomKilled, imagePullFailed, exitCode, …)' }),
  })
  .openapi('TaskInstanceTry');

/** A stored try as a TaskInstanceTry: the API's answer, and the CLI's local `tasks state --output json` (src/cli/views.ts). */
export function tryView(t: TaskInstanceTryRow): z.input<typeof TaskInstanceTrySchema> {
  return {
    dagId: t.dag_id,
    dagRunId: t.run_id,
    taskId: t.task_id,
    mapIndex: t.map_index,
    tryNumber: t.try_number,
    state: t.state,
    executor: t.executor,
    hostname: t.hostname,
    pid: t.pid,
    externalExecutorId: t.external_executor_id,
    queuedAt: iso(t.queued_at),
    startDate: iso(t.start_date),
    endDate: iso(t.end_date),
    durationMs: t.duration_ms,
    exitCode: t.exit_code,
    failureReason: t.failure_reason,
    failureKind: t.failure_kind,
  };
}

/** Rendered template fields of one try (secrets masked when they were saved). */
export type RenderedFields = JsonObject;
