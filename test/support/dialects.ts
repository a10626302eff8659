/**
 * Runs one behaviour suite on both metadata databases. `forEachDialect('variables', (t) => { ... })`
 * declares `variables [sqlite]` and `variables [postgres]`; inside, `t.db` is a freshly migrated database
 * of that dialect, private to the suite (a temp SQLite file, or a new database on the test PostgreSQL
 * server from `postgres.ts`). The server is stopped after the file's last test.
 */
import { after, before, describe } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMetadataDb, type MetadataDb } from '../../src/store/db.ts';
import type { DialectName } from '../../src/store/dialect.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { createTestDatabase, stopPostgres } from './postgres.ts';

/** What a suite body sees. `db` is only valid inside tests and hooks (it is opened in `before`). */
export interface DialectSuite {
  readonly dialect: DialectName;
  readonly db: MetadataDb;
}

/** Both dialects, in the order suites run. */
export const DIALECTS: readonly DialectName[] = ['sqlite', 'postgres'];

/**
 * A freshly migrated database of one dialect and a function that closes and deletes it. Outside
 * {@link forEachDialect}, a caller that opens a PostgreSQL one also calls `stopPostgres()` when done.
 */
export async function openFreshDb(dialect: DialectName): Promise<{ db: MetadataDb; dispose: () => Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'capstan-sqlite-'));
    const db = openMetadataDb(`sqlite://${join(dir, 'capstan.db')}`);
    await migrateToLatest(db);
    return {
      db,
      dispose: async () => {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const database = await createTestDatabase();
  const db = openMetadataDb(database.url, { poolSize: 4 });
  await migrateToLatest(db);
  return {
    db,
    dispose: async () => {
      await db.close();
      await database.drop();
    },
  };
}

let stopRegistered = false;

/** Stop this process's PostgreSQL server after the file's last test (a root-level `after`). */
function registerServerStop(): void {
  if (stopRegistered) return;
  stopRegistered = true;
  after(() => stopPostgres());
}

/** Declare `fn`'s tests once per dialect, each against its own migrated database. */
export function forEachDialect(name: string, fn: (suite: DialectSuite) => void): void {
  // Registered here, at the file's top level, so the hook belongs to the root test and runs last.
  registerServerStop();
  for (const dialect of DIALECTS) {
    void describe(`${name} [${dialect}]`, () => {
      let current: MetadataDb | undefined;
      let dispose: (() => Promise<void>) | undefined;
      before(async () => {
        const fresh = await openFreshDb(dialect);
        current = fresh.db;
        dispose = fresh.dispose;
      });
      after(async () => {
        await dispose?.();
      });
      fn({
        dialect,
        get db(): MetadataDb {
          if (!current) throw new Error('suite database is opened in before(); use t.db inside tests and hooks');
          return current;
        },
      });
    });
  }
}
