/**
 * The TaskLogHandler contract (logHandlerContract.ts) against each implementation: the local-file handler
 * (the default) and the S3 handler on a real SeaweedFS S3 gateway started here (CI: CAPSTAN_S3_REQUIRED=1).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LocalFileTaskLogHandler } from '../../src/logging/logHandler.ts';
import { ObjectStoreTaskLogHandler } from '../../src/logging/objectStoreHandler.ts';
import { taskLogHandlerFor } from '../../src/logging/handlerFromConfig.ts';
import { loadConfig } from '../../src/config/index.ts';
import { taskLogHandlerContract } from './logHandlerContract.ts';
import { S3_MISSING, startS3Server, weed, type S3TestServer } from './support/seaweedfs.ts';

void describe('local-file task log handler', () => {
  const base = mkdtempSync(join(tmpdir(), 'capstan-logstore-'));
  taskLogHandlerContract(() => new LocalFileTaskLogHandler(base));
});

void describe('S3 task log handler (SeaweedFS)', { skip: weed ? false : S3_MISSING }, () => {
  let server: S3TestServer;
  const handlers: ObjectStoreTaskLogHandler[] = [];
  before(async () => {
    server = await startS3Server();
  });
  after(async () => {
    for (const h of handlers) h.destroy();
    await server?.stop();
  });
  const make = (prefix = 'capstan/logs', secretAccessKey = server.secretAccessKey): ObjectStoreTaskLogHandler => {
    const h = new ObjectStoreTaskLogHandler({ bucket: server.bucket, prefix, endpoint: server.endpoint, region: server.region, forcePathStyle: true }, { accessKeyId: server.accessKeyId, secretAccessKey });
    handlers.push(h);
    return h;
  };

  taskLogHandlerContract(() => make());

  test('prefixes keep stores apart; a wrong secret is refused by the server', async () => {
    const key = { dagId: 'p', runId: 'r', taskId: 't', tryNumber: 1 };
    await make('team-a').write(key, 0, Buffer.from('a\n'));
    assert.equal(await make('team-b').size(key), 0);
    await assert.rejects(make('team-a', 'not-the-secret').size(key), (err: unknown) => /signature|access/i.test(String((err as Error).name) + String((err as Error).message)));
  });

  test('logging.remoteStore s3 builds the handler from config, with the credentials of a connection', async () => {
    const config = loadConfig({ env: { CAPSTAN_HOME: mkdtempSync(join(tmpdir(), 'capstan-home-')), CAPSTAN__LOGGING__REMOTE_STORE: 's3', CAPSTAN__LOGGING__REMOTE_BUCKET: server.bucket,
      CAPSTAN__LOGGING__REMOTE_ENDPOINT: server.endpoint, CAPSTAN__LOGGING__REMOTE_FORCE_PATH_STYLE: 'true', CAPSTAN__LOGGING__REMOTE_CONN_ID: 'logs_s3', CAPSTAN__LOGGING__REMOTE_PREFIX: '/from-config/' } });
    const asked: string[] = [];
    const h = taskLogHandlerFor(config.logging, async (id) => {
      asked.push(id);
      return { login: server.accessKeyId, password: server.secretAccessKey, extra: {} };
    });
    assert.ok(h instanceof ObjectStoreTaskLogHandler);
    handlers.push(h);
    assert.equal(h.location.prefix, 'from-config');
    const key = { dagId: 'cfg', runId: 'r', taskId: 't', tryNumber: 1 };
    await h.write(key, 0, Buffer.from('x\n'));
    assert.equal((await make('from-config').read(key)).text, 'x\n');
    assert.ok(asked.includes('logs_s3'));
  });
});

void describe('task log handler from config', () => {
  test('the local-file handler is the default; s3 without a bucket is a config error naming the key', () => {
    const home = mkdtempSync(join(tmpdir(), 'capstan-home-'));
    const local = taskLogHandlerFor(loadConfig({ env: { CAPSTAN_HOME: home } }).logging);
    assert.ok(local instanceof LocalFileTaskLogHandler);
    assert.equal(local.baseFolder, join(home, 'logs'));
    assert.throws(() => taskLogHandlerFor(loadConfig({ env: { CAPSTAN_HOME: home, CAPSTAN__LOGGING__REMOTE_STORE: 's3' } }).logging), /logging\.remoteBucket/);
  });
});
