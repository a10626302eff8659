import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CapstanError } from '../../src/core/errors.ts';
import { createFernet, generateFernetKey } from '../../src/crypto/fernet.ts';
import { isSecretName, VariableStore } from '../../src/store/variables.ts';
import { forEachDialect } from '../support/dialects.ts';

const fernet = createFernet(generateFernetKey());

void test('isSecretName matches the sensitive fragments case-insensitively', () => {
  for (const name of ['db_password', 'MY_SECRET', 'smtp_passwd', 'Authorization', 'stripe_api_key', 'x_apikey', 'gh_access_token', 'ssh_private_key']) {
    assert.equal(isSecretName(name), true, name);
  }
  for (const name of ['bucket', 'pass', 'tokenizer_model', 'key']) assert.equal(isSecretName(name), false, name);
});

forEachDialect('variables', (t) => {
  let clock = 1_000;
  const store = () => new VariableStore(t.db, { fernet, now: () => clock });

  void test('set then get returns the value; missing keys are undefined', async () => {
    const vars = store();
    const saved = await vars.set('bucket', 'my-bucket', { description: 'exports' });
    assert.deepEqual(saved, { key: 'bucket', value: 'my-bucket', description: 'exports', isEncrypted: false, updatedAt: 1_000 });
    assert.equal(await vars.get('bucket'), 'my-bucket');
    assert.equal(await vars.get('nope'), undefined);
    assert.equal(await vars.getJson('nope'), undefined);
  });

  void test('set replaces the value, keeps the description unless given, null clears it', async () => {
    const vars = store();
    await vars.set('replace_me', 'one', { description: 'first' });
    clock = 2_000;
    await vars.set('replace_me', 'two');
    assert.deepEqual(await vars.getVariable('replace_me'), { key: 'replace_me', value: 'two', description: 'first', isEncrypted: false, updatedAt: 2_000 });
    await vars.set('replace_me', 'three', { description: null });
    assert.equal((await vars.getVariable('replace_me'))?.description, null);
  });

  void test('getJson parses JSON values and names the key when the value is not JSON', async () => {
    const vars = store();
    await vars.set('cfg', JSON.stringify({ retries: 3, tags: ['a'] }));
    assert.deepEqual(await vars.getJson('cfg'), { retries: 3, tags: ['a'] });
    await vars.set('plain', 'not json');
    await assert.rejects(vars.getJson('plain'), (err: unknown) => err instanceof CapstanError && err.code === 'invalid_argument' && /'plain'/.test(err.message));
  });

  void test('secret-named values are encrypted at rest and decrypted on read', async () => {
    const vars = store();
    await vars.set('warehouse_password', 'hunter2');
    const row = await t.db.db.selectFrom('variable').selectAll().where('key', '=', 'warehouse_password').executeTakeFirstOrThrow();
    assert.equal(row.is_encrypted, 1);
    assert.notEqual(row.value, 'hunter2');
    assert.doesNotMatch(row.value, /hunter2/);
    assert.equal(fernet.decrypt(row.value), 'hunter2');
    assert.equal(await vars.get('warehouse_password'), 'hunter2');
    const plain = await t.db.db.selectFrom('variable').select(['value', 'is_encrypted']).where('key', '=', 'bucket').executeTakeFirstOrThrow();
    assert.deepEqual({ ...plain }, { value: 'my-bucket', is_encrypted: 0 });
  });

  void test('a secret written under another key cannot be read and fails with crypto_error', async () => {
    await store().set('other_secret', 'x');
    const wrong = new VariableStore(t.db, { fernet: createFernet(generateFernetKey()) });
    await assert.rejects(wrong.get('other_secret'), (err: unknown) => err instanceof CapstanError && err.code === 'crypto_error');
  });

  void test('list is sorted by key with plaintext values; delete reports whether it removed', async () => {
    const vars = store();
    const keys = (await vars.list()).map((v) => v.key);
    assert.deepEqual(keys, [...keys].sort());
    assert.ok(keys.includes('warehouse_password'));
    assert.equal((await vars.list()).find((v) => v.key === 'warehouse_password')?.value, 'hunter2');
    assert.equal(await vars.delete('bucket'), true);
    assert.equal(await vars.delete('bucket'), false);
    assert.equal(await vars.get('bucket'), undefined);
  });

  void test('keys must be non-empty, trimmed and at most 250 characters', async () => {
    const vars = store();
    for (const key of ['', ' padded', 'x'.repeat(251)]) {
      await assert.rejects(vars.set(key, 'v'), (err: unknown) => err instanceof CapstanError && err.code === 'invalid_argument', JSON.stringify(key));
    }
    await vars.set('k'.repeat(250), 'fits');
    assert.equal(await vars.get('k'.repeat(250)), 'fits');
  });
});

void test('secret names also cover passphrases, key files and service accounts', () => {
  for (const name of ['db_password', 'SLACK_API_KEY', 'ssh_passphrase', 'gcp_keyfile_dict', 'service_account_json', 'Authorization']) {
    assert.equal(isSecretName(name), true, name);
  }
  for (const name of ['bucket', 'region', 'batch_size']) assert.equal(isSecretName(name), false, name);
});
