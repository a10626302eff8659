/**
 * Task-instance notes (Airflow 3's `task_instance_note`): a user's note on a task instance, with who set it
 * and when. It belongs to the instance, not to one try, so it survives clears and retries (Airflow keeps
 * its note across tries by design). Columns on `task_instance` rather than a table of their own: every
 * task-instance view carries the note, and no list needs a join for it. Existing rows get no note.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('task_instance').addColumn('note', 'text').execute();
  await db.schema.alterTable('task_instance').addColumn('note_updated_by', 'varchar(300)').execute();
  await db.schema.alterTable('task_instance').addColumn('note_updated_at', 'bigint').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('task_instance').dropColumn('note_updated_at').execute();
  await db.schema.alterTable('task_instance').dropColumn('note_updated_by').execute();
  await db.schema.alterTable('task_instance').dropColumn('note').execute();
}
