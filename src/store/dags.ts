/**
 * DAGs and their serialized form: written by the DAG processor, read by the scheduler and the API.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { CapstanError, NotFound, SERIALIZED_DAG_VERSION, type SerializedDag } from '../core/index.ts';
import type { MetadataDb } from './db.ts';
import type { DagRow } from './schema.ts';

/** The hash of a DAG's stored serialized form (to tell whether a cached copy is current); undefined when none is stored. */
export async function serializedDagHash(m: MetadataDb, dagId: string): Promise<string | undefined> {
  const row = await m.db.selectFrom('serialized_dag').select('hash').where('dag_id', '=', dagId).executeTakeFirst();
  return row?.hash;
}

/**
 * Hold these DAGs' rows until the transaction `tx` ends (PostgreSQL `FOR UPDATE`, in `dag_id` order so two
 * lockers cannot deadlock): the scheduler counts and starts runs under maxActiveRuns while holding them.
 * Call it inside `inTransaction` (./db.ts); PostgreSQL only (SQLite's single writer already serializes).
 */
export async function lockDagRows(tx: MetadataDb, dagIds: readonly string[]): Promise<void> {
  await tx.db.selectFrom('dag').select('dag_id').where('dag_id', 'in', [...dagIds]).orderBy('dag_id').forUpdate().execute();
}

/** Store a parsed DAG; returns true when its serialized form changed. */
export async function upsertSerializedDag(m: MetadataDb, s: SerializedDag, now: number): Promise<boolean> {
  const data = JSON.stringify(s);
  const hash = createHash('sha256').update(data).digest('hex');
  return m.db.transaction().execute(async (tx) => {
    const existing = await tx.selectFrom('dag').select(['dag_id', 'is_paused']).where('dag_id', '=', s.dagId).executeTakeFirst();
    const dagFields = {
      fileloc: s.fileloc,
      is_active: 1,
      description: s.description,
      owner: s.owner,
      tags: JSON.stringify(s.tags),
      access_control: JSON.stringify(s.accessControl ?? {}),
      schedule_text: s.scheduleText,
      max_active_runs: s.maxActiveRuns,
      max_active_tasks: s.maxActiveTasks,
      last_parsed_at: now,
    };
    if (existing) {
      await tx.updateTable('dag').set(dagFields).where('dag_id', '=', s.dagId).execute();
    } else {
      await tx
        .insertInto('dag')
        .values({ dag_id: s.dagId, is_paused: s.isPausedUponCreation ? 1 : 0, next_interval_start: null, next_interval_end: null, ...dagFields })
        .execute();
    }
    const prev = await tx.selectFrom('serialized_dag').select('hash').where('dag_id', '=', s.dagId).executeTakeFirst();
    if (prev?.hash === hash) return false;
    if (prev) {
      await tx.updateTable('serialized_dag').set({ data, hash, fileloc: s.fileloc, updated_at: now }).where('dag_id', '=', s.dagId).execute();
    } else {
      await tx.insertInto('serialized_dag').values({ dag_id: s.dagId, fileloc: s.fileloc, data, hash, updated_at: now }).execute();
    }
    return true;
  });
}

/** Mark DAGs of `fileloc` not in `keep` as inactive (file changed or deleted). */
export async function deactivateDagsOfFile(m: MetadataDb, fileloc: string, keep: string[]): Promise<string[]> {
  let q = m.db.selectFrom('dag').select('dag_id').where('fileloc', '=', fileloc).where('is_active', '=', 1);
  if (keep.length > 0) q = q.where('dag_id', 'not in', keep);
  const gone = (await q.execute()).map((r) => r.dag_id);
  if (gone.length > 0) await m.db.updateTable('dag').set({ is_active: 0 }).where('dag_id', 'in', gone).execute();
  return gone;
}

export async function getSerializedDag(m: MetadataDb, dagId: string): Promise<SerializedDag> {
  const row = await m.db.selectFrom('serialized_dag').select('data').where('dag_id', '=', dagId).executeTakeFirst();
  if (!row) throw new NotFound(`DAG '${dagId}' is not known`, 'check the id with `capstan dags list`, or its file with `capstan dags list-import-errors`');
  const parsed = JSON.parse(row.data) as SerializedDag;
  if (parsed.version !== SERIALIZED_DAG_VERSION) {
    throw new CapstanError('db_error', `DAG '${dagId}' was serialized in format ${String(parsed.version)}, this Capstan reads ${SERIALIZED_DAG_VERSION}`, {
      hint: 'let the DAG processor re-parse the file',
    });
  }
  return parsed;
}

