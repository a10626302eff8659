import { strict as assert } from 'node:assert';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { NotFound } from '../../src/core/errors.ts';
import { END_OF_LOG_MESSAGE, followTaskLog, isEndOfLogLine, readTaskLog, taskLogPath, TaskLogWriter } from '../../src/logging/index.ts';

const root = mkdtempSync(join(tmpdir(), 'capstan-tasklog-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshPath = (): string => join(root, `case-${++counter}`, 'attempt=1.log');

const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARN|ERROR) .*$/;

/** Collects followed text and lets a test await until it satisfies a condition (no sleeping). */
function collector(): { text: () => string; onChunk: (t: string) => void; until: (cond: (text: string) => boolean) => Promise<void> } {
  let text = '';
  let waiters: Array<{ cond: (t: string) => boolean; resolve: () => void }> = [];
  return {
    text: () => text,
    onChunk: (t) => {
      text += t;
      const ready = waiters.filter((w) => w.cond(text));
      waiters = waiters.filter((w) => !w.cond(text));
      for (const w of ready) w.resolve();
    },
    until: (cond) => (cond(text) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ cond, resolve }))),
  };
}

void describe('taskLogPath', () => {
  void it('lays out dag, run, task, optional map index and attempt', () => {
    const key = { dagId: 'etl', runId: 'manual__2026-01-01T00:00:00+00:00', taskId: 'load', tryNumber: 2 };
    assert.equal(taskLogPath('/logs', key), '/logs/dag_id=etl/run_id=manual__2026-01-01T00:00:00+00:00/task_id=load/attempt=2.log');
    assert.equal(taskLogPath('/logs', { ...key, mapIndex: 3 }), '/logs/dag_id=etl/run_id=manual__2026-01-01T00:00:00+00:00/task_id=load/map_index=3/attempt=2.log');
    assert.equal(taskLogPath('/logs', { ...key, mapIndex: -1 }), taskLogPath('/logs', key));
  });

  void it('escapes ids so none can leave its folder', () => {
    const path = taskLogPath('/logs', { dagId: '..', runId: 'a/../../b', taskId: 'x y%', tryNumber: 1 });
    assert.equal(path, '/logs/dag_id=%2E%2E/run_id=a%2F..%2F..%2Fb/task_id=x%20y%25/attempt=1.log');
    assert.ok(path.startsWith('/logs/dag_id='));
    assert.notEqual(taskLogPath('/l', { dagId: 'a/b', runId: 'r', taskId: 't', tryNumber: 1 }), taskLogPath('/l', { dagId: 'a%2Fb', runId: 'r', taskId: 't', tryNumber: 1 }));
  });
});

void describe('TaskLogWriter', () => {
  void it('prefixes every line with timestamp and level, masks each line, and ends with the marker', async () => {
    const path = freshPath();
    const now = () => new Date('2026-01-02T03:04:05.678Z');
    const log = await TaskLogWriter.open(path, { now, mask: (t) => t.replaceAll('s3cret', '***') });
    log.info('hello\npassword=s3cret');
    log.error('boom\n');
    await log.close();
    assert.equal(
      readFileSync(path, 'utf8'),
      ['2026-01-02T03:04:05.678Z INFO hello', '2026-01-02T03:04:05.678Z INFO password=***', '2026-01-02T03:04:05.678Z ERROR boom', `2026-01-02T03:04:05.678Z INFO ${END_OF_LOG_MESSAGE}`, ''].join('\n'),
    );
    assert.throws(() => log.info('after close'), /closed/);
  });

  void it('keeps lines whole under concurrent producers and split stream chunks', async () => {
    const path = freshPath();
    const log = await TaskLogWriter.open(path);
    const stdout = log.stream('INFO');
    const producer = async (name: string) => {
      for (let i = 0; i < 200; i++) {
        log.write(i % 2 ? 'WARN' : 'DEBUG', `${name}-${i}`);
        if (i % 10 === 0) await log.flush();
        else await Promise.resolve();
      }
    };
    const piped = (async () => {
      const bytes = Buffer.from(Array.from({ length: 100 }, (_, i) => `stream-${i} héllo ✓`).join('\n') + '\nno-newline-tail');
      for (let at = 0; at < bytes.length; at += 7) {
        stdout.write(bytes.subarray(at, at + 7));
        await Promise.resolve();
      }
    })();
    await Promise.all([producer('a'), producer('b'), producer('c'), piped]);
    await log.close();
    const lines = readFileSync(path, 'utf8').split('\n');
    assert.equal(lines.pop(), '');
    assert.ok(lines.every((l) => LINE.test(l)), 'every line is timestamped');
    assert.ok(isEndOfLogLine(lines.at(-1) ?? ''));
    for (const name of ['a', 'b', 'c']) {
      const mine = lines.map((l) => l.split(' ')[2] ?? '').filter((t) => t.startsWith(`${name}-`));
      assert.deepEqual(mine, Array.from({ length: 200 }, (_, i) => `${name}-${i}`));
    }
    const streamed = lines.filter((l) => l.includes(' INFO stream-'));
    assert.equal(streamed.length, 100);
    assert.ok(streamed.every((l, i) => l.endsWith(` INFO stream-${i} héllo ✓`)));
    assert.ok(lines.some((l) => l.endsWith(' INFO no-newline-tail')), 'a partial stream line is written on close');
    assert.equal(lines.length, 600 + 100 + 1 + 1);
  });

  void it('does not let task output fake the end marker', async () => {
    const path = freshPath();
    const log = await TaskLogWriter.open(path);
    log.info(END_OF_LOG_MESSAGE);
    await log.flush();
    const chunk = await readTaskLog(path);
    assert.equal(chunk.ended, false);
    await log.close();
    assert.equal((await readTaskLog(path)).ended, true);
  });
});

