/**
 * Deferral and rescheduling.
 *
 * - `trigger`: one row per deferred task's trigger — its classpath and JSON kwargs (what the triggerer
 *   needs to rebuild it), and the triggerer job that runs it (`triggerer_id`, null while unclaimed).
 *   `task_instance.trigger_id` (from 001) points here.
 * - `task_instance.continue_try`: 1 when the next queueing continues the current try (resumed after a
 *   deferral, or a sensor rescheduled) instead of starting a new one; the try number stays, as in Airflow.
 * - `task_instance.reschedule_count`: reschedules within the current try (a sensor's poke count, for
 *   exponential backoff).
 */
import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.ts';

export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const pg = dialect === 'postgres';
  let table = db.schema.createTable('trigger');
  table = pg ? table.addColumn('id', 'bigserial', (c) => c.primaryKey()) : table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  await table
    .addColumn('classpath', 'varchar(1000)', (c) => c.notNull())
    .addColumn('kwargs', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('triggerer_id', 'varchar(64)')
    .execute();
  await db.schema.createIndex('trigger_triggerer_idx').on('trigger').column('triggerer_id').execute();
  await db.schema.createIndex('ti_trigger_idx').on('task_instance').column('trigger_id').execute();
  await db.schema.alterTable('task_instance').addColumn('continue_try', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('task_instance').addColumn('reschedule_count', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('task_instance').dropColumn('reschedule_count').execute();
  await db.schema.alterTable('task_instance').dropColumn('continue_try').execute();
  await db.schema.dropIndex('ti_trigger_idx').execute();
  await db.schema.dropTable('trigger').execute();
}
