import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachCliDialect } from './capstan.ts';

forEachCliDialect('capstan connections', (t) => {
  void test('add from a URI; get and list mask the password unless --show-secrets', async () => {
    const add = await t.run(['connections', 'add', 'warehouse', '--conn-uri', 'postgresql://etl:s3cret%2Fpw@db.internal:5432/dw?sslmode=require', '--conn-description', 'main DW']);
    assert.equal(add.code, 0, add.stderr);
    assert.doesNotMatch(add.stdout, /s3cret/);
    const got = JSON.parse((await t.run(['-o', 'json', 'connections', 'get', 'warehouse'])).stdout) as Record<string, unknown>;
    assert.deepEqual(got, {
      conn_id: 'warehouse',
      conn_type: 'postgres',
      description: 'main DW',
      host: 'db.internal',
      port: 5432,
      schema: 'dw',
      login: 'etl',
      password: '***',
      extra: { sslmode: 'require' },
      uri: 'postgres://etl:***@db.internal:5432/dw?sslmode=require',
    });
    const shown = JSON.parse((await t.run(['-o', 'json', 'connections', 'get', 'warehouse', '--show-secrets'])).stdout) as Record<string, unknown>;
    assert.equal(shown['password'], 's3cret/pw');
    assert.equal(shown['uri'], 'postgres://etl:s3cret%2Fpw@db.internal:5432/dw?sslmode=require');
    const list = await t.run(['connections', 'list']);
    assert.match(list.stdout, /warehouse\s+postgres\s+db\.internal\s+5432\s+dw\s+etl\s+\*\*\*/);
    assert.doesNotMatch(list.stdout, /s3cret/);
    assert.match((await t.run(['connections', 'list', '--show-secrets'])).stdout, /s3cret\/pw/);
  });

  void test('add from fields with a JSON extra; secret extras are masked and stored encrypted', async () => {
    const add = await t.run(['connections', 'add', 'api', '--conn-type', 'http', '--conn-host', 'api.example.com', '--conn-port', '443', '--conn-login', 'bot', '--conn-password', 'pw', '--conn-extra', '{"api_key":"key-12345","timeout":5}']);
    assert.equal(add.code, 0, add.stderr);
    const got = JSON.parse((await t.run(['-o', 'json', 'connections', 'get', 'api'])).stdout) as Record<string, unknown>;
    assert.deepEqual([got['password'], got['extra'], got['port']], ['***', { api_key: '***', timeout: 5 }, 443]);
    assert.doesNotMatch(JSON.stringify(got), /key-12345|:pw@/);
    const row = await t.db.db.selectFrom('connection').selectAll().where('conn_id', '=', 'api').executeTakeFirstOrThrow();
    assert.doesNotMatch(`${row.password} ${row.extra}`, /key-12345|timeout/);
    const audit = await t.db.db.selectFrom('audit_log').select('details').where('event', '=', 'connection.add').execute();
    assert.equal(audit.length, 2);
    assert.doesNotMatch(JSON.stringify(audit), /s3cret|key-12345/);
  });

  void test('a duplicate id is refused with conflict (exit 1)', async () => {
    const dup = await t.run(['connections', 'add', 'api', '--conn-type', 'http']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /error \[conflict\]: connection 'api' already exists/);
  });

  void test('bad input exits 2 naming the flag', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--conn-type', 'postgres', '--conn-port', 'abc'], /--conn-port: 'abc' is not a port number/],
      [['--conn-type', 'postgres', '--conn-extra', '{bad'], /--conn-extra is not valid JSON/],
      [['--conn-type', 'postgres', '--conn-extra', '[1]'], /--conn-extra is not a JSON object/],
      [['--conn-uri', 'postgres://h', '--conn-host', 'h'], /--conn-uri cannot be combined with --conn-host/],
      [['--conn-uri', 'postgres://h:port/x'], /--conn-uri: .*port 'port'/],
      [['--conn-type', 'Not A Type'], /--conn-type: 'Not A Type'/],
      [[], /needs --conn-uri or --conn-type/],
    ];
    const results = await Promise.all(cases.map(([flags]) => t.run(['connections', 'add', 'bad', ...flags])));
    cases.forEach(([flags, pattern], i) => {
      assert.equal(results[i]?.code, 2, flags.join(' '));
      assert.match(results[i]?.stderr ?? '', pattern);
    });
    assert.equal((await t.run(['connections', 'get', 'bad'])).code, 3);
  });

  void test('delete removes a connection; missing ones exit 3', async () => {
    assert.equal((await t.run(['connections', 'delete', 'api'])).code, 0);
    const gone = await t.run(['connections', 'get', 'api']);
    assert.equal(gone.code, 3);
    assert.match(gone.stderr, /connection 'api' does not exist/);
    assert.equal((await t.run(['connections', 'delete', 'api'])).code, 3);
  });
});