void describe('readTaskLog', () => {
  void it('reads from a byte offset and reports the end', async () => {
    const path = freshPath();
    await assert.rejects(readTaskLog(path), NotFound);
    const log = await TaskLogWriter.open(path);
    log.info('one');
    await log.flush();
    const first = await readTaskLog(path);
    assert.match(first.text, /INFO one\n$/);
    assert.equal(first.nextByte, statSync(path).size);
    assert.equal(first.ended, false);
    log.info('two');
    await log.close();
    const rest = await readTaskLog(path, { fromByte: first.nextByte });
    assert.match(rest.text, /^\S+ INFO two\n\S+ INFO ::capstan:: end of log\n$/);
    assert.equal(rest.ended, true);
    assert.equal(first.text + rest.text, readFileSync(path, 'utf8'));
  });
});

void describe('followTaskLog', () => {
  void it('tails a file written concurrently, from before it exists to the end marker', async () => {
    const path = freshPath();
    const seen = collector();
    const controller = new AbortController();
    const following = followTaskLog(path, seen.onChunk, controller.signal);
    const log = await TaskLogWriter.open(path);
    log.info('first');
    await seen.until((t) => t.includes('INFO first\n'));
    for (let i = 0; i < 50; i++) log.write('INFO', `line-${i}`);
    await seen.until((t) => t.includes('INFO line-49\n'));
    log.warn('last words');
    await log.close();
    const result = await following;
    assert.equal(result.ended, true);
    assert.equal(controller.signal.aborted, false, 'stopped by the marker, not by abort');
    assert.equal(seen.text(), readFileSync(path, 'utf8'));
    assert.equal(result.nextByte, statSync(path).size);
  });

  void it('stops when the signal aborts, and resumes from nextByte', async () => {
    const path = freshPath();
    const log = await TaskLogWriter.open(path);
    log.info('before');
    await log.flush();
    const seen = collector();
    const controller = new AbortController();
    const following = followTaskLog(path, seen.onChunk, controller.signal, { fromByte: 0 });
    await seen.until((t) => t.includes('before'));
    controller.abort();
    const stopped = await following;
    assert.equal(stopped.ended, false);
    log.info('after');
    await log.close();
    const resumed = collector();
    const done = await followTaskLog(path, resumed.onChunk, new AbortController().signal, { fromByte: stopped.nextByte });
    assert.equal(done.ended, true);
    assert.match(resumed.text(), /^\S+ INFO after\n/);
    assert.equal(seen.text() + resumed.text(), readFileSync(path, 'utf8'));
  });
});

void describe('readTaskLog with a write in progress', () => {
  void it('leaves a multi-byte character cut at the end for the next read', async () => {
    const path = freshPath();
    mkdirSync(dirname(path), { recursive: true });
    const check = Buffer.from('✓'); // three bytes
    writeFileSync(path, Buffer.concat([Buffer.from('2026-01-01T00:00:00.000Z INFO ok '), check.subarray(0, 2)]));
    const first = await readTaskLog(path);
    assert.equal(first.text, '2026-01-01T00:00:00.000Z INFO ok ');
    appendFileSync(path, Buffer.concat([check.subarray(2), Buffer.from('\n')]));
    const second = await readTaskLog(path, { fromByte: first.nextByte });
    assert.equal(second.text, '✓\n');
  });
});
