/**
 * A backfill can be paused (its queued runs wait; running ones finish) and cancelled (paused for good,
 * its queued runs failed, `completed_at` set), as in Airflow 3's `backfill.is_paused`.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('backfill').addColumn('is_paused', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('backfill').dropColumn('is_paused').execute();
}
