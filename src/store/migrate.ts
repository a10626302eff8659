/**
 * Schema migration: idempotent `migrate`, `check` (is the schema current?), and `reset`. Kysely's
 * Migrator serializes concurrent migrators with a lock table and refuses a database that has migrations
 * this code does not know (a newer schema), which we report as `db_schema_newer`.
 */
import { Migrator, NO_MIGRATIONS, sql } from 'kysely';
import { CapstanError } from '../core/index.ts';
import type { MetadataDb } from './db.ts';
import { LATEST_MIGRATION, migrationProvider } from './migrations/index.ts';
import { DEFAULT_POOL } from './pools.ts';

/** The migration that creates the schema and seeds default_pool. */
const FIRST_MIGRATION = '001_initial';

export interface MigrationStatus {
  applied: string[];
  pending: string[];
  latest: string;
}

function migrator(m: MetadataDb): Migrator {
  return new Migrator({ db: m.db, provider: migrationProvider(m.dialect), migrationTableName: 'capstan_migration', migrationLockTableName: 'capstan_migration_lock' });
}

/** Settings that apply when the schema is first created (`core.defaultPoolSlots`). */
export interface InitialSettings {
  /** Slots of `default_pool` when this migration run creates it (later changes go through `pools set`). */
  defaultPoolSlots?: number;
}

/**
 * Apply every pending migration. Safe to run repeatedly and concurrently. When this call creates the
 * schema, `initial` settings are applied to the rows it seeds (as Airflow sizes default_pool from
 * its config at `db migrate` time); an existing database keeps its pools.
 */
export async function migrateToLatest(m: MetadataDb, initial: InitialSettings = {}): Promise<string[]> {
  const { error, results } = await migrator(m).migrateToLatest();
  if (error) throw translate(error);
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  if (applied.includes(FIRST_MIGRATION) && initial.defaultPoolSlots !== undefined) {
    await m.db.updateTable('pool').set({ slots: initial.defaultPoolSlots }).where('name', '=', DEFAULT_POOL).execute();
  }
  return applied;
}

export async function migrationStatus(m: MetadataDb): Promise<MigrationStatus> {
  const all = await migrator(m).getMigrations();
  return {
    applied: all.filter((x) => x.executedAt !== undefined).map((x) => x.name),
    pending: all.filter((x) => x.executedAt === undefined).map((x) => x.name),
    latest: LATEST_MIGRATION,
  };
}

/** Throw unless the schema is exactly what this code expects. */
export async function assertSchemaCurrent(m: MetadataDb): Promise<void> {
  let status: MigrationStatus;
  try {
    status = await migrationStatus(m);
  } catch (err) {
    throw translate(err);
  }
  if (status.pending.length > 0) {
    throw new CapstanError('db_error', `the metadata database is missing migrations: ${status.pending.join(', ')}`, {
      hint: 'run `capstan db migrate`',
    });
  }
}

/** Drop every table (data included) and migrate again. */
export async function resetDatabase(m: MetadataDb, initial: InitialSettings = {}): Promise<void> {
  const { error } = await migrator(m).migrateTo(NO_MIGRATIONS);
  if (error) throw translate(error);
  await sql`drop table if exists capstan_migration`.execute(m.db);
  await sql`drop table if exists capstan_migration_lock`.execute(m.db);
  await migrateToLatest(m, initial);
}

function translate(err: unknown): CapstanError {
  const message = err instanceof Error ? err.message : String(err);
  if (/corrupted migrations|previously executed migration .* is missing/i.test(message)) {
    return new CapstanError('db_schema_newer', `the metadata database was migrated by a newer Capstan: ${message}`, {
      hint: 'upgrade Capstan, or point database.url at a database of this version',
    });
  }
  return new CapstanError('db_error', `database migration failed: ${message}`, { cause: err });
}
