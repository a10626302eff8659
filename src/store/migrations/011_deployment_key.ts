/**
 * `deployment_key`: a fingerprint of each key every component sharing this database must also share
 * (`api.secretKey`, `core.fernetKey`), recorded by the first component to start (src/app/deploymentChecks.ts).
 * Only an HMAC of a fixed text under the key is stored, never the key.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('deployment_key')
    .addColumn('name', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('fingerprint', 'varchar(64)', (c) => c.notNull())
    .addColumn('recorded_by', 'varchar(300)', (c) => c.notNull())
    .addColumn('recorded_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('deployment_key').execute();
}
