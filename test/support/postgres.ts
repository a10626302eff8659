/**
 * A real PostgreSQL server for tests.
 *
 * By default each test process starts its own throwaway server: `initdb` into a temp dir, `postgres` on a
 * free loopback port with its unix socket inside that dir, fsync off. As root the server runs as the
 * `postgres` system user (PostgreSQL refuses to run as root), so the temp dir is handed to that user.
 * Every suite gets its own database from {@link createTestDatabase}; {@link stopPostgres} shuts the server
 * down and removes the dir. A process `exit` hook kills a server that was never stopped, so a crashed
 * test file leaves no postmaster behind.
 *
 * When `CAPSTAN_TEST_PG_URL` is set (a `postgresql://` URL of a role allowed to CREATE DATABASE), that
 * server is used instead and only the per-suite databases are created and dropped.
 *
 * Binaries are looked up on PATH, then in Debian's `/usr/lib/postgresql/<version>/bin`;
 * `scripts/ci-postgres.sh` installs them when neither has `initdb`.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from './roles.ts';

/** A running server (ours or the one named by `CAPSTAN_TEST_PG_URL`). */
export interface PostgresServer {
  /** URL of the `postgres` maintenance database, used to create and drop test databases. */
  readonly adminUrl: string;
  /** True when this process started the server (and must stop it). */
  readonly owned: boolean;
}

/** A database made for one suite; `drop()` removes it. */
export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

interface OwnedServer {
  child: ChildProcess;
  dir: string;
  exited: Promise<void>;
}

let shared: Promise<PostgresServer> | undefined;
let owned: OwnedServer | undefined;

/** Start (once per process) or reuse the test server. */
export function startPostgres(env: NodeJS.ProcessEnv = process.env): Promise<PostgresServer> {
  shared ??= launch(env);
  return shared;
}

/** Create a fresh, empty database on the test server and return its URL. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const server = await startPostgres();
  const name = `capstan_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await adminQuery(server.adminUrl, `CREATE DATABASE "${name}"`);
  const url = withDatabase(server.adminUrl, name);
  return {
    url,
    name,
    drop: async () => {
      await waitUntilUnused(server.adminUrl, name);
      await adminQuery(server.adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/**
 * Wait (up to 10 s) until no session uses database `name`. A closed `pg.Pool` resolves `end()` before its
 * sockets are gone; dropping WITH (FORCE) in that window makes the server kill a session whose client has
 * already lost its error listener, which surfaces as an uncaught "terminating connection" error.
 */
async function waitUntilUnused(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const result = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
      if ((result.rows[0]?.n ?? 0) === 0 || Date.now() > deadline) return;
      await delay(20);
    }
  } finally {
    await client.end();
  }
}

/** Stop a server this process started and delete its data dir. A shared external server is left alone. */
export async function stopPostgres(): Promise<void> {
  const server = owned;
  owned = undefined;
  shared = undefined;
  if (!server) return;
  // SIGINT is PostgreSQL's "fast" shutdown: abort open sessions, checkpoint, exit.
  server.child.kill('SIGINT');
  await server.exited;
  rmSync(server.dir, { recursive: true, force: true });
}

async function launch(env: NodeJS.ProcessEnv): Promise<PostgresServer> {
  const external = env['CAPSTAN_TEST_PG_URL'];
  if (external) return { adminUrl: external, owned: false };

  const bin = findBinDir(env);
  const user = runAsUser();
  // As root, $TMPDIR may sit under /root, which the postgres user cannot enter; /tmp is world-traversable.
  const dir = mkdtempSync(join(user && existsSync('/tmp') ? '/tmp' : tmpdir(), 'capstan-pg-'));
  const data = join(dir, 'data');
  const socketDir = join(dir, 'sock');
  mkdirSync(socketDir);
  if (user) {
    chownSync(dir, user.uid, user.gid);
    chownSync(socketDir, user.uid, user.gid);
  }
  const childEnv = { PATH: env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C', TZ: 'UTC' };
  const ids = user ? { uid: user.uid, gid: user.gid } : {};

  try {
    execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: dir,
      ...ids,
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err);
    throw new Error(`initdb failed: ${stderr}`);
  }

  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      await startServer(bin, data, socketDir, port, childEnv, ids, dir);
      return { adminUrl: `postgresql://postgres@127.0.0.1:${port}/postgres`, owned: true };
    } catch (err) {
      // Another process may have taken the port between our probe and the bind; try a new one.
      if (attempt >= 3 || !(err instanceof PortInUse)) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

class PortInUse extends Error {}

function startServer(
  bin: string,
  data: string,
  socketDir: string,
  port: number,
  env: Record<string, string>,
  ids: { uid?: number; gid?: number },
  dir: string,
): Promise<void> {
  const args = ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', socketDir];
  for (const setting of ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off', 'max_connections=100']) args.push('-c', setting);
  const child = spawn(join(bin, 'postgres'), args, { env, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], ...ids });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise<void>((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('ready to accept connections')) {
        owned = { child, dir, exited };
        child.stderr?.off('data', onData);
        child.stderr?.resume();
        resolve();
      }
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      if (owned?.child === child) return;
      const message = `postgres exited (${code ?? signal}) before accepting connections:\n${log}`;
      reject(/could not bind|Address already in use/i.test(log) ? new PortInUse(message) : new Error(message));
    });
    child.once('error', reject);
  });
}

/** Kill a server still running when the process exits (a crashed or interrupted test file). */
function killOwnedNow(): void {
  if (!owned) return;
  try {
    owned.child.kill('SIGKILL');
  } catch {
    // already gone
  }
  rmSync(owned.dir, { recursive: true, force: true });
  owned = undefined;
}
process.once('exit', killOwnedNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killOwnedNow();
    // Our listener replaced the default action; raise the signal again now that it is gone.
    process.kill(process.pid, signal);
  });
}

function findBinDir(env: NodeJS.ProcessEnv): string {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  }
  const debianRoot = '/usr/lib/postgresql';
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot)
      .filter((v) => existsSync(join(debianRoot, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(debianRoot, versions[0], 'bin');
  }
  throw new Error('PostgreSQL binaries (initdb, postgres) not found: run scripts/ci-postgres.sh or set CAPSTAN_TEST_PG_URL');
}

/** As root, the uid/gid of the `postgres` user to run the server as; otherwise undefined (run as ourselves). */
function runAsUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root and there is no `postgres` user to run the test server: run scripts/ci-postgres.sh');
  }
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** The folder of the PostgreSQL server binaries the tests use, links followed (pg_dump and pg_restore beside them). */
export function postgresBinDir(): string {
  return dirname(realpathSync(join(findBinDir(process.env), 'initdb')));
}
