/**
 * `dag_run.callback_state`: whether the run's DAG-level callback is due (`pending`), being run
 * (`running`), or ran (`done` / `failed`); null when there is none. Set once when the run ends and never
 * reset, so a callback runs at most once per run even across scheduler restarts.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('dag_run').addColumn('callback_state', 'varchar(16)').execute();
  await db.schema.createIndex('dag_run_callback_state').on('dag_run').column('callback_state').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('dag_run_callback_state').execute();
  await db.schema.alterTable('dag_run').dropColumn('callback_state').execute();
}
