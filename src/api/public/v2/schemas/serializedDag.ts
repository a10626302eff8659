/**
 * The serialized DAG as the DAG processor stored it (src/core/serialized.ts), described for the OpenAPI
 * document: what the scheduler runs from and what `capstan dags show --output json` prints. Served as stored,
 * so the remote CLI prints the same document as the local one; the camelCase keys are already the API's.
 */
import { z } from '@hono/zod-openapi';
import { SERIALIZED_DAG_VERSION, TRIGGER_RULES } from '../../../../core/index.ts';

const JsonObjectSchema = z.record(z.string(), z.unknown());

const TimetableSchema = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('none') }),
    z.object({ kind: z.literal('once') }),
    z.object({ kind: z.literal('cron'), expression: z.string(), timezone: z.string() }),
    z.object({ kind: z.literal('delta'), everyMs: z.number().int() }),
  ])
  .openapi('Timetable', { description: 'when runs are due: none (manual), once, a cron expression in a timezone, or every n ms' });

const MapSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('literal'), value: z.unknown() }),
  z.object({ kind: z.literal('xcom'), taskId: z.string(), key: z.string() }),
]);

const MappingSchema = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('expand'), inputs: z.array(z.object({ name: z.string(), source: MapSourceSchema })) }),
    z.object({ kind: z.literal('expandKwargs'), source: MapSourceSchema }),
  ])
  .openapi('TaskMapping', { description: 'how a mapped task expands into map indexes (`fields` then holds the partial arguments)' });

const SerializedTaskSchema = z
  .object({
    taskId: z.string(),
    operator: z.string(),
    upstream: z.array(z.string()),
    downstream: z.array(z.string()),
    triggerRule: z.enum(TRIGGER_RULES),
    retry: z.object({ retries: z.number().int(), retryDelayMs: z.number().int(), retryExponentialBackoff: z.boolean(), maxRetryDelayMs: z.number().int().nullable() }),
    executionTimeoutMs: z.number().int().nullable(),
    pool: z.string(),
    poolSlots: z.number().int(),
    priorityWeight: z.number().int(),
    dependsOnPast: z.boolean(),
    queue: z.string(),
    owner: z.string(),
    doc: z.string().nullable(),
    fields: JsonObjectSchema.openapi({ description: 'operator-specific fields, templates unrendered' }),
    callbacks: z.array(z.enum(['onSuccess', 'onFailure', 'onRetry', 'onExecute'])),
    mapping: MappingSchema.optional(),
    executorConfig: JsonObjectSchema.optional().openapi({ description: 'per-task executor settings (podOverride, podTemplateFile); absent when unset' }),
  })
  .openapi('SerializedTask');

const SerializedParamSchema = z.object({
  default: z.unknown(),
  type: z.enum(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null', 'any']),
  description: z.string().nullable(),
  required: z.boolean(),
  enum: z.array(z.unknown()).nullable(),
  schema: JsonObjectSchema.optional(),
});

export const SerializedDagSchema = z
  .object({
    version: z.literal(SERIALIZED_DAG_VERSION).openapi({ description: 'format version of the serialized DAG' }),
    dagId: z.string(),
    fileloc: z.string(),
    description: z.string().nullable(),
    doc: z.string().nullable(),
    timetable: TimetableSchema,
    scheduleText: z.string().nullable().openapi({ description: 'the schedule as written' }),
    startDate: z.number().int().nullable().openapi({ description: 'epoch ms' }),
    endDate: z.number().int().nullable().openapi({ description: 'epoch ms' }),
    catchup: z.boolean(),
    tags: z.array(z.string()),
    owner: z.string(),
    params: z.record(z.string(), SerializedParamSchema),
    maxActiveRuns: z.number().int(),
    maxActiveTasks: z.number().int(),
    dagrunTimeoutMs: z.number().int().nullable(),
    isPausedUponCreation: z.boolean(),
    tasks: z.array(SerializedTaskSchema),
    callbacks: z.array(z.enum(['onSuccess', 'onFailure'])).optional(),
    secretAccess: z
      .object({ variables: z.array(z.string()).optional(), connections: z.array(z.string()).optional() })
      .optional()
      .openapi({ description: 'the variable and connection ids (or globs) its tasks may read; absent: every one' }),
    accessControl: z.record(z.string(), z.enum(['read', 'edit'])).optional(),
    warnings: z.array(z.object({ code: z.string(), taskId: z.string().nullable(), message: z.string() })).optional(),
  })
  .openapi('SerializedDag');
