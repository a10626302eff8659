/**
 * Import errors say the line of the file they point at: a top-level throw, a TypeScript syntax error, a
 * missing named import, and a DAG definition error (the line of the `dag()` call); a timeout has none. And
 * the DAG processor's run loop is a `dag_processor` job that heartbeats and ends, so health can see it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { DagProcessor } from '../../src/dagprocessing/processor.ts';
import { errorLineIn } from '../../src/dagprocessing/errorLine.ts';
import { ImportErrorStore } from '../../src/store/importErrors.ts';
import { JobRegistry } from '../../src/store/jobs.ts';
import { openFreshDb } from '../support/dialects.ts';

void test('errorLineIn reads the first frame in the file, a file:line head, and a cause; null otherwise', () => {
  const err = new Error('boom');
  err.stack = 'Error: boom\n    at helper (file:///lib/x.ts:9:1)\n    at file:///dags/my%20dag.ts:14:7\n    at file:///dags/my%20dag.ts:20:1';
  assert.equal(errorLineIn('/dags/my dag.ts', err), 14);
  const syntax = new SyntaxError('Expression expected');
  syntax.stack = '/dags/a.ts:3\nconst b = ;\n          ^\n\nSyntaxError: Expression expected';
  assert.equal(errorLineIn('/dags/a.ts', new Error('wrapped', { cause: syntax })), 3);
  assert.equal(errorLineIn('/dags/a.ts', Object.assign(new Error('x'), { stack: 'Error: x\n    at file:///dags/a.tsx:5:1' })), null);
  assert.equal(errorLineIn('/dags/a.ts', 'not an error'), null);
});

void test('the DAG processor records the line of each import error and registers as a dag_processor job', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'capstan-lines-'));
  const hangFolder = mkdtempSync(join(tmpdir(), 'capstan-lines-hang-'));
  const fresh = await openFreshDb('sqlite');
  try {
    const files: Record<string, [string, number | null]> = {
      'throws.ts': [`import { dag } from 'capstan';\nconst n: number = 1;\nthrow new Error('boom ' + n);\n`, 3],
      'syntax.ts': [`const a: number = 1;\nenum X { A }\nconst b = ;\n`, 3],
      'missing.mjs': [`import { nope } from 'node:fs';\nconsole.log(nope);\n`, 1],
      'cycle.ts': [
        `import { dag, BashOperator, chain } from 'capstan';\n\nexport default dag({ dagId: 'cyclic', schedule: null }, () => {\n  const x = new BashOperator({ taskId: 'x', bashCommand: 'true' });\n  chain(x, new BashOperator({ taskId: 'y', bashCommand: 'true' }), x);\n});\n`,
        3,
      ],
    };
    for (const [name, [source]] of Object.entries(files)) writeFileSync(join(folder, name), source);
    writeFileSync(join(hangFolder, 'hangs.ts'), `await new Promise(() => setInterval(() => {}, 1000));\n`);
    let now = 1_000;
    const processorOf = (folders: string[], parseTimeoutMs: number) => new DagProcessor({ db: fresh.db, folders, parseTimeoutMs, parallelism: 2, defaults: {}, now: () => now, logger: pino({ level: 'silent' }) });
    // A generous timeout for the files that fail on their own (a loaded machine parses slowly), a short one for the hang.
    const processor = processorOf([folder], 60_000);
    await processor.processOnce();
    const recorded = new Map((await new ImportErrorStore(fresh.db).list()).map((e) => [e.fileloc, e]));
    for (const [name, [, line]] of Object.entries(files)) {
      const e = recorded.get(join(folder, name));
      assert.ok(e, `${name} has an import error`);
      assert.equal(e.line, line, `${name}: ${e.message}`);
    }

    // (A processor forgets the files outside its folders, so the hang is parsed last.)
    await processorOf([hangFolder], 1_000).processOnce();
    const hang = (await new ImportErrorStore(fresh.db).list()).find((e) => e.fileloc === join(hangFolder, 'hangs.ts'));
    assert.match(hang?.message ?? '', /timed out/);
    assert.equal(hang?.line, null, 'a timeout points at no line');

    const ac = new AbortController();
    const running = processor.run(ac.signal, 60_000, 20);
    const jobs = new JobRegistry(fresh.db);
    let job = (await jobs.page({ limit: 10, offset: 0, jobType: 'dag_processor' })).items[0];
    const deadline = Date.now() + 30_000;
    while (job === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      job = (await jobs.page({ limit: 10, offset: 0, jobType: 'dag_processor' })).items[0];
    }
    assert.ok(job, 'a dag_processor job is registered');
    assert.equal(job.state, 'running');
    now = 2_000;
    // Heartbeats come on their own timer; wait until one lands at the new time.
    while ((await jobs.get(job.id))?.latestHeartbeat !== 2_000 && Date.now() < deadline + 30_000) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await jobs.get(job.id))?.latestHeartbeat, 2_000);
    ac.abort();
    await running;
    assert.deepEqual([(await jobs.get(job.id))?.state, (await jobs.get(job.id))?.endDate], ['success', 2_000]);
  } finally {
    await fresh.dispose();
    rmSync(folder, { recursive: true, force: true });
    rmSync(hangFolder, { recursive: true, force: true });
  }
});
