/**
 * Opens the metadata database from a URL: `sqlite:///abs/path/capstan.db`, `sqlite::memory:`, or
 * `postgresql://user:password@host:5432/dbname`. Both go through Kysely so every query is written once.
 */
import { CompiledQuery, Kysely, sql, PostgresDialect, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDialectConfig } from 'kysely';
import type pg from 'pg';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { InvalidArgument } from '../core/index.ts';
import type { DialectName } from './dialect.ts';
import { openNodeSqlite } from './nodeSqlite.ts';
import type { Database } from './schema.ts';

/** An open metadata database and which dialect it speaks. */
export interface MetadataDb {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  readonly url: string;
  close(): Promise<void>;
}

let pgModule: typeof pg | undefined;

/**
 * The `pg` driver, loaded on first use: a SQLite process (standalone, the CLI on a SQLite home) never loads it.
 * Synchronous (`require`, pg is CommonJS) because opening a database is.
 */
export function loadPg(): typeof pg {
  if (pgModule === undefined) {
    pgModule = createRequire(import.meta.url)('pg') as typeof pg;
    // BIGINT columns hold epoch milliseconds, well inside Number's safe range; parse them as numbers.
    pgModule.types.setTypeParser(20, (v) => Number(v));
  }
  return pgModule;
}

export interface OpenOptions {
  /** Largest PostgreSQL pool size. Default 10. */
  poolSize?: number;
}

/** Parse the URL and open the database. No query runs until first use. */
export function openMetadataDb(url: string, options: OpenOptions = {}): MetadataDb {
  if (url.startsWith('sqlite:')) {
    const path = sqlitePath(url);
    if (path !== ':memory:') makePrivateSqliteFile(path);
    const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: openNodeSqlite(path) }) });
    return { db, dialect: 'sqlite', url, close: () => db.destroy() };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pool = new (loadPg().Pool)({ connectionString: url, max: options.poolSize ?? 10 });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', url, close: () => db.destroy() };
  }
  throw new InvalidArgument(
    `database.url: '${redactUrl(url)}' is neither a sqlite: nor a postgresql:// URL`,
    "use sqlite:///absolute/path/capstan.db or postgresql://user:password@host:5432/dbname",
  );
}

/**
 * The SQLite file is this user's alone (0600, its folder 0700 when created here), whatever the mode of the
 * folder it sits in: it holds encrypted secrets, hashed passwords and every run's data. SQLite gives the
 * -wal and -shm files it creates the database file's mode; existing ones are narrowed too.
 */
function makePrivateSqliteFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      chmodSync(file, 0o600);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EPERM') throw err; // absent, or another user's file we only read
    }
  }
}

/**
 * SQLite transactions take the write lock when they begin (`BEGIN IMMEDIATE`). A deferred transaction
 * that reads and then writes fails at once with "database is locked" when another process committed in
 * between (the busy timeout cannot help: its snapshot is stale); taking the lock first makes concurrent
 * writers — a scheduler and CLI commands, or two CLI commands — wait their turn instead.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

function sqlitePath(url: string): string {
  if (url === 'sqlite::memory:' || url === 'sqlite://:memory:') return ':memory:';
  const match = /^sqlite:\/\/(\/.*)$/.exec(url);
  if (!match?.[1]) {
    throw new InvalidArgument(`database.url: '${url}' has no absolute path`, 'write it as sqlite:///absolute/path/capstan.db');
  }
  return match[1];
}

/**
 * Run `fn` in one transaction (SQLite: `BEGIN IMMEDIATE`) with a handle on it: commits when `fn`
 * resolves, rolls back when it throws. Every store function given the handle runs inside it.
 *
 * @example
 * await inTransaction(m, async (tx) => { await lockDagRows(tx, ids); await startRuns(tx); });
 */
export async function inTransaction<T>(m: MetadataDb, fn: (tx: MetadataDb) => Promise<T>): Promise<T> {
  return m.db.transaction().execute((tx) => fn({ ...m, db: tx }));
}

/** Resolves when the database answers a trivial query (`select 1`); rejects with the driver's error otherwise. */
export async function pingDatabase(m: MetadataDb): Promise<void> {
  await sql`select 1`.execute(m.db);
}

/** The URL with any password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}
