/**
 * Typed TaskFlow is checked by the compiler: the repository's own TypeScript, with the repository's
 * settings, rejects a DAG file that passes a `XComArg<string>` where a number is expected — at that line —
 * and accepts the same DAG wired correctly. The fixtures are excluded from the main tsconfig and lint.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));

function tsc(project: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSC, '-p', `test/sdk/fixtures/${project}`, '--pretty', 'false'], { cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

test('passing XComArg<string> where a number is expected does not compile, and the right wiring does', async () => {
  const [bad, good] = await Promise.all([tsc('tsconfig.typedBad.json'), tsc('tsconfig.typedGood.json')]);
  const source = readFileSync(new URL('./fixtures/typedTaskflowBad.ts', import.meta.url), 'utf8').split('\n');
  const line = source.findIndex((l) => l.includes('@expect-error-line')) + 1;
  assert.ok(line > 0);
  assert.notEqual(bad.code, 0, bad.output);
  const errors = bad.output.split('\n').filter((l) => /error TS\d+/.test(l));
  assert.equal(errors.length, 1, bad.output);
  assert.match(errors[0] ?? '', new RegExp(`typedTaskflowBad\\.ts\\(${line},\\d+\\): error TS2345: Argument of type 'XComArg<string>' is not assignable to parameter of type 'Resolvable<number>'`));
  assert.equal(good.code, 0, good.output);
  assert.equal(good.output.trim(), '');
});
