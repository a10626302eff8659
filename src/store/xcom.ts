/**
 * XCom: small JSON values a task pushes for others in the same run. Values are stored as JSON text and
 * limited in size (`core.xcomMaxBytes`) so the metadata DB stays a database, not a blob store.
 */
import { sql } from 'kysely';
import { CapstanError } from '../core/index.ts';
import type { JsonValue } from '../core/index.ts';
import type { MetadataDb } from './db.ts';
import type { Page, PageRequest } from './listPage.ts';

export const RETURN_VALUE_KEY = 'return_value';

export interface XComIdentity {
  dagRunId: number;
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
}

/** Serialize and size-check a value; throws `xcom_too_large` naming the task and key. */
export function encodeXCom(id: Pick<XComIdentity, 'taskId'>, key: string, value: JsonValue, maxBytes: number): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new CapstanError('invalid_argument', `XCom '${key}' of task '${id.taskId}' is not JSON-serializable`);
  const bytes = Buffer.byteLength(text);
  if (bytes > maxBytes) {
    throw new CapstanError('xcom_too_large', `XCom '${key}' of task '${id.taskId}' is ${bytes} bytes; the limit is ${maxBytes} bytes (core.xcomMaxBytes)`, {
      hint: 'store large data in object storage and pass its location, or raise core.xcomMaxBytes',
    });
  }
  return text;
}

export async function pushXCom(m: MetadataDb, id: XComIdentity, key: string, encoded: string, now: number): Promise<void> {
  await m.db
    .insertInto('xcom')
    .values({ dag_run_id: id.dagRunId, task_id: id.taskId, map_index: id.mapIndex, key, dag_id: id.dagId, run_id: id.runId, value: encoded, created_at: now })
    .onConflict((oc) => oc.columns(['dag_run_id', 'task_id', 'map_index', 'key']).doUpdateSet({ value: encoded, created_at: now }))
    .execute();
}

/** The value, or undefined when nothing was pushed. */
export async function pullXCom(m: MetadataDb, dagRunId: number, taskId: string, key: string, mapIndex = -1): Promise<JsonValue | undefined> {
  const row = await m.db
    .selectFrom('xcom')
    .select('value')
    .where('dag_run_id', '=', dagRunId)
    .where('task_id', '=', taskId)
    .where('map_index', '=', mapIndex)
    .where('key', '=', key)
    .executeTakeFirst();
  return row ? (JSON.parse(row.value) as JsonValue) : undefined;
}

/**
 * The values a mapped task's map indexes pushed under `key`, in map-index order (indexes that pushed
 * nothing are left out, as in Airflow's lazy sequence of a mapped task's results).
 */
export async function pullMappedXComs(m: MetadataDb, dagRunId: number, taskId: string, key: string): Promise<JsonValue[]> {
  const rows = await m.db
    .selectFrom('xcom')
    .select('value')
    .where('dag_run_id', '=', dagRunId)
    .where('task_id', '=', taskId)
    .where('map_index', '>=', 0)
    .where('key', '=', key)
    .orderBy('map_index')
    .execute();
  return rows.map((r) => JSON.parse(r.value) as JsonValue);
}

/** A new try starts clean: drop what earlier tries of this task instance pushed. */
export async function clearXComs(m: MetadataDb, dagRunId: number, taskId: string, mapIndex: number): Promise<void> {
  await m.db.deleteFrom('xcom').where('dag_run_id', '=', dagRunId).where('task_id', '=', taskId).where('map_index', '=', mapIndex).execute();
}

/** Drop the XComs of a mapped task's indexes from `fromMapIndex` up (they left its expansion). */
export async function clearMappedXComsFrom(m: MetadataDb, dagRunId: number, taskId: string, fromMapIndex: number): Promise<void> {
  await m.db.deleteFrom('xcom').where('dag_run_id', '=', dagRunId).where('task_id', '=', taskId).where('map_index', '>=', fromMapIndex).execute();
}

