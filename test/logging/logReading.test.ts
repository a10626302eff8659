/**
 * The same log-reading tests through the API v2 log routes for each task-log store, with tries run by the real
 * LocalExecutor (local task processes): the local-file store (the default, where the task processes write) and
 * the S3 store on a real SeaweedFS server (the tries ship their logs through the Execution API, as worker pods
 * do). Before the reads of the S3 variant the local log files are removed, so every byte comes from the bucket.
 * Covered: a live follow of a running try, resumed with Last-Event-ID; a try with no log yet and a try that never
 * was (404); forward pages with continuation tokens, byte ranges, the tail, and backward pages to the start.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { apiV2Client, type ApiV2Client } from '../../src/api/public/v2/client/index.ts';
import { createFernet } from '../../src/crypto/index.ts';
import { ConnectionStore, connectionFromUri } from '../../src/store/connections.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { waitFor } from '../support/processes.ts';
import { openSse } from '../support/sse.ts';
import { S3_MISSING, startS3Server, weed, type S3TestServer } from './support/seaweedfs.ts';

const LINES = 4000;
const LOG = '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/logs/{tryNumber}' as const;

function dagSource(flag: string): string {
  return `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'reading', schedule: null }, () => {
  new BashOperator({ taskId: 'chatty', bashCommand: 'seq 1 ${LINES} | sed "s/^/row é /"' });
  const gated = new BashOperator({ taskId: 'gated', bashCommand: 'echo before the flag; while [ ! -f ${flag} ]; do sleep 0.05; done; echo after the flag' });
  const next = new BashOperator({ taskId: 'next', bashCommand: 'echo next' });
  gated.before(next);
});
`;
}

const contentOf = (data: string): string => (JSON.parse(data) as { content: string }).content;

interface Store {
  /** Config of the store, as CAPSTAN__ env entries. */
  env: Record<string, string>;
  /** Called once the engine runs (e.g. to add the store's connection). */
  prepare?: (t: TestEngine) => Promise<void>;
  stop?: () => Promise<void>;
}

