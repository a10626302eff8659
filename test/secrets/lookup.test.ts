import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CapstanError } from '../../src/core/errors.ts';
import { createFernet, generateFernetKey } from '../../src/crypto/fernet.ts';
import { SecretMasker } from '../../src/secrets/masker.ts';
import { parseConnectionEnv, SecretsLookup } from '../../src/secrets/lookup.ts';
import { ConnectionStore, connectionFromUri } from '../../src/store/connections.ts';
import { VariableStore } from '../../src/store/variables.ts';
import { forEachDialect } from '../support/dialects.ts';

const fernet = createFernet(generateFernetKey());
const isCode = (code: string, pattern?: RegExp) => (err: unknown) => err instanceof CapstanError && err.code === code && (!pattern || pattern.test(err.message));

void describe('parseConnectionEnv', () => {
  void test('reads a URI', () => {
    assert.deepEqual(parseConnectionEnv('db', 'postgresql://u:p@h:5432/s'), connectionFromUri('db', 'postgresql://u:p@h:5432/s'));
  });

  void test('reads JSON in snake_case or camelCase, with extra as an object or a JSON string', () => {
    const snake = parseConnectionEnv('db', JSON.stringify({ conn_type: 'postgresql', host: 'h', port: '5432', login: 'u', password: 'p', extra: '{"sslmode":"require"}' }));
    assert.deepEqual(snake, { connId: 'db', connType: 'postgres', description: null, host: 'h', schema: null, login: 'u', password: 'p', port: 5432, extra: { sslmode: 'require' } });
    const camel = parseConnectionEnv('api', JSON.stringify({ connType: 'http', host: 'example.com', extra: { timeout: 5 } }));
    assert.deepEqual([camel.connType, camel.host, camel.port, camel.extra], ['http', 'example.com', null, { timeout: 5 }]);
  });

  void test('bad values fail with invalid_argument naming the environment variable', () => {
    const cases: Array<[string, RegExp]> = [
      ['{not json', /CAPSTAN_CONN_DB starts with '\{'/],
      [JSON.stringify({ host: 'h' }), /CAPSTAN_CONN_DB: .*conn_type is required/],
      [JSON.stringify({ conn_type: 'x', port: 'abc' }), /CAPSTAN_CONN_DB: port/],
      [JSON.stringify({ conn_type: 'x', extra: '[1]' }), /extra/],
      [JSON.stringify({ conn_type: 'x', port: 99999 }), /CAPSTAN_CONN_DB: .*port/],
      ['not a uri', /CAPSTAN_CONN_DB: .*type:\/\//],
    ];
    for (const [text, pattern] of cases) assert.throws(() => parseConnectionEnv('db', text), isCode('invalid_argument', pattern), text);
  });
});

forEachDialect('secrets lookup', (t) => {
  const stores = () => ({ variables: new VariableStore(t.db, { fernet }), connections: new ConnectionStore(t.db, { fernet }) });

  void test('variables: the environment wins over the database, which is the fallback', async () => {
    const { variables } = stores();
    await variables.set('region', 'db-region');
    await variables.set('only_db', 'from-db');
    const lookup = new SecretsLookup({ env: { CAPSTAN_VAR_REGION: 'env-region' }, variables });
    assert.deepEqual(await lookup.findVariable('region'), { value: 'env-region', source: 'env' });
    assert.deepEqual(await lookup.findVariable('only_db'), { value: 'from-db', source: 'db' });
    assert.equal(await lookup.getVariable('absent'), undefined);
    await assert.rejects(lookup.requireVariable('absent'), (err: unknown) => isCode('not_found', /'absent'/)(err) && /CAPSTAN_VAR_ABSENT/.test((err as CapstanError).hint ?? ''));
    assert.equal(await new SecretsLookup({ env: {} }).getVariable('only_db'), undefined);
  });

  void test('connections: the environment (URI or JSON) wins over the database', async () => {
    const { connections } = stores();
    await connections.add(connectionFromUri('warehouse', 'postgresql://db_user:db-pass@db-host:5432/dw'));
    const env = { CAPSTAN_CONN_WAREHOUSE: 'postgresql://env_user:env-pass@env-host/dw', CAPSTAN_CONN_API: '{"conn_type":"http","host":"api.example.com"}' };
    const lookup = new SecretsLookup({ env, connections });
    assert.equal((await lookup.getConnection('warehouse'))?.host, 'env-host');
    assert.equal((await lookup.getConnection('api'))?.host, 'api.example.com');
    assert.equal((await new SecretsLookup({ env: {}, connections }).getConnection('warehouse'))?.host, 'db-host');
    await assert.rejects(lookup.requireConnection('nope'), (err: unknown) => isCode('not_found', /'nope'/)(err) && /CAPSTAN_CONN_NOPE/.test((err as CapstanError).hint ?? ''));
  });

  void test('resolved secrets are registered with the masker', async () => {
    const { variables, connections } = stores();
    await variables.set('db_password', 'var-secret-1');
    const masker = new SecretMasker();
    const lookup = new SecretsLookup({ env: { CAPSTAN_VAR_TOKEN_API_KEY: 'env-secret-2' }, variables, connections, masker });
    await lookup.getVariable('db_password');
    await lookup.getVariable('token_api_key');
    await lookup.getVariable('region');
    await lookup.getConnection('warehouse');
    assert.equal(masker.mask('var-secret-1 env-secret-2 db-pass db-region'), '*** *** *** db-region');
  });
});
