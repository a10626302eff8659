/**
 * The Kubernetes provider's entry points (src/kubernetes/ARCHITECTURE.md, "Entry points"): the light ones,
 * pods.ts and operators.ts, load no @kubernetes/client-node module; index.ts does. Checked from the modules a
 * real process loaded (test/cli/loadedModules.ts), not from timings.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const HOOK = fileURLToPath(new URL('../cli/loadedModules.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'capstan-k8s-entry-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let runs = 0;

/** The module URLs a process importing `entry` (a path under src/kubernetes/) loaded. */
function loadedBy(entry: string): Promise<string[]> {
  const file = join(dir, `modules-${++runs}.txt`);
  const url = new URL(`../../src/kubernetes/${entry}`, import.meta.url).href;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', HOOK, '--input-type=module', '-e', `await import(${JSON.stringify(url)});`], { env: { ...process.env, CAPSTAN_TEST_LOADED_MODULES: file } }, (err, _out, stderr) => {
      if (err) return reject(new Error(stderr));
      resolve(readFileSync(file, 'utf8').trim().split('\n'));
    });
  });
}

const client = (modules: string[]) => modules.filter((m) => m.includes('/node_modules/@kubernetes/'));

for (const entry of ['pods.ts', 'operators.ts']) {
  test(`${entry} loads no @kubernetes/client-node module`, async () => {
    const modules = await loadedBy(entry);
    assert.ok(modules.some((m) => m.endsWith(`/src/kubernetes/${entry}`)), `${entry} was loaded`);
    assert.deepEqual(client(modules), []);
  });
}

test('index.ts, the whole provider, loads the client library', async () => {
  assert.ok(client(await loadedBy('index.ts')).length > 0);
});
