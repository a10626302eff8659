// The behaviour every TaskLogHandler must have, as one suite run against each implementation
// (logHandlers.test.ts: the local-file handler and the S3 handler on a real SeaweedFS server): positional,
// idempotent writes that refuse gaps; reads by byte range that never cut a UTF-8 character, forwards and
// backwards page by page; the end marker; one log per try (try number, map index, odd ids kept apart); the
// shipper writing through it; a follow through it (followTryLog, what `capstan tasks logs --follow` uses on a
// remote store) seeing lines as they are stored; and nothing stored anywhere being NotFound.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NotFound } from '../../src/core/errors.ts';
import { TaskLogGapError, type TaskLogHandler } from '../../src/logging/logHandler.ts';
import { END_OF_LOG_MESSAGE, TaskLogWriter, type TaskLogKey } from '../../src/logging/taskLog.ts';
import { followTryLog, readTryLog } from '../../src/logging/tryLog.ts';
import { LogShipper, type LogChunkSink } from '../../src/runtime/logShipper.ts';

let counter = 0;
/** A key no other test of the run uses (one bucket serves every test). */
function freshKey(overrides: Partial<TaskLogKey> = {}): TaskLogKey {
  counter++;
  return { dagId: 'contract', runId: `run-${process.pid}-${Date.now()}-${counter}`, taskId: 't', tryNumber: 1, ...overrides };
}

/** A shipper's sink that writes straight into `handler`, as the Execution API's log route does. */
export function sinkInto(handler: TaskLogHandler, key: TaskLogKey): LogChunkSink {
  return {
    async putLogChunk(offset, chunk) {
      try {
        return { ...(await handler.write(key, offset, chunk)), gap: false };
      } catch (err) {
        if (err instanceof TaskLogGapError) return { size: err.size, gap: true };
        throw err;
      }
    },
  };
}

