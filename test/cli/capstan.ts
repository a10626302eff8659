/**
 * Runs the real `capstan` CLI in child processes against a private home and a fresh metadata database of
 * either dialect. `forEachCliDialect` declares a suite per dialect; inside, `t.run([...])` runs one command.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openMetadataDb, type MetadataDb } from '../../src/store/db.ts';
import type { DialectName } from '../../src/store/dialect.ts';
import { DIALECTS } from '../support/dialects.ts';
import { createTestDatabase, stopPostgres } from '../support/postgres.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliSuite {
  readonly dialect: DialectName;
  /** The home folder the CLI runs with (holds the generated Fernet key). */
  readonly home: string;
  /** Run `capstan <args>` and collect its exit code and output; `stdin` is written to its input. */
  run(args: string[], options?: { stdin?: string }): Promise<CliResult>;
  /** The same metadata DB the CLI uses, for checking what it wrote. */
  readonly db: MetadataDb;
}

/** Run `capstan` with `home` and `databaseUrl`, `extraEnv`, and none of the caller's other Capstan variables. */
export function runCapstan(args: string[], home: string, databaseUrl: string, stdin?: string, extraEnv: Record<string, string> = {}): Promise<CliResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CAPSTAN')));
  const env = { ...base, CAPSTAN_HOME: home, CAPSTAN__DATABASE__URL: databaseUrl, ...extraEnv };
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [MAIN, ...args], { env }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end(stdin ?? '');
  });
}

/** Declare `fn`'s tests once per dialect, each with its own home and a migrated database. */
export function forEachCliDialect(name: string, fn: (t: CliSuite) => void): void {
  after(() => stopPostgres());
  for (const dialect of DIALECTS) {
    void describe(`${name} [${dialect}]`, () => {
      let home = '';
      let url = '';
      let db: MetadataDb | undefined;
      let drop: () => Promise<void> = async () => {};
      before(async () => {
        home = mkdtempSync(join(tmpdir(), 'capstan-cli-'));
        if (dialect === 'sqlite') {
          url = `sqlite://${join(home, 'capstan.db')}`;
        } else {
          const database = await createTestDatabase();
          url = database.url;
          drop = database.drop;
        }
        const migrated = await runCapstan(['db', 'migrate'], home, url);
        if (migrated.code !== 0) throw new Error(`db migrate failed: ${migrated.stderr}`);
        db = openMetadataDb(url, { poolSize: 2 });
      });
      after(async () => {
        await db?.close();
        await drop();
        rmSync(home, { recursive: true, force: true });
      });
      fn({
        dialect,
        get home() {
          return home;
        },
        get db(): MetadataDb {
          if (!db) throw new Error('the suite database is opened in before()');
          return db;
        },
        run: (args, options = {}) => runCapstan(args, home, url, options.stdin),
      });
    });
  }
}
