/** Which scheduler queued a task instance, so only a dead scheduler's work is adopted by another. */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('task_instance').addColumn('queued_by_job_id', 'varchar(64)').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('task_instance').dropColumn('queued_by_job_id').execute();
}
