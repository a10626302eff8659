/**
 * What a CLI start loads (issue 18 §4): `--help` and a remote command load no config parsing, database,
 * Kubernetes, HTTP-server or engine code; a local `dags list` loads the store but not the engine, the SDK or
 * ajv, and on SQLite not the PostgreSQL driver, zod or (without a config file) YAML; `config get` loads no
 * store at all. Checked from the modules the process really loaded, not from timings.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const HOOK = fileURLToPath(new URL('./loadedModules.ts', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'capstan-cli-imports-'));
after(() => rmSync(home, { recursive: true, force: true }));

let runs = 0;

/** The module URLs `capstan <args>` loaded, and its exit code; `extraEnv` is added to a CAPSTAN-free environment. */
function loadedBy(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; modules: string[]; stderr: string }> {
  const file = join(home, `modules-${++runs}.txt`);
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CAPSTAN')));
  const env = { ...base, CAPSTAN_HOME: home, ...extraEnv, CAPSTAN_TEST_LOADED_MODULES: file };
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', HOOK, MAIN, ...args], { env }, (err, _stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, modules: readFileSync(file, 'utf8').trim().split('\n'), stderr });
    });
  });
}

// The API folder's light entry client.ts (the v2 client and the pure row views) is no server code.
const HEAVY = [/\/src\/store\//, /\/src\/config\//, /\/src\/services\//, /\/src\/kubernetes\//, /\/src\/api\/(?!public\/v2\/client\/|client\.ts$|views\.ts$)/, /node_modules\/(kysely|pg|yaml|zod|ajv|hono|@hono|@kubernetes)\//];
const heavyIn = (modules: string[]) => modules.filter((m) => HEAVY.some((h) => h.test(m)));

test('--help loads only the command index: no config, database, engine, Kubernetes or HTTP-server code', async () => {
  const r = await loadedBy(['--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(heavyIn(r.modules), []);
});

test('a remote command loads the API client, not config, database, engine, Kubernetes or HTTP-server code', async () => {
  const commands = [
    ['dags', 'list'],
    ['dags', 'backfill', 'd', '--start', '2026-01-01', '--end', '2026-01-02'],
    ['dags', 'mark-run', 'd', 'r', '--state', 'success'],
    ['tasks', 'list', 'd', 'r'],
    ['tasks', 'history', 'd', 'r', 't'],
    ['tasks', 'mark-success', 'd', 'r', 't'],
    ['variables', 'list'],
    ['pools', 'list'],
  ];
  for (const args of commands) {
    // Port 9 (discard) has no API server: the command fails to connect after loading what it needs.
    const r = await loadedBy([...args, '--api-url', 'http://127.0.0.1:9']);
    assert.equal(r.code, 1, `capstan ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /cannot reach the Capstan API server at http:\/\/127\.0\.0\.1:9/);
    assert.ok(r.modules.some((m) => m.endsWith('/src/api/public/v2/client/index.ts')));
    assert.deepEqual(heavyIn(r.modules), [], `capstan ${args.join(' ')}`);
  }
});

test('a local dags list loads the store but not the engine, the SDK, ajv or the Kubernetes client', async () => {
  const migrated = await loadedBy(['db', 'migrate']);
  assert.equal(migrated.code, 0, migrated.stderr);
  const r = await loadedBy(['dags', 'list']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.modules.some((m) => m.endsWith('/src/store/dags.ts')));
  assert.deepEqual(r.modules.filter((m) => /\/src\/(services|sdk|kubernetes|scheduler)\/|node_modules\/(ajv|hono|@kubernetes)\//.test(m)), []);
});

/** Modules of npm package `name` among `modules`. */
const ofPackage = (modules: string[], name: string) => modules.filter((m) => m.includes(`/node_modules/${name}/`));

test('a local dags list on SQLite loads neither the PostgreSQL driver nor zod, and YAML only for a config file', async () => {
  assert.equal((await loadedBy(['db', 'migrate'])).code, 0);
  const r = await loadedBy(['dags', 'list']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(ofPackage(r.modules, 'kysely').length > 0, 'the store (Kysely) is loaded');
  for (const pkg of ['pg', 'pg-pool', 'zod', 'yaml']) assert.deepEqual(ofPackage(r.modules, pkg), [], `${pkg} is not loaded`);

  const configFile = join(home, 'startup-imports.yaml');
  writeFileSync(configFile, 'core:\n  parallelism: 4\n');
  const withFile = await loadedBy(['--config', configFile, 'dags', 'list']);
  assert.equal(withFile.code, 0, withFile.stderr);
  assert.ok(ofPackage(withFile.modules, 'yaml').length > 0, 'yaml is loaded to read the config file');
  assert.deepEqual(ofPackage(withFile.modules, 'pg'), []);
});

test('a PostgreSQL database URL loads the PostgreSQL driver', async () => {
  // Nothing listens on port 9: the command fails to connect, after opening the database with pg.
  const r = await loadedBy(['dags', 'list'], { CAPSTAN__DATABASE__URL: 'postgresql://capstan:capstan@127.0.0.1:9/capstan' });
  assert.notEqual(r.code, 0);
  assert.ok(ofPackage(r.modules, 'pg').some((m) => m.endsWith('/node_modules/pg/lib/index.js')), 'pg is loaded');
});

test('config get loads config parsing but no store, database driver or zod', async () => {
  const r = await loadedBy(['config', 'get', 'api.port']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.modules.some((m) => m.endsWith('/src/config/load.ts')));
  assert.deepEqual(r.modules.filter((m) => /\/src\/store\/|node_modules\/(kysely|pg|zod|yaml)\//.test(m)), []);
});
