/**
 * Task log shipping: the local-file log handler (positional, idempotent, refuses gaps), the shipper (periodic
 * and final rounds, a resumed try's fresh file shipped after what is stored), the read path falling back to a
 * live source, and end to end: a real `capstan tasks run` process with its own home ships its log through the
 * Execution API into the engine's log store, prints it on stdout, and the public API serves it.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NotFound } from '../../src/core/errors.ts';
import { LocalFileTaskLogHandler, TaskLogGapError } from '../../src/logging/logHandler.ts';
import { isEndOfLogLine, type TaskLogKey } from '../../src/logging/taskLog.ts';
import { readTryLog } from '../../src/logging/tryLog.ts';
import { LogShipper, type LogChunkSink } from '../../src/runtime/logShipper.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { SeparateHomeExecutor } from './support/separateHomeExecutor.ts';

const KEY: TaskLogKey = { dagId: 'd', runId: 'r', taskId: 't', tryNumber: 1 };

function sinkOf(handler: LocalFileTaskLogHandler, key: TaskLogKey): LogChunkSink & { calls: number } {
  const sink = {
    calls: 0,
    async putLogChunk(offset: number, chunk: Uint8Array) {
      sink.calls++;
      try {
        return { ...(await handler.write(key, offset, chunk)), gap: false };
      } catch (err) {
        if (err instanceof TaskLogGapError) return { size: err.size, gap: true };
        throw err;
      }
    },
  };
  return sink;
}

describe('local-file task log handler', () => {
  test('writes at offsets, a resent chunk changes nothing, a gap is refused with the stored size', async () => {
    const handler = new LocalFileTaskLogHandler(mkdtempSync(join(tmpdir(), 'capstan-logstore-')));
    await assert.rejects(handler.read(KEY), NotFound);
    assert.equal(await handler.size(KEY), 0);
    assert.deepEqual(await handler.write(KEY, 0, Buffer.from('one\n')), { size: 4 });
    assert.deepEqual(await handler.write(KEY, 0, Buffer.from('one\n')), { size: 4 });
    assert.deepEqual(await handler.write(KEY, 4, Buffer.from('two\n')), { size: 8 });
    await assert.rejects(handler.write(KEY, 20, Buffer.from('x')), (err: unknown) => err instanceof TaskLogGapError && err.size === 8);
    assert.equal((await handler.read(KEY)).text, 'one\ntwo\n');
    assert.equal((await handler.read(KEY, { fromByte: 4 })).text, 'two\n');
  });
});

describe('log shipper', () => {
  test('ships the file in chunks on finish, then only what was appended', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capstan-ship-'));
    const store = new LocalFileTaskLogHandler(join(dir, 'store'));
    const file = join(dir, 'local.log');
    writeFileSync(file, 'a'.repeat(10) + '\n');
    const sink = sinkOf(store, KEY);
    const shipper = new LogShipper(file, sink, { intervalMs: 60_000, maxChunkBytes: 4 });
    await shipper.finish();
    assert.equal((await store.read(KEY)).text, 'a'.repeat(10) + '\n');
    assert.equal(sink.calls, 3);
    appendFileSync(file, 'more\n');
    await shipper.finish();
    assert.equal((await store.read(KEY)).text, 'a'.repeat(10) + '\nmore\n');
    assert.equal(shipper.shippedBytes, 16);
  });

  test('ships in the background every interval', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capstan-ship-'));
    const store = new LocalFileTaskLogHandler(join(dir, 'store'));
    const file = join(dir, 'local.log');
    writeFileSync(file, 'early line\n');
    const shipper = new LogShipper(file, sinkOf(store, KEY), { intervalMs: 20 });
    shipper.start();
    const deadline = Date.now() + 10_000;
    while ((await store.size(KEY)) < 11 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await shipper.finish();
    assert.equal((await store.read(KEY)).text, 'early line\n');
  });

  test('a fresh local file of a try that continues elsewhere is shipped after what the store holds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capstan-ship-'));
    const store = new LocalFileTaskLogHandler(join(dir, 'store'));
    await store.write(KEY, 0, Buffer.from('first process\n'));
    const file = join(dir, 'second-pod.log');
    writeFileSync(file, 'second process\n');
    await new LogShipper(file, sinkOf(store, KEY), { intervalMs: 60_000, baseOffset: await store.size(KEY) }).finish();
    assert.equal((await store.read(KEY)).text, 'first process\nsecond process\n');
  });

  test('the same file as the store (shared filesystem) is not duplicated', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capstan-ship-'));
    const store = new LocalFileTaskLogHandler(dir);
    await store.write(KEY, 0, Buffer.from('before\n'));
    const file = join(dir, 'dag_id=d/run_id=r/task_id=t/attempt=1.log');
    const baseOffset = (await store.size(KEY)) - 7; // the store's size minus the local file's, before writing
    appendFileSync(file, 'after\n');
    await new LogShipper(file, sinkOf(store, KEY), { intervalMs: 60_000, baseOffset }).finish();
    assert.equal((await store.read(KEY)).text, 'before\nafter\n');
  });
});

describe('reading a try log', () => {
  test('the store first, then the first live source that has the try', async () => {
    const store = new LocalFileTaskLogHandler(mkdtempSync(join(tmpdir(), 'capstan-read-')));
    const none = { read: async () => undefined };
    const pod = { read: async () => 'ts INFO running\n' };
    await assert.rejects(readTryLog(KEY, { handler: store, live: [none] }), NotFound);
    assert.deepEqual(await readTryLog(KEY, { handler: store, live: [none, pod], fromByte: 3 }), { text: 'INFO running\n', nextByte: 16, ended: false, source: 'live' });
    await store.write(KEY, 0, Buffer.from('stored\n'));
    assert.equal((await readTryLog(KEY, { handler: store, live: [pod] })).source, 'store');
  });
});

describe('log shipping end to end', () => {
  let t: TestEngine;
  let executor: SeparateHomeExecutor | undefined;
  before(async () => {
    t = await startTestEngine({
      dags: {
        'shipped.ts': `
import { dag, task } from 'capstan';
const talk = task({ taskId: 'talk' }, () => { for (let i = 0; i < 3; i++) console.log('line ' + i); return 1; });
export default dag({ dagId: 'shipped', schedule: null }, () => { talk(); });
`,
      },
      executor: (engine, apiUrl) => (executor = new SeparateHomeExecutor(engine, apiUrl)),
    });
  });
  after(async () => {
    await t?.stop();
  });

  test('a worker with its own filesystem ships its log into the engine log store; the public API serves it', async () => {
    await t.trigger('shipped', { runId: 'r1' });
    assert.equal((await t.waitForRun('shipped', 'r1', { timeoutMs: 30_000 })).state, 'success');
    // The outcome is reported before the last log round: wait for the worker to exit.
    const deadline = Date.now() + 30_000;
    while (executor?.stdout.get('talk') === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const handler = new LocalFileTaskLogHandler(t.engine.config.logging.baseLogFolder);
    const stored = await handler.read({ dagId: 'shipped', runId: 'r1', taskId: 'talk', tryNumber: 1 });
    assert.match(stored.text, /INFO line 0\n.*INFO line 1\n.*INFO line 2\n/s);
    assert.ok(stored.ended, 'the end marker was shipped');
    const res = await t.apiFetch(`/api/v2/dags/shipped/dagRuns/r1/taskInstances/talk/logs/1`);
    const body = (await res.json()) as { content: string; source: string; ended: boolean };
    assert.equal(body.content, stored.text);
    assert.deepEqual([body.source, body.ended], ['store', true]);
    // The same lines went to the worker's stdout (a pod's pods/log).
    const stdout = executor?.stdout.get('talk') ?? '';
    assert.ok(stdout.split('\n').some((l) => l.endsWith('INFO line 1')), stdout);
    assert.ok(isEndOfLogLine(stdout.trimEnd().split('\n').at(-1) ?? ''), stdout);
  });

  test('the public API names a bad try number', async () => {
    const res = await t.apiFetch(`/api/v2/dags/shipped/dagRuns/r1/taskInstances/talk/logs/0`);
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { field?: string } }).error.field, 'tryNumber');
  });
});
