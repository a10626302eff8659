/** Rendered template fields kept per try (task_instance.rendered_fields holds the latest try's). */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('task_instance_try').addColumn('rendered_fields', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('task_instance_try').dropColumn('rendered_fields').execute();
}