/** Registers the contract tests for the handler `make` returns (called once per test). */
export function taskLogHandlerContract(make: () => TaskLogHandler): void {
  test('nothing stored: size 0, read is NotFound', async () => {
    const h = make();
    const key = freshKey();
    assert.equal(await h.size(key), 0);
    await assert.rejects(h.read(key), NotFound);
  });

  test('writes at offsets; a resent or overlapping chunk changes nothing; a gap is refused with the stored size', async () => {
    const h = make();
    const key = freshKey();
    assert.deepEqual(await h.write(key, 0, Buffer.from('one\n')), { size: 4 });
    assert.deepEqual(await h.write(key, 0, Buffer.from('one\n')), { size: 4 });
    assert.deepEqual(await h.write(key, 4, Buffer.from('two\n')), { size: 8 });
    // A shipper that restarted its round resends from an earlier offset with more bytes.
    assert.deepEqual(await h.write(key, 4, Buffer.from('two\nthree\n')), { size: 14 });
    await assert.rejects(h.write(key, 20, Buffer.from('x')), (err: unknown) => err instanceof TaskLogGapError && err.size === 14);
    await assert.rejects(h.write(key, -1, Buffer.from('x')));
    assert.equal(await h.size(key), 14);
    const all = await h.read(key);
    assert.deepEqual(all, { text: 'one\ntwo\nthree\n', nextByte: 14, ended: false });
  });

  test('reads by byte range: fromByte, toByte, past the end, and never half a UTF-8 character', async () => {
    const h = make();
    const key = freshKey();
    const text = 'α line\nβ line\n'; // α and β are two bytes each
    await h.write(key, 0, Buffer.from(text));
    const size = Buffer.byteLength(text);
    assert.deepEqual(await h.read(key, { fromByte: 8 }), { text: 'β line\n', nextByte: size, ended: false });
    assert.deepEqual(await h.read(key, { fromByte: 0, toByte: 8 }), { text: 'α line\n', nextByte: 8, ended: false });
    // toByte inside β: the character is left for the next read.
    assert.deepEqual(await h.read(key, { fromByte: 8, toByte: 9 }), { text: '', nextByte: 8, ended: false });
    assert.deepEqual(await h.read(key, { fromByte: 1000 }), { text: '', nextByte: size, ended: false });
    // A chunk cut inside α by the shipper: the read stops before it.
    const cut = freshKey();
    await h.write(cut, 0, Buffer.from(text).subarray(0, 1));
    assert.deepEqual(await h.read(cut), { text: '', nextByte: 0, ended: false });
    await h.write(cut, 1, Buffer.from(text).subarray(1));
    assert.equal((await h.read(cut)).text, text);
  });

  test("a log written by TaskLogWriter (masked) and shipped in chunks reads back whole, ended by the writer's marker", async () => {
    const h = make();
    const key = freshKey();
    const dir = mkdtempSync(join(tmpdir(), 'capstan-contract-'));
    const log = await TaskLogWriter.open(join(dir, 'local.log'), { mask: (t) => t.replaceAll('hunter2', '***') });
    const shipper = new LogShipper(log.path, sinkInto(h, key), { intervalMs: 60_000, maxChunkBytes: 7 });
    log.info('password is hunter2');
    for (let i = 0; i < 20; i++) log.info(`line ${i} ✓`);
    await log.flush();
    await shipper.shipNow();
    const running = await h.read(key);
    assert.equal(running.ended, false);
    assert.match(running.text, /INFO password is \*\*\*\n/);
    assert.doesNotMatch(running.text, /hunter2/);
    await log.close();
    await shipper.finish();
    const done = await h.read(key);
    assert.equal(done.ended, true);
    assert.equal(done.text.split('\n').filter((l) => l.endsWith('✓')).length, 20);
    assert.ok(done.text.trimEnd().endsWith(`INFO ${END_OF_LOG_MESSAGE}`));
    // Paging from the middle after the log ended (an S3 store has compacted it by now).
    const half = Math.floor(done.nextByte / 2);
    const a = await h.read(key, { toByte: half });
    const b = await h.read(key, { fromByte: a.nextByte });
    assert.equal(a.text + b.text, done.text);
    assert.equal(a.ended, true, 'ended describes the stored log, whatever the range');
    // A resend of the whole log after the end changes nothing.
    assert.deepEqual(await h.write(key, 0, Buffer.from(done.text)), { size: done.nextByte });
    assert.equal((await h.read(key)).text, done.text);
  });

  test('a try that continues in a fresh file (a resumed deferral in a new pod) is stored after what the store holds', async () => {
    const h = make();
    const key = freshKey();
    await h.write(key, 0, Buffer.from('first process\n'));
    const dir = mkdtempSync(join(tmpdir(), 'capstan-contract-'));
    const file = join(dir, 'second-pod.log');
    writeFileSync(file, 'second process\n');
    const shipper = new LogShipper(file, sinkInto(h, key), { intervalMs: 60_000, baseOffset: await h.size(key) });
    await shipper.finish();
    appendFileSync(file, 'later\n');
    await shipper.finish();
    assert.equal((await h.read(key)).text, 'first process\nsecond process\nlater\n');
  });

  test('one log per try: try numbers, map indexes and odd ids are kept apart', async () => {
    const h = make();
    const base = freshKey({ dagId: 'd/../x', taskId: 'a b%2F' });
    const keys: TaskLogKey[] = [base, { ...base, tryNumber: 2 }, { ...base, mapIndex: 0 }, { ...base, mapIndex: 1 }, { ...base, taskId: 'a b' }];
    for (const [i, k] of keys.entries()) await h.write(k, 0, Buffer.from(`log ${i}\n`));
    for (const [i, k] of keys.entries()) assert.equal((await h.read(k)).text, `log ${i}\n`);
    assert.equal((await h.read({ ...base, mapIndex: -1 })).text, 'log 0\n', 'map index -1 is the unmapped task');
  });

  test('reads backwards page by page (toByte): each page ends where the later one began and the pages join into the log', async () => {
    const h = make();
    const key = freshKey();
    const text = Array.from({ length: 60 }, (_, i) => `2026-01-01T00:00:00.000Z INFO row é ${i}\n`).join('');
    // Shipped in uneven chunks, so the S3 store holds many parts.
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length; at += 333) await h.write(key, at, bytes.subarray(at, at + 333));
    const pages: string[] = [];
    let end = await h.size(key);
    assert.equal(end, bytes.length);
    while (end > 0) {
      const from = Math.max(0, end - 100);
      const page = await h.read(key, { fromByte: from, toByte: end });
      assert.equal(page.nextByte, end, 'a page ends at its toByte (a line end cuts no character)');
      // As the API's backward read does: a page starts at its first whole line (the window may begin mid-line).
      const whole = from === 0 ? page.text : page.text.slice(page.text.indexOf('\n') + 1);
      const start = end - Buffer.byteLength(whole);
      assert.ok(start === 0 || bytes[start - 1] === 0x0a);
      assert.equal(whole, bytes.subarray(start, end).toString('utf8'));
      pages.unshift(whole);
      end = start;
    }
    assert.equal(pages.join(''), text);
    assert.equal((await h.read(key, { fromByte: 10, toByte: 10 })).text, '');
  });

  test('a follow sees lines as they are stored and ends with the end marker; one with no log ends when the try is over', async () => {
    const h = make();
    const key = freshKey();
    const seen: string[] = [];
    const ac = new AbortController();
    let gotFirst: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (gotFirst = resolve));
    const following = followTryLog(key, (t) => { seen.push(t); gotFirst(); }, ac.signal, { handler: h, pollIntervalMs: 20 });
    await h.write(key, 0, Buffer.from('2026-01-01T00:00:00.000Z INFO first\n'));
    await first;
    assert.equal(seen.join(''), '2026-01-01T00:00:00.000Z INFO first\n');
    const endLine = `2026-01-01T00:00:01.000Z INFO ${END_OF_LOG_MESSAGE}\n`;
    await h.write(key, await h.size(key), Buffer.from(`2026-01-01T00:00:00.500Z INFO second\n${endLine}`));
    const done = await following;
    assert.deepEqual(done, { nextByte: await h.size(key), ended: true });
    assert.equal(seen.join(''), (await h.read(key)).text);
    // From a later byte: only what follows it.
    const tail: string[] = [];
    await followTryLog(key, (t) => tail.push(t), ac.signal, { handler: h, fromByte: done.nextByte - Buffer.byteLength(endLine) });
    assert.equal(tail.join(''), endLine);
    // Nothing stored, and the try will write nothing: the follow ends when told so.
    let asked = 0;
    const none = await followTryLog(freshKey(), () => assert.fail('no text'), ac.signal, { handler: h, pollIntervalMs: 20, isOver: async () => ++asked >= 3 });
    assert.deepEqual(none, { nextByte: 0, ended: false });
    assert.equal(asked, 3);
  });

  test('a try with no log anywhere (store and live sources) is NotFound', async () => {
    const h = make();
    await assert.rejects(readTryLog(freshKey(), { handler: h, live: [{ read: async () => undefined }] }), NotFound);
    await assert.rejects(h.read(freshKey(), { fromByte: 0, toByte: 10 }), NotFound);
  });

  test('readTryLog serves the store before any live source', async () => {
    const h = make();
    const key = freshKey();
    const pod = { read: async () => 'ts INFO from the pod\n' };
    assert.equal((await readTryLog(key, { handler: h, live: [pod] })).source, 'live');
    await h.write(key, 0, Buffer.from('stored\n'));
    assert.deepEqual(await readTryLog(key, { handler: h, live: [pod] }), { text: 'stored\n', nextByte: 7, ended: false, source: 'store' });
  });
}
