/**
 * XCom entries of a task instance (Airflow 3's `xcomEntries`): a list with each entry's size (no values
 * read), and one entry with its value masked as task logs are — the secrets of every stored connection
 * and secret-named variable, this server's own keys, and secret-named fields replaced by `***`. `~` in
 * the DAG, run or task position lists across them (within the caller's DAG grants).
 */
import { z } from '@hono/zod-openapi';
import { NotFound } from '../../../../../core/index.ts';
import type { JsonValue } from '../../../../../core/index.ts';
import { SecretMasker } from '../../../../../secrets/index.ts';
import { getXComEntry, listXComEntries, type XComEntryInfo } from '../../../../../store/index.ts';
import { onDag } from '../../access.ts';
import type { V2Deps } from '../../deps.ts';
import { intQuery, pageQuery } from '../../input.ts';
import { defineRoute } from '../../route.ts';
import { DagId, DagIdOrAll, pageOf, RunId, RunIdOrAll, TaskId } from '../../schemas/common.ts';
import { iso, visibleDagFilter } from './common.ts';
import { adminDeps } from './deps.ts';

const TAGS = ['XCom'];

const TaskIdOrAll = z
  .string()
  .regex(/^(~|[A-Za-z0-9_.-]{1,250})$/, 'must be ~ or 1-250 characters of A-Z a-z 0-9 _ . -')
  .openapi({ description: 'task id, or `~` for every task' });
const XComKeyParam = z
  .string()
  .regex(/^[^\p{Cc}]{1,512}$/u, 'must be 1-512 characters without control characters')
  .openapi({ description: 'XCom key', example: 'return_value' });
const MapIndexQuery = intQuery({ min: -1, max: 1_000_000, description: 'map index (-1: not mapped)' });

const XComEntrySchema = z
  .object({
    key: z.string(),
    dagId: z.string(),
    dagRunId: z.string(),
    taskId: z.string(),
    mapIndex: z.number().int(),
    timestamp: z.string().openapi({ format: 'date-time', description: 'when it was pushed' }),
    sizeBytes: z.number().int().openapi({ description: 'bytes of the stored JSON' }),
  })
  .openapi('XComEntry');
const XComEntryWithValueSchema = XComEntrySchema.extend({ value: z.unknown().openapi({ description: 'the JSON value, secrets masked as in task logs' }) }).openapi('XComEntryWithValue');

function entryView(e: XComEntryInfo): z.input<typeof XComEntrySchema> {
  return { key: e.key, dagId: e.dagId, dagRunId: e.runId, taskId: e.taskId, mapIndex: e.mapIndex, timestamp: iso(e.createdAt) ?? '', sizeBytes: e.sizeBytes };
}

/** A masker holding every secret this installation knows: what a task could have printed. */
async function installationMasker(d: V2Deps): Promise<SecretMasker> {
  const a = adminDeps(d);
  const masker = new SecretMasker();
  for (const s of a.serverSecrets) masker.add(s);
  for (const c of await a.connections.list()) masker.addConnection(c);
  for (const v of await a.variables.list()) masker.addVariable(v.key, v.value);
  return masker;
}

const TiPath = { dagId: DagIdOrAll, dagRunId: RunIdOrAll, taskId: TaskIdOrAll };

export const listXComEntriesRoute = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/xcomEntries',
  operationId: 'listXComEntries',
  tags: TAGS,
  summary: 'List XCom entries of a task instance',
  description: 'Entries with their sizes, in run, task, map index and key order; values are read one at a time with the get route. `~` for the DAG, run or task lists across them.',
  access: onDag('xcom', 'read'),
  params: TiPath,
  query: { ...pageQuery(), mapIndex: MapIndexQuery.optional(), xcomKey: z.string().min(1).max(512).optional().openapi({ description: 'only this key' }) },
  response: { schema: pageOf('xcomEntries', XComEntrySchema) },
  handler: async (c, { params: p, query: q }, d) => {
    const dagIds = p.dagId === '~' ? await visibleDagFilter(c, d.db) : undefined;
    const page = await listXComEntries(
      d.db,
      {
        ...(p.dagId === '~' ? {} : { dagId: p.dagId }),
        ...(dagIds === undefined ? {} : { dagIds }),
        ...(p.dagRunId === '~' ? {} : { runId: p.dagRunId }),
        ...(p.taskId === '~' ? {} : { taskId: p.taskId }),
        ...(q.mapIndex === undefined ? {} : { mapIndex: q.mapIndex }),
        ...(q.xcomKey === undefined ? {} : { key: q.xcomKey }),
      },
      q,
    );
    return { xcomEntries: page.items.map(entryView), totalEntries: page.total };
  },
});

export const getXComEntryRoute = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/xcomEntries/{xcomKey}',
  operationId: 'getXComEntry',
  tags: TAGS,
  summary: 'One XCom entry with its value',
  description: 'The value is masked as task logs are: secrets of stored connections and secret-named variables, the server’s own keys, and secret-named fields show as `***`.',
  access: onDag('xcom', 'read'),
  params: { dagId: DagId, dagRunId: RunId, taskId: TaskId, xcomKey: XComKeyParam },
  query: { mapIndex: MapIndexQuery.optional().transform((v) => v ?? -1) },
  response: { schema: XComEntryWithValueSchema },
  handler: async (_c, { params: p, query: q }, d) => {
    const entry = await getXComEntry(d.db, { dagId: p.dagId, runId: p.dagRunId, taskId: p.taskId, mapIndex: q.mapIndex, key: p.xcomKey });
    if (!entry) throw new NotFound(`task '${p.taskId}' (map index ${q.mapIndex}) of run '${p.dagRunId}' of DAG '${p.dagId}' has no XCom '${p.xcomKey}'`);
    const masker = await installationMasker(d);
    return { ...entryView(entry), value: masker.maskDeep(entry.value) as JsonValue };
  },
});

export const xcomRoutes = [listXComEntriesRoute, getXComEntryRoute];
