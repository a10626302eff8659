import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CapstanError } from '../../src/core/errors.ts';
import { createFernet, generateFernetKey } from '../../src/crypto/fernet.ts';
import { connectionFromUri, connectionToUri, ConnectionStore, type Connection } from '../../src/store/connections.ts';
import { forEachDialect } from '../support/dialects.ts';

const fernet = createFernet(generateFernetKey());

function conn(fields: Partial<Connection> & { connId: string }): Connection {
  return { connType: 'postgres', description: null, host: null, schema: null, login: null, password: null, port: null, extra: {}, ...fields };
}

void describe('connection URIs', () => {
  void test('parses every part, percent-decoding and normalizing the type', () => {
    const c = connectionFromUri('pg', 'postgresql://etl%40corp:p%40ss%2Fw%3Ard@db.internal:5432/ware%20house?sslmode=require&x=a+b');
    assert.deepEqual(c, {
      connId: 'pg',
      connType: 'postgres',
      description: null,
      host: 'db.internal',
      schema: 'ware house',
      login: 'etl@corp',
      password: 'p@ss/w:rd',
      port: 5432,
      extra: { sslmode: 'require', x: 'a b' },
    });
  });

  void test('reads __extra__ JSON, dashes in the type, protocol hosts, IPv6 and missing parts', () => {
    const extra = { region: 'eu-west-1', retries: 3, nested: { a: true } };
    assert.deepEqual(connectionFromUri('a', `aws://?__extra__=${encodeURIComponent(JSON.stringify(extra))}`).extra, extra);
    assert.equal(connectionFromUri('g', 'google-cloud-platform://').connType, 'google_cloud_platform');
    const http = connectionFromUri('h', 'http://https://example.com:8443/api');
    assert.deepEqual([http.host, http.port, http.schema, http.login], ['https://example.com', 8443, 'api', null]);
    const v6 = connectionFromUri('v', 'redis://:pw@[::1]:6379/0');
    assert.deepEqual([v6.host, v6.port, v6.login, v6.password, v6.schema], ['::1', 6379, null, 'pw', '0']);
    const bare = connectionFromUri('b', 'sqlite://');
    assert.deepEqual([bare.host, bare.port, bare.schema, bare.login, bare.password, bare.extra], [null, null, null, null, null, {}]);
  });

  void test('refuses malformed URIs with invalid_argument naming the problem', () => {
    const cases: Array<[string, RegExp]> = [
      ['no-scheme-here', /type:\/\//],
      ['postgres://u:p@host:notaport/db', /port 'notaport'/],
      ['postgres://u:p@host:70000/db', /port '70000'/],
      ['postgres://host/db?__extra__=%7Bbad', /not JSON/],
      ['postgres://host/db?__extra__=%5B1%5D', /not a JSON object/],
      ['postgres://u:%E0%A4%A@host', /%-escape/],
      ['a://b://c://d', /more than two/],
    ];
    for (const [uri, pattern] of cases) {
      assert.throws(() => connectionFromUri('x', uri), (err: unknown) => err instanceof CapstanError && err.code === 'invalid_argument' && pattern.test(err.message), uri);
    }
  });

  void test('toUri writes Airflow form and round-trips awkward values', () => {
    const c = conn({ connId: 'x', host: 'db', port: 5432, schema: 'app', login: 'me', password: "p@ss w/rd!*'()", extra: { sslmode: 'require' } });
    assert.equal(connectionToUri(c), 'postgres://me:p%40ss%20w%2Frd%21%2A%27%28%29@db:5432/app?sslmode=require');
    const samples: Connection[] = [
      c,
      conn({ connId: 'x', connType: 'google_cloud_platform', extra: { project: 'p', scopes: ['a', 'b'], n: 1 } }),
      conn({ connId: 'x', connType: 'http', host: 'https://example.com', port: 443, schema: 'v1' }),
      conn({ connId: 'x', host: '::1', port: 5432 }),
      conn({ connId: 'x', port: 5432 }),
      conn({ connId: 'x', login: 'only-login' }),
      conn({ connId: 'x', host: 'h', extra: { q: 'a&b=c ü' } }),
    ];
    for (const sample of samples) assert.deepEqual(connectionFromUri('x', connectionToUri(sample)), sample, connectionToUri(sample));
  });
});

forEachDialect('connections', (t) => {
  const store = () => new ConnectionStore(t.db, { fernet, now: () => 5_000 });

  void test('add then get returns the same connection; list is sorted', async () => {
    const c = conn({ connId: 'warehouse', host: 'db', port: 5432, schema: 'dw', login: 'etl', password: 's3cr3t!', extra: { sslmode: 'require', n: 2 }, description: 'main DW' });
    await store().add(c);
    await store().add(conn({ connId: 'a_first', connType: 'http', host: 'example.com' }));
    assert.deepEqual(await store().get('warehouse'), c);
    assert.deepEqual((await store().list()).map((x) => x.connId), ['a_first', 'warehouse']);
    assert.equal(await store().get('missing'), undefined);
  });

  void test('password and extra are encrypted at rest; other fields are not', async () => {
    const row = await t.db.db.selectFrom('connection').selectAll().where('conn_id', '=', 'warehouse').executeTakeFirstOrThrow();
    assert.equal(row.is_encrypted, 1);
    assert.equal(row.host, 'db');
    assert.equal(row.updated_at, 5_000);
    assert.doesNotMatch(row.password ?? '', /s3cr3t/);
    assert.doesNotMatch(row.extra ?? '', /sslmode/);
    assert.equal(fernet.decrypt(row.password ?? ''), 's3cr3t!');
    assert.deepEqual(JSON.parse(fernet.decrypt(row.extra ?? '')), { sslmode: 'require', n: 2 });
  });

  void test('adding a duplicate id is refused with conflict and leaves the original', async () => {
    await assert.rejects(
      store().add(conn({ connId: 'warehouse', host: 'other' })),
      (err: unknown) => err instanceof CapstanError && err.code === 'conflict' && /already exists/.test(err.message),
    );
    assert.equal((await store().get('warehouse'))?.host, 'db');
  });

  void test('require throws not_found; delete reports whether it removed', async () => {
    await assert.rejects(store().require('nope'), (err: unknown) => err instanceof CapstanError && err.code === 'not_found');
    assert.equal(await store().delete('a_first'), true);
    assert.equal(await store().delete('a_first'), false);
    assert.equal(await store().get('a_first'), undefined);
  });

  void test('invalid ids, types and ports are refused before writing', async () => {
    for (const bad of [conn({ connId: '' }), conn({ connId: 'ok', connType: 'Bad Type' }), conn({ connId: 'ok', port: 70000 })]) {
      await assert.rejects(store().add(bad), (err: unknown) => err instanceof CapstanError && err.code === 'invalid_argument');
    }
    assert.equal(await store().get('ok'), undefined);
  });
});
