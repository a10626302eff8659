/**
 * TaskLogAppender (the triggerer writing a deferred try's log): it waits for the deferring process's end marker,
 * then appends masked, timestamped lines at the stored end — never inside what the task process wrote.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalFileTaskLogHandler } from '../../src/logging/logHandler.ts';
import { TaskLogAppender } from '../../src/logging/taskLogAppender.ts';
import { END_OF_LOG_MESSAGE, type TaskLogKey } from '../../src/logging/taskLog.ts';
import { waitFor } from '../support/processes.ts';

const KEY: TaskLogKey = { dagId: 'd', runId: 'r', taskId: 't', tryNumber: 1 };

test('waits for the deferring process to end its log, then appends masked lines after it', async () => {
  const handler = new LocalFileTaskLogHandler(mkdtempSync(join(tmpdir(), 'capstan-append-')));
  let sizeAsked = 0;
  const size = handler.size.bind(handler);
  handler.size = (key) => {
    sizeAsked++;
    return size(key);
  };
  const first = '2026-01-01T00:00:00.000Z INFO deferring\n';
  await handler.write(KEY, 0, Buffer.from(first));
  const out = new TaskLogAppender(handler, async () => KEY, { mask: (t) => t.replaceAll('s3cr3t', '***'), now: () => new Date('2026-01-01T00:00:01.000Z') });
  out.info('[base] token s3cr3t');
  out.info(END_OF_LOG_MESSAGE);
  // The task process still writes its last lines: nothing is appended before its end marker (looked at twice).
  await waitFor(() => sizeAsked >= 2, 'the appender looked for the end marker twice');
  assert.equal((await handler.read(KEY)).text, first);
  const end = `2026-01-01T00:00:00.500Z INFO try paused: deferred\n2026-01-01T00:00:00.500Z INFO ${END_OF_LOG_MESSAGE}\n`;
  await handler.write(KEY, Buffer.byteLength(first), Buffer.from(end));
  await out.flush();
  const log = (await handler.read(KEY)).text;
  assert.equal(log, `${first}${end}2026-01-01T00:00:01.000Z INFO [base] token ***\n2026-01-01T00:00:01.000Z INFO ${END_OF_LOG_MESSAGE} (written by the task)\n`);
  assert.equal((await handler.read(KEY)).ended, false, 'only the task log writer ends a log');
  out.info('[base] later');
  await out.flush();
  assert.ok((await handler.read(KEY)).text.endsWith('INFO [base] later\n'));
});

test('writes anyway once the settle timeout passes (a deferring process that died before its end marker)', async () => {
  const handler = new LocalFileTaskLogHandler(mkdtempSync(join(tmpdir(), 'capstan-append-')));
  await handler.write(KEY, 0, Buffer.from('x INFO deferring\n'));
  const out = new TaskLogAppender(handler, async () => KEY, { settleTimeoutMs: 100 });
  out.info('[base] hello');
  await out.flush();
  assert.match((await handler.read(KEY)).text, /^x INFO deferring\n\S+ INFO \[base\] hello\n$/);
});
