/**
 * API v2 log paging over a multi-megabyte log of a real task process: opened at its tail, then read
 * backwards page by page with `previousToken` (and `endByte`) to its start; the pages join into exactly the
 * log read forwards with continuation tokens, each backward page starts at a whole line, and the
 * backward-read parameters are validated.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiV2Client, type ApiV2Client } from '../../../src/api/public/v2/client/index.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const LINES = 200_000;
const BIG = `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'big_log', schedule: null }, () => {
  new BashOperator({ taskId: 'chatty', bashCommand: 'seq 1 ${LINES} | sed "s/^/row é /"' });
});
`;
const PAGE = 512 * 1024;

describe('API v2 log paging backwards', () => {
  let t: TestEngine;
  let api: ApiV2Client;
  const path = { dagId: 'big_log', dagRunId: 'r1', taskId: 'chatty', tryNumber: 1 };
  const LOG = '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/logs/{tryNumber}' as const;
  let forward = '';
  before(async () => {
    t = await startTestEngine({ triggerer: false, dags: { 'big.ts': BIG } });
    api = apiV2Client({ baseUrl: t.api.url, token: t.adminToken });
    await t.trigger('big_log', { runId: 'r1' });
    assert.equal((await t.waitForRun('big_log', 'r1', { timeoutMs: 120_000 })).state, 'success');
    let token: string | undefined;
    for (;;) {
      const { data, error } = await api.call('get', LOG, { path, query: { maxBytes: PAGE, ...(token ? { token } : {}) } });
      assert.ok(data, JSON.stringify(error));
      forward += data.content;
      if (data.continuationToken === null) break;
      token = data.continuationToken;
    }
  });
  after(async () => {
    await t.stop();
  });

  test('the log is several megabytes and read forwards whole', () => {
    assert.ok(Buffer.byteLength(forward) > 3 * 1024 * 1024, `only ${Buffer.byteLength(forward)} bytes`);
    assert.match(forward, new RegExp(`row é 1\\n[\\s\\S]*row é ${LINES}\\n`));
  });

  test('tail, then previousToken pages back to the start: whole lines, joined they are the log', async () => {
    const tail = await api.call('get', LOG, { path, query: { tailBytes: 64 * 1024 } });
    assert.ok(tail.data, JSON.stringify(tail.error));
    assert.equal(tail.data.ended, true);
    assert.ok(tail.data.previousToken !== null && tail.data.fromByte > 0);
    const bytes = Buffer.from(forward);
    const pages = [tail.data.content];
    let before: string | null = tail.data.previousToken;
    let expectedEnd = tail.data.fromByte;
    let reads = 0;
    while (before !== null) {
      const cursor: string = before;
      const { data, error } = await api.call('get', LOG, { path, query: { before: cursor, maxBytes: PAGE } });
      assert.ok(data, JSON.stringify(error));
      assert.equal(data.nextByte, expectedEnd, 'a page ends where the later one began');
      assert.ok(Buffer.byteLength(data.content) <= PAGE);
      assert.ok(data.fromByte === 0 || bytes[data.fromByte - 1] === 0x0a, `page at ${data.fromByte} starts inside a line`);
      pages.unshift(data.content);
      expectedEnd = data.fromByte;
      before = data.previousToken;
      reads++;
    }
    assert.ok(reads >= 6, `${reads} backward reads`);
    assert.equal(pages.join(''), forward);
  });

  test('endByte reads the page ending there; the first page has no previousToken', async () => {
    const bytes = Buffer.from(forward);
    const end = bytes.lastIndexOf(0x0a, bytes.indexOf('row é 100000\n')) + 1;
    const { data } = await api.call('get', LOG, { path, query: { endByte: end, maxBytes: 1000 } });
    assert.ok(data);
    assert.equal(data.nextByte, end);
    assert.equal(data.content, bytes.subarray(data.fromByte, end).toString());
    assert.match(data.content, /^\S+ INFO row é \d+\n[\s\S]*row é 99999\n$/);
    const start = await api.call('get', LOG, { path, query: { endByte: 100, maxBytes: 1000 } });
    assert.deepEqual([start.data?.fromByte, start.data?.previousToken, start.data?.content], [0, null, bytes.subarray(0, 100).toString()]);
  });

  test('backward-read parameters: one way of reading at a time, tokens checked, toByte only forwards', async () => {
    const both = await api.call('get', LOG, { path, query: { endByte: 10, fromByte: 0 } });
    assert.equal(both.status, 400);
    const badBefore = await api.call('get', LOG, { path, query: { before: 'nope' } });
    assert.equal(badBefore.error?.error.field, 'before');
    const toByte = await api.call('get', LOG, { path, query: { endByte: 10, toByte: 5 } });
    assert.equal(toByte.error?.error.field, 'toByte');
  });
});
