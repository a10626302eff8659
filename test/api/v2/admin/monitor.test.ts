/**
 * /api/v2 monitoring with the typed client: /monitor/health reports the database and each role's heartbeat
 * (the test engine's scheduler; a triggerer and a DAG processor registered as real jobs), /jobs lists them
 * with liveness, /version answers package.json's version, and the off-by-default settings: /config and the
 * connection test answer 404 until turned on (then /config shows options with secrets redacted).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { apiV2Client } from '../../../../src/api/public/v2/client/index.ts';
import { JobRegistry } from '../../../../src/store/jobs.ts';
import { startTestEngine, type TestEngine } from '../../../support/engine.ts';
import { roleClients, type RoleClients } from './support.ts';

describe('API v2 monitoring, version and config', () => {
  let t: TestEngine;
  let as: RoleClients;
  before(async () => {
    t = await startTestEngine({ triggerer: false });
    as = await roleClients(t);
  });
  after(() => t.stop());

  test('health: the database and the scheduler are healthy; roles without a live process are not', async () => {
    const deadline = Date.now() + 20_000;
    let health = await as.Viewer.call('get', '/monitor/health', {});
    while (health.data?.scheduler.status !== 'healthy' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      health = await as.Viewer.call('get', '/monitor/health', {});
    }
    assert.equal(health.status, 200);
    assert.deepEqual([health.data?.status, health.data?.metadatabase.status, health.data?.scheduler.status], ['healthy', 'healthy', 'healthy']);
    assert.deepEqual([health.data?.triggerer, health.data?.dagProcessor], [{ status: 'unhealthy', latestHeartbeat: null }, { status: 'unhealthy', latestHeartbeat: null }]);
    assert.equal((await as.anonymous.call('get', '/monitor/health', {})).status, 401);

    const jobs = new JobRegistry(t.engine.db);
    await jobs.register('triggerer');
    const stale = new JobRegistry(t.engine.db, { now: () => Date.now() - 10 * 60_000 });
    await stale.register('dag_processor');
    const later = await as.Viewer.call('get', '/monitor/health', {});
    assert.equal(later.data?.triggerer.status, 'healthy');
    assert.equal(later.data?.dagProcessor.status, 'unhealthy', 'a heartbeat older than the threshold is not healthy');
    assert.notEqual(later.data?.dagProcessor.latestHeartbeat, null);
  });

  test('jobs: listed with liveness, filtered by type and isAlive', async () => {
    const all = await as.Viewer.call('get', '/jobs', {});
    assert.equal(all.status, 200);
    assert.deepEqual(all.data?.jobs.map((j) => j.jobType).sort(), ['dag_processor', 'scheduler', 'triggerer']);
    const alive = await as.Viewer.call('get', '/jobs', { query: { isAlive: true, jobType: 'dag_processor' } });
    assert.equal(alive.data?.totalEntries, 0);
    const dead = await as.Viewer.call('get', '/jobs', { query: { isAlive: false, jobType: 'dag_processor' } });
    assert.deepEqual(dead.data?.jobs.map((j) => [j.jobType, j.isAlive, j.state]), [['dag_processor', false, 'running']]);
    assert.deepEqual((await as.Viewer.call('get', '/jobs', { query: { jobType: 'scheduler' } })).data?.jobs.map((j) => j.isAlive), [true]);
    assert.equal((await as.Viewer.call('get', '/jobs', { query: { jobState: 'zombie' as never } })).status, 400);
  });

  test('version is package.json’s', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.deepEqual((await as.Viewer.call('get', '/version', {})).data, { version: pkg.version, gitVersion: null });
  });

  test('config and the connection test are off by default (404 naming the setting); config needs Op', async () => {
    const off = await as.Op.call('get', '/config', {});
    assert.deepEqual([off.status, off.error?.error.code], [404, 'not_found']);
    assert.match(off.error?.error.hint ?? '', /api\.exposeConfig/);
    assert.equal((await as.Viewer.call('get', '/config', {})).status, 403);
    const test = await as.Op.call('post', '/connections/test', { body: { connectionId: 'x', connType: 'http', host: '127.0.0.1' } });
    assert.deepEqual([test.status, test.error?.error.code], [404, 'not_found']);
    assert.match(test.error?.error.hint ?? '', /api\.testConnection/);
  });
});

describe('API v2 config when exposed', () => {
  let t: TestEngine;
  before(async () => {
    t = await startTestEngine({ triggerer: false, env: { CAPSTAN__API__EXPOSE_CONFIG: 'true', CAPSTAN__AUTH__JWT_SECRET: 'jwt-secret-for-the-test-0123' } });
  });
  after(() => t.stop());

  test('every option with its source; secrets redacted; one section with ?section=', async () => {
    const admin = apiV2Client({ baseUrl: t.api.url, token: t.adminToken });
    const all = await admin.call('get', '/config', {});
    assert.equal(all.status, 200);
    const text = JSON.stringify(all.data);
    for (const secret of [t.engine.config.core.fernetKey, t.engine.config.api.secretKey, 'jwt-secret-for-the-test-0123']) assert.ok(!text.includes(secret), 'a secret leaked');
    const auth = all.data?.sections.find((s) => s.name === 'auth');
    assert.deepEqual(auth?.options.find((o) => o.key === 'jwtSecret'), { key: 'jwtSecret', value: '***', source: 'CAPSTAN__AUTH__JWT_SECRET' });
    const api = await admin.call('get', '/config', { query: { section: 'api' } });
    assert.deepEqual(api.data?.sections.map((s) => s.name), ['api']);
    assert.deepEqual(api.data?.sections[0]?.options.find((o) => o.key === 'exposeConfig'), { key: 'exposeConfig', value: true, source: 'CAPSTAN__API__EXPOSE_CONFIG' });
    assert.equal((await admin.call('get', '/config', { query: { section: 'nope' as never } })).status, 400);
  });
});