export async function listXComs(m: MetadataDb, filter: { dagId: string; runId?: string; taskId?: string }): Promise<Array<{ runId: string; taskId: string; mapIndex: number; key: string; value: JsonValue }>> {
  let q = m.db.selectFrom('xcom').selectAll().where('dag_id', '=', filter.dagId).orderBy('dag_run_id').orderBy('task_id').orderBy('key');
  if (filter.runId) q = q.where('run_id', '=', filter.runId);
  if (filter.taskId) q = q.where('task_id', '=', filter.taskId);
  const rows = await q.execute();
  return rows.map((r) => ({ runId: r.run_id, taskId: r.task_id, mapIndex: r.map_index, key: r.key, value: JSON.parse(r.value) as JsonValue }));
}

/** One stored XCom without its value: where it came from, its key and how big it is. */
export interface XComEntryInfo {
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
  key: string;
  /** Bytes of the stored JSON text. */
  sizeBytes: number;
  /** Epoch ms of the push. */
  createdAt: number;
}

/** Which XComs to list: one DAG's (or those of `dagIds`, or every DAG's), optionally of one run, task, map index or key. */
export interface XComEntryFilter {
  dagId?: string;
  /** Entries of these DAGs only (a principal limited to some DAGs). */
  dagIds?: readonly string[];
  runId?: string;
  taskId?: string;
  mapIndex?: number;
  key?: string;
}

/**
 * One page of XCom entries (without values) in run, task, map index and key order, with how many matched.
 * Sizes come from the database, so a list never reads the values themselves.
 */
export async function listXComEntries(m: MetadataDb, filter: XComEntryFilter, page: PageRequest): Promise<Page<XComEntryInfo>> {
  let base = m.db.selectFrom('xcom');
  if (filter.dagId !== undefined) base = base.where('dag_id', '=', filter.dagId);
  if (filter.dagIds !== undefined) base = filter.dagIds.length === 0 ? base.where(sql<boolean>`1 = 0`) : base.where('dag_id', 'in', [...filter.dagIds]);
  if (filter.runId !== undefined) base = base.where('run_id', '=', filter.runId);
  if (filter.taskId !== undefined) base = base.where('task_id', '=', filter.taskId);
  if (filter.mapIndex !== undefined) base = base.where('map_index', '=', filter.mapIndex);
  if (filter.key !== undefined) base = base.where('key', '=', filter.key);
  const size = m.dialect === 'postgres' ? sql<number>`octet_length(value)` : sql<number>`length(cast(value as blob))`;
  const [rows, count] = await Promise.all([
    base
      .select(['dag_id', 'run_id', 'task_id', 'map_index', 'key', 'created_at', size.as('size')])
      .orderBy('dag_run_id')
      .orderBy('task_id')
      .orderBy('map_index')
      .orderBy('key')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return {
    items: rows.map((r) => ({ dagId: r.dag_id, runId: r.run_id, taskId: r.task_id, mapIndex: r.map_index, key: r.key, sizeBytes: Number(r.size), createdAt: Number(r.created_at) })),
    total: Number(count.n),
  };
}

/** One XCom entry with its value, or undefined. */
export async function getXComEntry(m: MetadataDb, id: { dagId: string; runId: string; taskId: string; mapIndex: number; key: string }): Promise<(XComEntryInfo & { value: JsonValue }) | undefined> {
  const row = await m.db
    .selectFrom('xcom')
    .selectAll()
    .where('dag_id', '=', id.dagId)
    .where('run_id', '=', id.runId)
    .where('task_id', '=', id.taskId)
    .where('map_index', '=', id.mapIndex)
    .where('key', '=', id.key)
    .executeTakeFirst();
  if (!row) return undefined;
  return { dagId: row.dag_id, runId: row.run_id, taskId: row.task_id, mapIndex: row.map_index, key: row.key, sizeBytes: Buffer.byteLength(row.value), createdAt: Number(row.created_at), value: JSON.parse(row.value) as JsonValue };
}
