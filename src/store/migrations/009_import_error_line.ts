/** The line of the DAG file an import error points at, when the error says (a stack frame in that file). */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('import_error').addColumn('line', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('import_error').dropColumn('line').execute();
}