function logReadingSuite(name: string, store: () => Promise<Store>, options: { removeLocalFiles: boolean }): void {
  void describe(`task log reading through the API: ${name}`, () => {
    let t: TestEngine;
    let s: Store;
    let api: ApiV2Client;
    const flag = join(mkdtempSync(join(tmpdir(), 'capstan-flag-')), 'go');
    const path = (taskId: string, tryNumber = 1) => ({ dagId: 'reading', dagRunId: 'r1', taskId, tryNumber });
    let whole = '';

    before(async () => {
      s = await store();
      t = await startTestEngine({ triggerer: false, dags: { 'reading.ts': dagSource(flag) }, env: { CAPSTAN__LOGGING__SHIP_INTERVAL_MS: '100', ...s.env } });
      await s.prepare?.(t);
      api = apiV2Client({ baseUrl: t.api.url, token: t.adminToken });
    });
    after(async () => {
      await t?.stop();
      await s?.stop?.();
    });

    test('a running try is followed live and resumed with Last-Event-ID; a try with no log yet is a 404', async () => {
      await t.trigger('reading', { runId: 'r1' });
      await waitFor(async () => (await api.call('get', LOG, { path: path('gated') })).status === 200, 'the gated task has a log', 60_000);
      const url = `${t.api.url}/api/v2/dags/reading/dagRuns/r1/taskInstances/gated/logs/1/stream`;
      const auth = { authorization: `Bearer ${t.adminToken}` };
      const first = await openSse(url, auth);
      let resumeFrom: string;
      try {
        const e = await first.next((ev) => ev.event === 'log' && /INFO before the flag\n/.test(contentOf(ev.data)), 30_000);
        assert.ok(e.id !== undefined);
        resumeFrom = e.id;
      } finally {
        first.close();
      }
      assert.equal((await t.taskStates('reading', 'r1'))['gated'], 'running', 'the line came while the try ran');
      // The downstream task has a task instance but no try has written a log.
      const none = await api.call('get', LOG, { path: path('next') });
      assert.equal(none.status, 404);
      assert.match(JSON.stringify(none.error), /no log of try 1 of task 'next'/);

      const resumed = await openSse(url, { ...auth, 'last-event-id': resumeFrom });
      try {
        writeFileSync(flag, '');
        await resumed.next((ev) => ev.event === 'log' && /INFO after the flag\n/.test(contentOf(ev.data)), 30_000);
        await resumed.next((ev) => ev.event === 'end', 30_000);
      } finally {
        resumed.close();
      }
      const again = resumed.events.filter((ev) => ev.event === 'log').map((ev) => contentOf(ev.data)).join('');
      assert.doesNotMatch(again, /INFO before the flag\n/, 'the resumed stream starts after the last event seen');
      assert.match(again, /INFO after the flag\n/);
      assert.equal((await t.waitForRun('reading', 'r1', { timeoutMs: 60_000 })).state, 'success');
    });

    test('forward pages with tokens, byte ranges, the tail and backward pages read the same log; a try that never was is a 404', async () => {
      await waitFor(async () => (await api.call('get', LOG, { path: path('chatty') })).data?.ended === true, 'the chatty log ended', 30_000);
      if (options.removeLocalFiles) {
        const local = join(t.engine.config.logging.baseLogFolder, 'dag_id=reading');
        assert.ok(existsSync(local), 'the local task processes wrote their files');
        rmSync(local, { recursive: true, force: true });
      }
      const all = await api.call('get', LOG, { path: path('chatty'), query: { maxBytes: 8 * 1024 * 1024 } });
      assert.ok(all.data, JSON.stringify(all.error));
      whole = all.data.content;
      assert.equal(all.data.source, 'store');
      assert.equal(all.data.ended, true);
      assert.equal(whole.split('\n').filter((l) => / INFO row é \d+$/.test(l)).length, LINES);
      const bytes = Buffer.from(whole);

      let forward = '';
      let token: string | undefined;
      let pages = 0;
      for (;;) {
        const { data, error } = await api.call('get', LOG, { path: path('chatty'), query: { maxBytes: 10_000, ...(token ? { token } : {}) } });
        assert.ok(data, JSON.stringify(error));
        forward += data.content;
        pages++;
        if (data.continuationToken === null) break;
        token = data.continuationToken;
      }
      assert.ok(pages > 5);
      assert.equal(forward, whole);

      const range = await api.call('get', LOG, { path: path('chatty'), query: { fromByte: 1000, toByte: 5000 } });
      assert.deepEqual([range.data?.fromByte, range.data?.content], [1000, bytes.subarray(1000, 5000).toString()]);

      const tail = await api.call('get', LOG, { path: path('chatty'), query: { tailBytes: 2000 } });
      assert.ok(tail.data);
      assert.equal(tail.data.ended, true);
      assert.equal(tail.data.nextByte, bytes.length);
      assert.ok(tail.data.fromByte > 0 && bytes[tail.data.fromByte - 1] === 0x0a, 'the tail starts at a whole line');
      assert.equal(tail.data.content, bytes.subarray(tail.data.fromByte).toString());

      const back = [tail.data.content];
      let before = tail.data.previousToken;
      let end = tail.data.fromByte;
      while (before !== null) {
        const cursor: string = before;
        const { data, error } = await api.call('get', LOG, { path: path('chatty'), query: { before: cursor, maxBytes: 7_000 } });
        assert.ok(data, JSON.stringify(error));
        assert.equal(data.nextByte, end, 'a page ends where the later one began');
        assert.ok(data.fromByte === 0 || bytes[data.fromByte - 1] === 0x0a, `page at ${data.fromByte} starts inside a line`);
        back.unshift(data.content);
        end = data.fromByte;
        before = data.previousToken;
      }
      assert.equal(back.join(''), whole);
      const page = await api.call('get', LOG, { path: path('chatty'), query: { endByte: 3000, maxBytes: 1000 } });
      assert.equal(page.data?.nextByte, 3000);
      assert.equal(page.data?.content, bytes.subarray(page.data?.fromByte ?? 0, 3000).toString());

      assert.equal((await api.call('get', LOG, { path: path('chatty', 2) })).status, 404);
      assert.equal((await api.call('get', LOG, { path: { ...path('chatty'), taskId: 'no_such_task' } })).status, 404);
    });
  });
}

logReadingSuite('local files (the default)', async () => ({ env: {} }), { removeLocalFiles: false });

if (weed) {
  logReadingSuite(
    'S3 (SeaweedFS)',
    async () => {
      const s3: S3TestServer = await startS3Server();
      return {
        env: {
          CAPSTAN__LOGGING__REMOTE_STORE: 's3', CAPSTAN__LOGGING__REMOTE_BUCKET: s3.bucket, CAPSTAN__LOGGING__REMOTE_ENDPOINT: s3.endpoint,
          CAPSTAN__LOGGING__REMOTE_FORCE_PATH_STYLE: 'true', CAPSTAN__LOGGING__REMOTE_CONN_ID: 'logs_s3', CAPSTAN__LOGGING__REMOTE_PREFIX: 'reading',
        },
        prepare: async (t) => {
          const fernet = createFernet(t.engine.config.core.fernetKey);
          await new ConnectionStore(t.engine.db, { fernet }).add(connectionFromUri('logs_s3', `aws://${encodeURIComponent(s3.accessKeyId)}:${encodeURIComponent(s3.secretAccessKey)}@s3`));
        },
        stop: () => s3.stop(),
      };
    },
    { removeLocalFiles: true },
  );
} else {
  void describe('task log reading through the API: S3 (SeaweedFS)', { skip: S3_MISSING }, () => undefined);
}
