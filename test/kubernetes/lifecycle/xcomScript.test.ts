// The XCom sidecar program run by a real POSIX shell here (only the directory differs from a pod's):
// each result line, the size limit, and SIGTERM while sleeping — what the kubelet sends a native sidecar
// once the regular containers have exited.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseXcomOutput, XCOM_SIDECAR_SCRIPT } from '../../../src/kubernetes/lifecycle/xcom.ts';

const execFileAsync = promisify(execFile);

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'xcom-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const program = (dir: string): string => XCOM_SIDECAR_SCRIPT.replaceAll('/airflow/xcom', dir);

/** Runs the program with the `.done` marker already present, so it prints at once. */
async function runDone(dir: string, max = 1000): Promise<string> {
  await writeFile(join(dir, '.done'), '');
  const { stdout } = await execFileAsync('sh', ['-c', program(dir), 'capstan-xcom', String(max)]);
  return stdout;
}

void describe('XCom sidecar program under sh', () => {
  test('missing, empty, too large, and a JSON value round-trip through parseXcomOutput', async () => {
    await withDir(async (dir) => {
      assert.equal(parseXcomOutput(await runDone(dir)).kind, 'error');
      await writeFile(join(dir, 'return.json'), '');
      assert.deepEqual(parseXcomOutput(await runDone(dir)), { kind: 'value', value: null });
      await writeFile(join(dir, 'return.json'), '{"rows": [1, 2],\n "name": "é"}\n');
      assert.deepEqual(parseXcomOutput(await runDone(dir)), { kind: 'value', value: { rows: [1, 2], name: 'é' } });
      const tooLarge = parseXcomOutput(await runDone(dir, 10), 10);
      assert.ok(tooLarge.kind === 'error' && /is 3\d bytes, more than the 10-byte/.test(tooLarge.message), JSON.stringify(tooLarge));
    });
  });

  test('SIGTERM while sleeping prints the result at once and exits 0', async () => {
    await withDir(async (dir) => {
      await writeFile(join(dir, 'return.json'), '"done"');
      const child = spawn('sh', ['-c', program(dir), 'capstan-xcom', '1000'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // The trap is installed before the loop: wait until the loop's first sleep exists, then signal.
      const deadline = Date.now() + 5000;
      for (;;) {
        const { stdout } = await execFileAsync('ps', ['-o', 'pid=', '--ppid', String(child.pid)]).catch(() => ({ stdout: '' }));
        if (stdout.trim() !== '') break;
        assert.ok(Date.now() < deadline, 'the program never started sleeping');
        await new Promise((r) => setImmediate(r));
      }
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.deepEqual(parseXcomOutput(out), { kind: 'value', value: 'done' });
    });
  });
});
