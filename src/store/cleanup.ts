/**
 * `capstan db clean`: deletes metadata older than a cut-off so the database stays small (Airflow's `db clean`).
 * What it never touches: runs that have not finished, the newest run of every DAG (the scheduler and
 * `dependsOnPast` read it), DAGs, variables, connections, pools, users and tokens.
 *
 * Groups, each deleted in batches, one transaction per batch (a long clean does not hold the write lock):
 * - `dag_run`: finished runs (success, failed) that ended before the cut-off, with everything of theirs —
 *   task instances, tries (with their rendered fields), XComs, state history; backfills keep their dates and
 *   forget the run;
 * - `audit_log`: entries before the cut-off;
 * - `job`: ended processes (schedulers, triggerers…) whose last heartbeat is before the cut-off;
 * - `revoked_session`: revocations of tokens that have expired anyway (whatever the cut-off).
 *
 * @example
 * const counts = await cleanMetadata(db, { before: Date.now() - 90 * DAY, dryRun: true });
 * // [{ table: 'dag_run', rows: 120 }, { table: 'task_instance', rows: 2400 }, …]
 */
import { sql, type Kysely } from 'kysely';
import type { MetadataDb } from './db.ts';
import type { Database } from './schema.ts';

/** The groups `--tables` may name. */
export const CLEAN_GROUPS = ['dag_run', 'audit_log', 'job', 'revoked_session'] as const;
export type CleanGroup = (typeof CLEAN_GROUPS)[number];

export interface CleanOptions {
  /** Epoch ms: what ended (or was written) before this goes. */
  before: number;
  /** Groups to clean; default all. */
  groups?: readonly CleanGroup[];
  /** Count what would go, delete nothing. */
  dryRun?: boolean;
  /** Runs per batch (and transaction). Default 500. */
  batchSize?: number;
  /** Now, for expired revocations. Default Date.now(). */
  now?: number;
}

/** Rows deleted (or, in a dry run, that would be) per table, in deletion order. */
export interface CleanCount {
  table: string;
  rows: number;
}

type Db = Kysely<Database>;
type RunKey = { id: number; dag_id: string; run_id: string };

/** Tables keyed by (dag_id, run_id) that belong to a run. */
const RUN_CHILD_TABLES = ['task_instance_history', 'task_instance_try', 'task_instance'] as const;

export async function cleanMetadata(m: MetadataDb, o: CleanOptions): Promise<CleanCount[]> {
  const groups = new Set(o.groups ?? CLEAN_GROUPS);
  const counts = new Map<string, number>();
  const add = (table: string, rows: bigint | number | undefined) => counts.set(table, (counts.get(table) ?? 0) + Number(rows ?? 0));
  const batchSize = o.batchSize ?? 500;

  if (groups.has('dag_run')) {
    const runs = await oldRuns(m.db, o.before);
    for (let i = 0; i < runs.length; i += batchSize) {
      const batch = runs.slice(i, i + batchSize);
      if (o.dryRun) await countRunBatch(m.db, batch, add);
      else await m.db.transaction().execute((tx) => deleteRunBatch(tx, batch, add));
    }
    if (runs.length === 0) add('dag_run', 0);
  }
  if (groups.has('audit_log')) {
    const q = (db: Db) => db.selectFrom('audit_log').where('at', '<', o.before);
    add('audit_log', o.dryRun
      ? (await q(m.db).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst())?.n
      : (await m.db.deleteFrom('audit_log').where('at', '<', o.before).executeTakeFirst()).numDeletedRows);
  }
  if (groups.has('job')) {
    const ended = (db: Db) => db.selectFrom('job').where('end_date', 'is not', null).where('latest_heartbeat', '<', o.before);
    add('job', o.dryRun
      ? (await ended(m.db).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst())?.n
      : (await m.db.deleteFrom('job').where('end_date', 'is not', null).where('latest_heartbeat', '<', o.before).executeTakeFirst()).numDeletedRows);
  }
  if (groups.has('revoked_session')) {
    const now = o.now ?? Date.now();
    add('revoked_session', o.dryRun
      ? (await m.db.selectFrom('revoked_session').where('expires_at', '<', now).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst())?.n
      : (await m.db.deleteFrom('revoked_session').where('expires_at', '<', now).executeTakeFirst()).numDeletedRows);
  }
  return [...counts].map(([table, rows]) => ({ table, rows }));
}

/** Finished runs that ended before `before`, except each DAG's newest run. */
async function oldRuns(db: Db, before: number): Promise<RunKey[]> {
  const newest = db.selectFrom('dag_run').select((eb) => eb.fn.max('id').as('id')).groupBy('dag_id');
  return db
    .selectFrom('dag_run')
    .select(['id', 'dag_id', 'run_id'])
    .where('state', 'in', ['success', 'failed'])
    .where((eb) => eb(eb.fn.coalesce('end_date', 'created_at'), '<', before))
    .where('id', 'not in', newest)
    .orderBy('id')
    .execute();
}

/** `(dag_id, run_id) IN (VALUES …)`: the row-value form both SQLite and PostgreSQL accept. */
function ofRuns(batch: readonly RunKey[]) {
  return sql<boolean>`(dag_id, run_id) in (values ${sql.join(batch.map((r) => sql`(${r.dag_id}, ${r.run_id})`))})`;
}

async function countRunBatch(db: Db, batch: readonly RunKey[], add: (table: string, rows: number | undefined) => void): Promise<void> {
  const ids = batch.map((r) => r.id);
  for (const table of RUN_CHILD_TABLES) {
    const row = await db.selectFrom(table).where(ofRuns(batch)).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    add(table, row?.n);
  }
  add('xcom', (await db.selectFrom('xcom').where('dag_run_id', 'in', ids).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst())?.n);
  add('dag_run_history', (await db.selectFrom('dag_run_history').where('dag_run_id', 'in', ids).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst())?.n);
  add('dag_run', batch.length);
}

async function deleteRunBatch(tx: Db, batch: readonly RunKey[], add: (table: string, rows: bigint | undefined) => void): Promise<void> {
  const ids = batch.map((r) => r.id);
  for (const table of RUN_CHILD_TABLES) add(table, (await tx.deleteFrom(table).where(ofRuns(batch)).executeTakeFirst()).numDeletedRows);
  add('xcom', (await tx.deleteFrom('xcom').where('dag_run_id', 'in', ids).executeTakeFirst()).numDeletedRows);
  add('dag_run_history', (await tx.deleteFrom('dag_run_history').where('dag_run_id', 'in', ids).executeTakeFirst()).numDeletedRows);
  await tx.updateTable('backfill_dag_run').set({ dag_run_id: null }).where('dag_run_id', 'in', ids).execute();
  add('dag_run', (await tx.deleteFrom('dag_run').where('id', 'in', ids).executeTakeFirst()).numDeletedRows);
}
