/** One DAG in depth: details with params, its tasks, its source with parse time, and run counts per state. */
import { readFile, realpath, stat } from 'node:fs/promises';
import { sep } from 'node:path';
import { z } from '@hono/zod-openapi';
import { visibleDagIds } from '../../../../auth/index.ts';
import { NotFound } from '../../../../core/index.ts';
import type { SerializedDag, SerializedTask } from '../../../../core/index.ts';
import { getDag, getDagFileParse, getSerializedDag, runCountsByDagAndState } from '../../../../store/index.ts';
import { can, onDag } from '../access.ts';
import { listQuery } from '../input.ts';
import { defineRoute } from '../route.ts';
import { DagId, Timestamp } from '../schemas/common.ts';
import { DagRunStateSchema, DagSchema, dagView, iso } from '../schemas/dags.ts';
import { SerializedDagSchema } from '../schemas/serializedDag.ts';

const TAGS = ['DAG'];

const ParamSchema = z.object({
  default: z.unknown(),
  type: z.string(),
  description: z.string().nullable(),
  required: z.boolean(),
  enum: z.array(z.unknown()).nullable(),
  schema: z.record(z.string(), z.unknown()).optional().openapi({ description: 'further JSON-schema keywords (minimum, pattern, items…)' }),
});

export const DagDetailsSchema = DagSchema.extend({
  doc: z.string().nullable(),
  startDate: Timestamp,
  endDate: Timestamp,
  catchup: z.boolean(),
  dagrunTimeoutMs: z.number().int().nullable(),
  isPausedUponCreation: z.boolean(),
  params: z.record(z.string(), ParamSchema).openapi({ description: "the DAG's params: a trigger form is built from these" }),
  taskCount: z.number().int(),
  accessControl: z.record(z.string(), z.enum(['read', 'edit'])).nullable(),
}).openapi('DagDetails');

export const getDagDetails = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/details',
  operationId: 'getDagDetails',
  tags: TAGS,
  summary: 'One DAG with its params and schedule details',
  access: onDag('dag', 'read'),
  params: { dagId: DagId },
  response: { schema: DagDetailsSchema },
  etag: true,
  handler: async (_c, { params }, d) => {
    const [row, s] = await Promise.all([getDag(d.db, params.dagId), getSerializedDag(d.db, params.dagId)]);
    return {
      ...dagView(row),
      doc: s.doc,
      startDate: iso(s.startDate),
      endDate: iso(s.endDate),
      catchup: s.catchup,
      dagrunTimeoutMs: s.dagrunTimeoutMs,
      isPausedUponCreation: s.isPausedUponCreation,
      params: s.params,
      taskCount: s.tasks.length,
      accessControl: s.accessControl ?? null,
    };
  },
});

export const TaskSchema = z
  .object({
    taskId: z.string(),
    operator: z.string(),
    upstreamTaskIds: z.array(z.string()),
    downstreamTaskIds: z.array(z.string()),
    triggerRule: z.string(),
    pool: z.string(),
    poolSlots: z.number().int(),
    queue: z.string(),
    priorityWeight: z.number().int(),
    retries: z.number().int(),
    retryDelayMs: z.number().int(),
    executionTimeoutMs: z.number().int().nullable(),
    dependsOnPast: z.boolean(),
    owner: z.string(),
    doc: z.string().nullable(),
    isMapped: z.boolean(),
    templateFields: z.record(z.string(), z.unknown()).openapi({ description: 'operator fields as written (templates unrendered)' }),
  })
  .openapi('Task');

export function taskView(t: SerializedTask): z.input<typeof TaskSchema> {
  return {
    taskId: t.taskId,
    operator: t.operator,
    upstreamTaskIds: t.upstream,
    downstreamTaskIds: t.downstream,
    triggerRule: t.triggerRule,
    pool: t.pool,
    poolSlots: t.poolSlots,
    queue: t.queue,
    priorityWeight: t.priorityWeight,
    retries: t.retry.retries,
    retryDelayMs: t.retry.retryDelayMs,
    executionTimeoutMs: t.executionTimeoutMs,
    dependsOnPast: t.dependsOnPast,
    owner: t.owner,
    doc: t.doc,
    isMapped: t.mapping !== undefined,
    templateFields: t.fields,
  };
}

