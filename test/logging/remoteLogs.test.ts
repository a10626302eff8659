/**
 * Task logs in S3, end to end on a real SeaweedFS S3 gateway: workers with homes of their own (`capstan tasks run`,
 * as worker pods) ship their logs through the Execution API; the API server (logging.remoteStore s3, credentials
 * from a connection) stores them in the bucket and serves them — byte ranges, the tail, a live follow of a running
 * try, secrets masked. Then the logs outlive the API server: a second API server with a home of its own (no log
 * files) reads them, and so does a restarted one, after the first server's log folder is gone.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createEngine } from '../../src/app/components.ts';
import { startApiServer } from '../../src/app/roles.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createFernet } from '../../src/crypto/index.ts';
import { ConnectionStore, connectionFromUri } from '../../src/store/connections.ts';
import { VariableStore } from '../../src/store/variables.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { waitFor } from '../support/processes.ts';
import { openSse } from '../support/sse.ts';
import { SeparateHomeExecutor } from './support/separateHomeExecutor.ts';
import { S3_MISSING, startS3Server, weed, type S3TestServer } from './support/seaweedfs.ts';

const SECRET = 'smtp-secret-7d6c5b4a';

function dagSource(flag: string): string {
  return `
import { existsSync } from 'node:fs';
import { dag, task, getCurrentContext } from 'capstan';
const talk = task({ taskId: 'talk' }, async () => {
  for (let i = 0; i < 200; i++) console.log('line ' + i + ' ' + 'x'.repeat(40));
  console.log('the password is ' + (await getCurrentContext().getVariable('smtp_password')));
  return 1;
});
const slow = task({ taskId: 'slow' }, async () => {
  console.log('before the flag');
  while (!existsSync(${JSON.stringify(flag)})) await new Promise((r) => setTimeout(r, 50));
  console.log('after the flag');
});
dag({ dagId: 'remote_logs', schedule: null }, () => { talk(); slow(); });
`;
}

interface LogChunk { content: string; fromByte: number; nextByte: number; ended: boolean; source: string }

void describe('task logs in S3 (SeaweedFS)', { skip: weed ? false : S3_MISSING }, () => {
  let s3: S3TestServer;
  let t: TestEngine;
  let s3env: Record<string, string>;
  const flag = join(mkdtempSync(join(tmpdir(), 'capstan-flag-')), 'go');
  const logPath = (taskId: string) => `/api/v2/dags/remote_logs/dagRuns/r1/taskInstances/${taskId}/logs/1`;

  before(async () => {
    s3 = await startS3Server();
    s3env = {
      CAPSTAN__LOGGING__REMOTE_STORE: 's3', CAPSTAN__LOGGING__REMOTE_BUCKET: s3.bucket, CAPSTAN__LOGGING__REMOTE_ENDPOINT: s3.endpoint,
      CAPSTAN__LOGGING__REMOTE_FORCE_PATH_STYLE: 'true', CAPSTAN__LOGGING__REMOTE_CONN_ID: 'logs_s3', CAPSTAN__LOGGING__REMOTE_PREFIX: 'e2e',
    };
    t = await startTestEngine({ dags: { 'remote.ts': dagSource(flag) }, env: s3env, triggerer: false, executor: (engine, apiUrl) => new SeparateHomeExecutor(engine, apiUrl) });
    const fernet = createFernet(t.engine.config.core.fernetKey);
    await new ConnectionStore(t.engine.db, { fernet }).add(connectionFromUri('logs_s3', `aws://${encodeURIComponent(s3.accessKeyId)}:${encodeURIComponent(s3.secretAccessKey)}@s3`));
    await new VariableStore(t.engine.db, { fernet }).set('smtp_password', SECRET);
  });
  after(async () => {
    await t?.stop();
    await s3?.stop();
  });

  test('a running try is followed live from the store; its whole log reads back by range and tail, masked', async () => {
    await t.trigger('remote_logs', { runId: 'r1' });
    await waitFor(async () => (await t.apiFetch(logPath('slow'))).status === 200, 'the slow task shipped its first line', 30_000);
    const sse = await openSse(`${t.api.url}${logPath('slow')}/stream`, { authorization: `Bearer ${t.adminToken}` });
    try {
      await sse.next((e) => e.event === 'log' && e.data.includes('before the flag'), 30_000);
      assert.equal((await t.taskStates('remote_logs', 'r1'))['slow'], 'running', 'the line came while the try ran');
      writeFileSync(flag, '');
      await sse.next((e) => e.event === 'log' && e.data.includes('after the flag'), 30_000);
      await sse.next((e) => e.event === 'end', 30_000);
    } finally {
      sse.close();
    }
    assert.equal((await t.waitForRun('remote_logs', 'r1', { timeoutMs: 60_000 })).state, 'success');
    await waitFor(async () => ((await (await t.apiFetch(logPath('talk'))).json()) as LogChunk).ended, 'the talk log ended', 30_000);

    const whole = (await (await t.apiFetch(logPath('talk'))).json()) as LogChunk;
    assert.equal(whole.source, 'store');
    assert.equal(whole.content.split('\n').filter((l) => / INFO line \d+ x+$/.test(l)).length, 200);
    assert.match(whole.content, /INFO the password is \*\*\*\n/);
    assert.ok(!whole.content.includes(SECRET));
    const page = (await (await t.apiFetch(`${logPath('talk')}?fromByte=100&toByte=300`)).json()) as LogChunk;
    assert.deepEqual([page.fromByte, page.nextByte, page.content], [100, 300, Buffer.from(whole.content).subarray(100, 300).toString()]);
    const tail = (await (await t.apiFetch(`${logPath('talk')}?tailBytes=200`)).json()) as LogChunk;
    assert.ok(whole.content.endsWith(tail.content) && tail.content.length > 0 && tail.content.length <= 200);
    assert.ok(tail.ended);

    // The bytes are in the bucket, compacted into one object per ended try, without the secret.
    const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    try {
      const keys = ((await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'e2e/dag_id=remote_logs/' }))).Contents ?? []).map((o) => o.Key);
      assert.deepEqual(keys.sort(), ['e2e/dag_id=remote_logs/run_id=r1/task_id=slow/attempt=1.log', 'e2e/dag_id=remote_logs/run_id=r1/task_id=talk/attempt=1.log']);
      const body = await (await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'e2e/dag_id=remote_logs/run_id=r1/task_id=talk/attempt=1.log' }))).Body?.transformToString();
      assert.equal(body, whole.content);
    } finally {
      client.destroy();
    }
    // Nothing was kept in the first server's log folder.
    assert.ok(!existsSync(join(t.engine.config.logging.baseLogFolder, 'dag_id=remote_logs')));
  });

  test('a second API server with no log files of its own reads the logs; so does it after a restart, the first gone', async () => {
    const expected = ((await (await t.apiFetch(logPath('talk'))).json()) as LogChunk).content;
    const startSecond = async () => {
      const home = mkdtempSync(join(tmpdir(), 'capstan-api2-'));
      // Same database and keys (one deployment), a home of its own: its log folder is empty.
      const config = loadConfig({ env: { CAPSTAN_HOME: home, CAPSTAN__API__PORT: '0', CAPSTAN__LOGGING__LEVEL: 'warn', CAPSTAN__CORE__LOAD_EXAMPLES: 'false',
        CAPSTAN__API__SECRET_KEY: t.engine.config.api.secretKey, CAPSTAN__CORE__FERNET_KEY: t.engine.config.core.fernetKey, ...s3env } });
      const server = await startApiServer(createEngine(config, { db: t.engine.db }));
      return { server, stop: async () => { await server.close(); rmSync(home, { recursive: true, force: true }); } };
    };
    const read = async (url: string) => (await (await fetch(`${url}${logPath('talk')}`, { headers: { authorization: `Bearer ${t.adminToken}` } })).json()) as LogChunk;

    const second = await startSecond();
    try {
      assert.equal((await read(second.server.url)).content, expected);
    } finally {
      await second.stop();
    }
    rmSync(t.engine.config.logging.baseLogFolder, { recursive: true, force: true });
    const restarted = await startSecond();
    try {
      const chunk = await read(restarted.server.url);
      assert.equal(chunk.content, expected);
      assert.equal(chunk.ended, true);
    } finally {
      await restarted.stop();
    }
  });
});
