/**
 * Backfills (Airflow 3's `backfill` and `backfill_dag_run`): one row per backfill request with its
 * range, reprocess behaviour and own max-active-runs, and one row per logical date of the range saying
 * which run serves it, or why none was created (a run already existed or was in flight).
 */
import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.ts';

export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const pg = dialect === 'postgres';
  let backfill = db.schema.createTable('backfill');
  backfill = pg ? backfill.addColumn('id', 'bigserial', (c) => c.primaryKey()) : backfill.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  await backfill
    .addColumn('dag_id', 'varchar(250)', (c) => c.notNull())
    .addColumn('from_date', 'bigint', (c) => c.notNull())
    .addColumn('to_date', 'bigint', (c) => c.notNull())
    .addColumn('reprocess_behavior', 'varchar(16)', (c) => c.notNull())
    .addColumn('max_active_runs', 'integer', (c) => c.notNull())
    .addColumn('dag_run_conf', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('completed_at', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('backfill_dag_idx').on('backfill').columns(['dag_id', 'completed_at']).execute();

  await db.schema
    .createTable('backfill_dag_run')
    .addColumn('backfill_id', 'bigint', (c) => c.notNull().references('backfill.id').onDelete('cascade'))
    .addColumn('logical_date', 'bigint', (c) => c.notNull())
    .addColumn('dag_run_id', 'bigint')
    .addColumn('exception_reason', 'varchar(32)')
    .addColumn('sort_ordinal', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('backfill_dag_run_pkey', ['backfill_id', 'logical_date'])
    .execute();
  await db.schema.createIndex('backfill_dag_run_run_idx').on('backfill_dag_run').column('dag_run_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('backfill_dag_run').execute();
  await db.schema.dropTable('backfill').execute();
}
