/**
 * Issue 18: idle warm task processes of a LocalExecutor whose owner dies without a clean shutdown
 * (SIGKILL) exit on their own, instead of idling forever. A real owner process is started and killed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { isRunning, waitFor } from '../support/processes.ts';

const OWNER = join(import.meta.dirname, 'fixtures', 'warmOwner.ts');
const logs = mkdtempSync(join(tmpdir(), 'capstan-warm-'));
const started: number[] = [];
after(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  rmSync(logs, { recursive: true, force: true });
});

for (const mode of ['single-use', 'reuse'] as const) test(`idle warm task processes (${mode}) exit soon after their owner is SIGKILLed`, async () => {
  const owner = spawn(process.execPath, [OWNER, logs, '3', mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: owner.stdout }).once('line', resolve);
    owner.once('exit', (code) => reject(new Error(`owner exited (${code}) before printing its children`)));
  });
  const { children } = JSON.parse(line) as { children: number[] };
  started.push(...children);
  assert.equal(children.length, 3, `expected 3 warm processes, got ${line}`);
  for (const pid of children) assert.ok(await isRunning(pid), `warm process ${pid} is not running`);
  const exited = new Promise((r) => owner.once('exit', r));
  owner.kill('SIGKILL');
  await exited;
  await waitFor(async () => (await Promise.all(children.map(isRunning))).every((alive) => !alive), `warm processes still alive after their owner died: ${children.join(', ')}`, 5_000);
});