export async function getDag(m: MetadataDb, dagId: string): Promise<DagRow> {
  const row = await m.db.selectFrom('dag').selectAll().where('dag_id', '=', dagId).executeTakeFirst();
  if (!row) throw new NotFound(`DAG '${dagId}' is not known`, 'check the id with `capstan dags list`');
  return row;
}

/** Which DAGs a listing covers: active ones unless `includeInactive`, only `dagIds` when given. */
export interface DagFilter {
  includeInactive?: boolean;
  dagIds?: readonly string[];
}

export async function listDags(m: MetadataDb, options: DagFilter & { limit?: number; offset?: number } = {}): Promise<DagRow[]> {
  let q = m.db.selectFrom('dag').selectAll().orderBy('dag_id');
  if (!options.includeInactive) q = q.where('is_active', '=', 1);
  if (options.dagIds) q = options.dagIds.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where('dag_id', 'in', [...options.dagIds]);
  if (options.limit !== undefined) q = q.limit(options.limit).offset(options.offset ?? 0);
  return q.execute();
}

/** How many DAGs {@link listDags} would list without a limit. */
export async function countDags(m: MetadataDb, options: DagFilter = {}): Promise<number> {
  let q = m.db.selectFrom('dag').select((eb) => eb.fn.countAll<number>().as('n'));
  if (!options.includeInactive) q = q.where('is_active', '=', 1);
  if (options.dagIds) q = options.dagIds.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where('dag_id', 'in', [...options.dagIds]);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

export async function setPaused(m: MetadataDb, dagId: string, paused: boolean): Promise<void> {
  const r = await m.db.updateTable('dag').set({ is_paused: paused ? 1 : 0 }).where('dag_id', '=', dagId).executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) throw new NotFound(`DAG '${dagId}' is not known`, 'check the id with `capstan dags list`');
}

/** Active, unpaused DAGs whose schedule may produce runs, with their serialized form. */
export async function schedulableDags(m: MetadataDb): Promise<Array<{ dag: DagRow; serialized: SerializedDag }>> {
  const rows = await m.db
    .selectFrom('dag')
    .innerJoin('serialized_dag', 'serialized_dag.dag_id', 'dag.dag_id')
    .selectAll('dag')
    .select('serialized_dag.data')
    .where('dag.is_active', '=', 1)
    .where('dag.is_paused', '=', 0)
    .execute();
  return rows.map(({ data, ...dag }) => ({ dag, serialized: JSON.parse(data) as SerializedDag }));
}

export async function setNextInterval(m: MetadataDb, dagId: string, next: { start: number; end: number } | null): Promise<void> {
  await m.db
    .updateTable('dag')
    .set({ next_interval_start: next?.start ?? null, next_interval_end: next?.end ?? null })
    .where('dag_id', '=', dagId)
    .execute();
}

/** Known files and their last parse, for change detection. */
export async function listDagFiles(m: MetadataDb): Promise<Map<string, { mtimeMs: number; hash: string }>> {
  const rows = await m.db.selectFrom('dag_file').selectAll().execute();
  return new Map(rows.map((r) => [r.fileloc, { mtimeMs: r.mtime_ms, hash: r.content_hash }]));
}

export async function recordDagFile(m: MetadataDb, f: { fileloc: string; mtimeMs: number; hash: string; parsedAt: number; durationMs: number }): Promise<void> {
  const values = { mtime_ms: f.mtimeMs, content_hash: f.hash, last_parsed_at: f.parsedAt, parse_duration_ms: Math.round(f.durationMs) };
  await m.db
    .insertInto('dag_file')
    .values({ fileloc: f.fileloc, ...values })
    .onConflict((oc) => oc.column('fileloc').doUpdateSet(values))
    .execute();
}

export async function forgetDagFile(m: MetadataDb, fileloc: string): Promise<void> {
  await m.db.deleteFrom('dag_file').where('fileloc', '=', fileloc).execute();
}

/** The DAG processor's last parse of a file (when and how long), undefined when it never parsed it. */
export async function getDagFileParse(m: MetadataDb, fileloc: string): Promise<{ lastParsedAt: number; durationMs: number } | undefined> {
  const row = await m.db.selectFrom('dag_file').select(['last_parsed_at', 'parse_duration_ms']).where('fileloc', '=', fileloc).executeTakeFirst();
  return row ? { lastParsedAt: row.last_parsed_at, durationMs: row.parse_duration_ms } : undefined;
}