export const listTasks = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/tasks',
  operationId: 'getTasks',
  tags: TAGS,
  summary: "The DAG's tasks",
  access: onDag('dag', 'read'),
  params: { dagId: DagId },
  response: { schema: z.object({ tasks: z.array(TaskSchema), totalEntries: z.number().int() }) },
  etag: true,
  handler: async (_c, { params }, d) => {
    const s: SerializedDag = await getSerializedDag(d.db, params.dagId);
    return { tasks: s.tasks.map(taskView), totalEntries: s.tasks.length };
  },
});

export const getSerializedDagRoute = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/serializedDag',
  operationId: 'getSerializedDag',
  tags: TAGS,
  summary: 'The DAG as the DAG processor stored it (what the scheduler runs from)',
  description:
    "Every setting of the DAG and its tasks as stored at parse time: timetable, retry policies, mappings, executor settings, callbacks, secret access, warnings. What `capstan dags show --output json` prints; details and tasks serve the UI's subset.",
  access: onDag('dag', 'read'),
  params: { dagId: DagId },
  response: { schema: SerializedDagSchema },
  etag: true,
  handler: async (_c, { params }, d) => getSerializedDag(d.db, params.dagId),
});

/** Largest DAG file served. */
const MAX_SOURCE_BYTES = 5 * 1024 * 1024;

export const getDagSource = defineRoute({
  method: 'get',
  path: '/dagSources/{dagId}',
  operationId: 'getDagSource',
  tags: TAGS,
  summary: "The DAG's source file, with when and how long it took to parse",
  access: onDag('dag', 'read'),
  params: { dagId: DagId },
  response: {
    schema: z
      .object({ dagId: z.string(), fileloc: z.string(), content: z.string(), lastParsedTime: Timestamp, parseDurationMs: z.number().int().nullable() })
      .openapi('DagSource'),
  },
  etag: true,
  handler: async (_c, { params }, d) => {
    const row = await getDag(d.db, params.dagId);
    const parse = await getDagFileParse(d.db, row.fileloc);
    const content = await readDagFile(row.fileloc, d.dagsFolder, params.dagId);
    return { dagId: row.dag_id, fileloc: row.fileloc, content, lastParsedTime: iso(parse?.lastParsedAt ?? row.last_parsed_at), parseDurationMs: parse?.durationMs ?? null };
  },
});

/** The file's text, read only from inside the DAGs folder (a stored path is not trusted to point anywhere else). */
async function readDagFile(fileloc: string, dagsFolder: string | undefined, dagId: string): Promise<string> {
  const missing = () => new NotFound(`the source of DAG '${dagId}' is not readable by this API server`, 'the API server reads DAG files from core.dagsFolder; mount the DAGs there');
  if (dagsFolder === undefined) throw missing();
  try {
    const [folder, file] = await Promise.all([realpath(dagsFolder), realpath(fileloc)]);
    if (!file.startsWith(folder + sep)) throw missing();
    if ((await stat(file)).size > MAX_SOURCE_BYTES) throw new NotFound(`the source of DAG '${dagId}' is larger than ${MAX_SOURCE_BYTES} bytes`);
    return await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof NotFound) throw err;
    throw missing();
  }
}

export const getDagStats = defineRoute({
  method: 'get',
  path: '/dagStats',
  operationId: 'getDagStats',
  tags: TAGS,
  summary: 'Run counts per state, per DAG',
  access: can('dag_run', 'read'),
  query: { dagIds: listQuery(DagId, 'these DAGs (at most 100)') },
  response: {
    schema: z
      .object({ dags: z.array(z.object({ dagId: z.string(), stats: z.array(z.object({ state: DagRunStateSchema, count: z.number().int() })) })), totalEntries: z.number().int() })
      .openapi('DagStats'),
  },
  handler: async (c, { query }, d) => {
    const visible = await visibleDagIds(d.db, c.get('principal').dags);
    const wanted = query.dagIds ?? [];
    const ids = visible === 'all' ? wanted : wanted.filter((id) => visible.includes(id));
    const counts = await runCountsByDagAndState(d.db, ids);
    const dags = ids.map((dagId) => ({ dagId, stats: counts.filter((x) => x.dagId === dagId).map((x) => ({ state: x.state, count: x.count })) }));
    return { dags, totalEntries: dags.length };
  },
});

export const dagDetailRoutes = [getDagDetails, listTasks, getSerializedDagRoute, getDagSource, getDagStats];
