/**
 * /api/v2/connections over real HTTP with the typed client: Op-only CRUD, secrets write-only (the password
 * and secret-named extra fields answered as ***, never in any body; a patch without them keeps them), 409
 * and 400 answers, and the test action against real servers — a PostgreSQL login, a TCP port, an HTTP base
 * URL — each failing honestly when it should.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, stopPostgres, type TestDatabase } from '../../../support/postgres.ts';
import { startTestEngine, type TestEngine } from '../../../support/engine.ts';
import { roleClients, type RoleClients } from './support.ts';

describe('API v2 connections', () => {
  let t: TestEngine;
  let as: RoleClients;
  before(async () => {
    t = await startTestEngine({ env: { CAPSTAN__API__TEST_CONNECTION: 'true' }, triggerer: false });
    as = await roleClients(t);
  });
  after(async () => {
    await t.stop();
    await stopPostgres();
  });

  test('only Op and Admin may read or change connections', async () => {
    for (const role of ['Viewer', 'User'] as const) {
      assert.equal((await as[role].call('get', '/connections', {})).status, 403, role);
      assert.equal((await as[role].call('post', '/connections', { body: { connectionId: 'x', connType: 'http' } })).status, 403, role);
    }
    assert.equal((await as.anonymous.call('get', '/connections', {})).status, 401);
    assert.equal((await as.Op.call('get', '/connections', {})).status, 200);
  });

  test('create, get and list answer secrets as *** and never their values', async () => {
    const body = { connectionId: 'warehouse', connType: 'postgres', host: 'db.internal', port: 5432, login: 'etl', password: 'pg-s3cret-pw', schema: 'dw', extra: { sslmode: 'require', api_key: 'k-98765432', nested: { client_secret: 'cs-1234567' } } };
    const created = await as.Op.call('post', '/connections', { body });
    assert.equal(created.status, 201);
    assert.deepEqual(created.data, { connectionId: 'warehouse', connType: 'postgres', description: null, host: 'db.internal', login: 'etl', schema: 'dw', port: 5432, password: '***', extra: { sslmode: 'require', api_key: '***', nested: { client_secret: '***' } } });
    const got = await as.Op.call('get', '/connections/{connectionId}', { path: { connectionId: 'warehouse' } });
    assert.deepEqual(got.data, created.data);
    const listText = await (await t.apiFetch('/api/v2/connections')).text();
    for (const secret of ['pg-s3cret-pw', 'k-98765432', 'cs-1234567']) assert.ok(!listText.includes(secret), `${secret} leaked in the list`);
    // The stored connection is whole: tasks resolve the real password.
    assert.equal((await t.engine.secrets.requireConnection('warehouse')).password, 'pg-s3cret-pw');
    const dup = await as.Op.call('post', '/connections', { body });
    assert.deepEqual([dup.status, dup.error?.error.code], [409, 'conflict']);
  });

  test('patch keeps the password and masked extras it is not given; null removes the password', async () => {
    const r = await as.Op.call('patch', '/connections/{connectionId}', { path: { connectionId: 'warehouse' }, body: { host: 'db2.internal', password: '***', extra: { sslmode: 'verify-full', api_key: '***', nested: { client_secret: '***' } } } });
    assert.equal(r.status, 200);
    assert.equal(r.data?.host, 'db2.internal');
    const stored = await t.engine.secrets.requireConnection('warehouse');
    assert.deepEqual([stored.password, stored.extra], ['pg-s3cret-pw', { sslmode: 'verify-full', api_key: 'k-98765432', nested: { client_secret: 'cs-1234567' } }]);
    await as.Op.call('patch', '/connections/{connectionId}', { path: { connectionId: 'warehouse' }, body: { port: 6543 } });
    assert.equal((await t.engine.secrets.requireConnection('warehouse')).password, 'pg-s3cret-pw');
    const cleared = await as.Op.call('patch', '/connections/{connectionId}', { path: { connectionId: 'warehouse' }, body: { password: null } });
    assert.equal(cleared.data?.password, null);
    assert.equal((await t.engine.secrets.requireConnection('warehouse')).password, null);
    const bad = await as.Op.call('patch', '/connections/{connectionId}', { path: { connectionId: 'warehouse' }, body: { port: 70_000 } });
    assert.deepEqual([bad.status, bad.error?.error.field], [400, 'port']);
    const unknown = await as.Op.call('patch', '/connections/{connectionId}', { path: { connectionId: 'nope' }, body: { host: 'x' } });
    assert.equal(unknown.status, 404);
  });

  test('list pages, orders and filters by id', async () => {
    for (const id of ['api_a', 'api_b', 'API_c']) await as.Op.call('post', '/connections', { body: { connectionId: id, connType: 'http', host: `${id}.example` } });
    const page = await as.Op.call('get', '/connections', { query: { connectionIdPattern: 'api_', orderBy: '-connId', limit: 2 } });
    assert.deepEqual([page.data?.connections.map((c) => c.connectionId), page.data?.totalEntries], [['api_b', 'api_a'], 3]);
    const next = await as.Op.call('get', '/connections', { query: { connectionIdPattern: 'api_', orderBy: '-connId', limit: 2, offset: 2 } });
    assert.deepEqual(next.data?.connections.map((c) => c.connectionId), ['API_c']);
    assert.equal((await as.Op.call('get', '/connections', { query: { orderBy: 'password' as never } })).status, 400);
  });

  test('delete removes it; a second delete is 404; the audit log records who did it', async () => {
    assert.equal((await as.Op.call('delete', '/connections/{connectionId}', { path: { connectionId: 'api_a' } })).status, 200);
    assert.equal((await as.Op.call('get', '/connections/{connectionId}', { path: { connectionId: 'api_a' } })).status, 404);
    assert.equal((await as.Op.call('delete', '/connections/{connectionId}', { path: { connectionId: 'api_a' } })).status, 404);
    const events = await t.engine.db.db.selectFrom('audit_log').select(['event', 'actor', 'details']).where('event', 'like', 'connection.%').orderBy('id').execute();
    assert.ok(events.some((e) => e.event === 'connection.create' && e.actor === 'op (token test)'));
    assert.ok(events.some((e) => e.event === 'connection.delete' && e.actor === 'op (token test)' && (e.details ?? '').includes('"outcome":"success"')));
    assert.ok(events.every((e) => !(e.details ?? '').includes('pg-s3cret-pw')), 'no secret in the audit log');
  });

  describe('test action', () => {
    let pgDb: TestDatabase;
    before(async () => {
      pgDb = await createTestDatabase();
    });
    after(async () => {
      await pgDb.drop();
    });

    test('postgres: a real login passes; a database the server refuses fails at the login step', async () => {
      const url = new URL(pgDb.url);
      const conn = { connectionId: 'pg_real', connType: 'postgres', host: url.hostname, port: Number(url.port), login: decodeURIComponent(url.username), password: decodeURIComponent(url.password), schema: url.pathname.slice(1) };
      const ok = await as.Op.call('post', '/connections/test', { body: conn });
      assert.equal(ok.status, 200);
      assert.equal(ok.data?.status, true, JSON.stringify(ok.data));
      assert.deepEqual(ok.data?.checks.map((c) => [c.name, c.ok]), [['resolve', true], ['connect', true], ['login', true]]);
      // The test server trusts local logins, so the refusal comes from a database that does not exist.
      const wrong = await as.Op.call('post', '/connections/test', { body: { ...conn, schema: 'no_such_database', password: 'definitely-wrong' } });
      assert.equal(wrong.data?.status, false);
      assert.deepEqual(wrong.data?.checks.map((c) => [c.name, c.ok]), [['resolve', true], ['connect', true], ['login', false]]);
      assert.match(wrong.data?.message ?? '', /PostgreSQL refused the login: .*no_such_database/);
      assert.ok(!JSON.stringify(wrong.data).includes('definitely-wrong'), 'the password is not echoed');
      // A stored connection is tested with its stored password, by id or through a form showing ***.
      assert.equal((await as.Op.call('post', '/connections', { body: conn })).status, 201);
      const byId = await as.Op.call('post', '/connections/{connectionId}/test', { path: { connectionId: 'pg_real' } });
      assert.equal(byId.data?.status, true, JSON.stringify([byId.status, byId.error, byId.data]));
      assert.equal((await as.Op.call('post', '/connections/test', { body: { ...conn, password: '***' } })).data?.status, true);
    });

    test('generic types: an open TCP port passes, a closed one fails; no host and an unknown name fail', async () => {
      const server = createTcpServer((s) => s.end());
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      try {
        const open = await as.Op.call('post', '/connections/test', { body: { connectionId: 'redis_x', connType: 'redis', host: '127.0.0.1', port } });
        assert.equal(open.data?.status, true, JSON.stringify(open.data));
        assert.match(open.data?.message ?? '', /accepts TCP connections \(no redis protocol was spoken; credentials not checked\)/);
      } finally {
        await new Promise((r) => server.close(r));
      }
      const closed = await as.Op.call('post', '/connections/test', { body: { connectionId: 'redis_x', connType: 'redis', host: '127.0.0.1', port } });
      assert.deepEqual([closed.data?.status, closed.data?.checks.at(-1)?.name], [false, 'connect']);
      const noHost = await as.Op.call('post', '/connections/test', { body: { connectionId: 'empty', connType: 'aws' } });
      assert.deepEqual([noHost.data?.status, noHost.data?.checks], [false, []]);
      assert.match(noHost.data?.message ?? '', /names no host/);
      const unresolvable = await as.Op.call('post', '/connections/test', { body: { connectionId: 'x', connType: 'mysql', host: 'no-such-host.invalid' } });
      assert.deepEqual([unresolvable.data?.status, unresolvable.data?.checks.map((c) => c.name)], [false, ['resolve']]);
    });

    test('http: a base URL below 400 passes, a 500 fails', async () => {
      let status = 200;
      const server = createHttpServer((_req, res) => {
        res.statusCode = status;
        res.end('hi');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      try {
        const body = { connectionId: 'web', connType: 'http', host: '127.0.0.1', port, schema: 'health' };
        const ok = await as.Op.call('post', '/connections/test', { body });
        assert.equal(ok.data?.status, true, JSON.stringify(ok.data));
        assert.match(ok.data?.message ?? '', /answered the base URL/);
        assert.match(ok.data?.checks.at(-1)?.detail ?? '', new RegExp(`GET http://127.0.0.1:${port}/health answered HTTP 200`));
        status = 500;
        const failed = await as.Op.call('post', '/connections/test', { body });
        assert.equal(failed.data?.status, false);
      } finally {
        await new Promise((r) => server.close(r));
      }
    });

    test('only connection creators may test, and the test is audited', async () => {
      assert.equal((await as.Viewer.call('post', '/connections/test', { body: { connectionId: 'x', connType: 'http' } })).status, 403);
      const audited = await t.engine.db.db.selectFrom('audit_log').select('actor').where('event', '=', 'connection.test').execute();
      assert.ok(audited.length >= 5);
    });
  });
});
