/**
 * What a role start loads (issue 18): `capstan standalone` and `capstan scheduler` with the LocalExecutor on
 * SQLite load neither the Kubernetes client library nor the PostgreSQL driver; a KubernetesExecutor
 * configuration loads the client when the executor is created (here it then fails to find a kubeconfig, as it
 * should). Checked from the modules the real process loaded (test/cli/loadedModules.ts), not from timings.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const HOOK = fileURLToPath(new URL('../cli/loadedModules.ts', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'capstan-role-imports-'));
after(() => rmSync(home, { recursive: true, force: true }));

let runs = 0;
/** A CAPSTAN-free environment on this test's home (SQLite), with a kubeconfig that does not exist. */
function envFor(file: string, extra: Record<string, string>): Record<string, string> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CAPSTAN') && k !== 'KUBECONFIG')) as Record<string, string>;
  return { ...base, CAPSTAN_HOME: home, KUBECONFIG: join(home, 'no-kubeconfig'), CAPSTAN__API__PORT: '0', CAPSTAN__CORE__LOAD_EXAMPLES: 'false', ...extra, CAPSTAN_TEST_LOADED_MODULES: file };
}

/**
 * Starts `capstan <role>`, waits for the line announcing its health endpoint, checks that endpoint answers, stops
 * the process with SIGTERM and returns the modules it loaded.
 */
function startAndStop(role: string, extra: Record<string, string> = {}): Promise<string[]> {
  const file = join(home, `modules-${++runs}.txt`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', HOOK, MAIN, role], { env: envFor(file, extra), cwd: home });
    let out = '';
    let err = '';
    let asked = false;
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const url = /(http:\/\/127\.0\.0\.1:\d+)\/health/.exec(out)?.[1];
      if (url === undefined || asked) return;
      asked = true;
      fetch(`${url}/health`).then((r) => {
        void r.body?.cancel();
        if (r.status !== 200) reject(new Error(`${role} /health answered ${r.status}`));
        child.kill('SIGTERM');
      }, reject);
    });
    child.on('exit', (code) => {
      if (!asked) return reject(new Error(`${role} exited (${code}) before serving /health: ${err}`));
      resolve(readFileSync(file, 'utf8').trim().split('\n'));
    });
  });
}

/** Runs `capstan <args>` to its end: exit code, stderr and the modules it loaded. */
function run(args: string[], extra: Record<string, string> = {}): Promise<{ code: number; stderr: string; modules: string[] }> {
  const file = join(home, `modules-${++runs}.txt`);
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', HOOK, MAIN, ...args], { env: envFor(file, extra), cwd: home }, (e, _stdout, stderr) => {
      resolve({ code: e ? Number(e.code ?? 1) : 0, stderr, modules: readFileSync(file, 'utf8').trim().split('\n') });
    });
  });
}

const KUBERNETES_CLIENT = /\/node_modules\/@kubernetes\//;
const POSTGRES = /\/node_modules\/(pg|pg-pool|pg-protocol|pg-types|pg-connection-string)\//;
const heavy = (modules: string[]) => modules.filter((m) => KUBERNETES_CLIENT.test(m) || POSTGRES.test(m));

before(async () => {
  const migrated = await run(['db', 'migrate']);
  assert.equal(migrated.code, 0, migrated.stderr);
});

test('standalone with the LocalExecutor on SQLite loads no Kubernetes client and no PostgreSQL driver', async () => {
  const modules = await startAndStop('standalone');
  assert.ok(modules.some((m) => m.endsWith('/src/executors/local/index.ts')), 'the LocalExecutor is loaded');
  assert.deepEqual(heavy(modules), []);
});

test('the scheduler with the LocalExecutor on SQLite loads no Kubernetes client and no PostgreSQL driver', async () => {
  const modules = await startAndStop('scheduler', { CAPSTAN__SCHEDULER__HEALTH_PORT: '0' });
  assert.ok(modules.some((m) => m.endsWith('/src/scheduler/scheduler.ts')));
  assert.deepEqual(heavy(modules), []);
});

test('a KubernetesExecutor scheduler loads the Kubernetes client and reports its missing kubeconfig', async () => {
  const r = await run(['scheduler'], {
    CAPSTAN__CORE__EXECUTOR: 'KubernetesExecutor',
    CAPSTAN__KUBERNETES_EXECUTOR__WORKER_CONTAINER_IMAGE: 'capstan:test',
    CAPSTAN__SCHEDULER__HEALTH_PORT: '-1',
  });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /kubeconfig/);
  assert.ok(r.modules.some((m) => KUBERNETES_CLIENT.test(m)), 'the Kubernetes client is loaded');
  assert.deepEqual(r.modules.filter((m) => POSTGRES.test(m)), []);
});
