import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { forEachCliDialect } from './capstan.ts';

forEachCliDialect('capstan variables', (t) => {
  void test('set, get, list and delete a variable; every change is audited', async () => {
    const set = await t.run(['variables', 'set', 'bucket', 'my-bucket', '--description', 'exports go here']);
    assert.equal(set.code, 0, set.stderr);
    const got = await t.run(['variables', 'get', 'bucket']);
    assert.deepEqual([got.code, got.stdout], [0, 'my-bucket\n']);
    const listed = await t.run(['-o', 'json', 'variables', 'list']);
    assert.deepEqual(JSON.parse(listed.stdout), [{ key: 'bucket', description: 'exports go here', encrypted: false }]);
    const deleted = await t.run(['variables', 'delete', 'bucket']);
    assert.equal(deleted.code, 0, deleted.stderr);
    const gone = await t.run(['variables', 'get', 'bucket']);
    assert.equal(gone.code, 3);
    assert.match(gone.stderr, /error \[not_found\]: variable 'bucket' does not exist/);
    const events = await t.db.db.selectFrom('audit_log').select(['event', 'actor', 'details']).orderBy('id').execute();
    assert.deepEqual(events.map((e) => [e.event, e.details]), [['variable.set', '{"key":"bucket"}'], ['variable.delete', '{"key":"bucket"}']]);
    assert.match(events[0]?.actor ?? '', /^cli/);
  });

  void test('secret-named values are encrypted in the database but read back in plaintext', async () => {
    assert.equal((await t.run(['variables', 'set', 'smtp_password', 'hunter2-long'])).code, 0);
    const row = await t.db.db.selectFrom('variable').selectAll().where('key', '=', 'smtp_password').executeTakeFirstOrThrow();
    assert.equal(row.is_encrypted, 1);
    assert.doesNotMatch(row.value, /hunter2/);
    assert.equal((await t.run(['variables', 'get', 'smtp_password'])).stdout, 'hunter2-long\n');
    const listed = await t.run(['variables', 'list']);
    assert.doesNotMatch(listed.stdout, /hunter2/);
  });

  void test('get --json pretty-prints JSON and refuses a non-JSON value with exit 2', async () => {
    await t.run(['variables', 'set', 'cfg', '{"retries":3,"tags":["a"]}', '--json']);
    const pretty = await t.run(['variables', 'get', 'cfg', '--json']);
    assert.equal(pretty.stdout, '{\n  "retries": 3,\n  "tags": [\n    "a"\n  ]\n}\n');
    await t.run(['variables', 'set', 'plain', 'not json']);
    const bad = await t.run(['variables', 'get', 'plain', '--json']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--json: variable 'plain' is not valid JSON/);
    assert.equal((await t.run(['variables', 'get', 'missing', '--default', 'fallback'])).stdout, 'fallback\n');
  });

  void test('bad input exits 2 naming the flag; missing keys exit 3', async () => {
    const badJson = await t.run(['variables', 'set', 'x', '{oops', '--json']);
    assert.equal(badJson.code, 2);
    assert.match(badJson.stderr, /--json: the value for 'x' is not valid JSON/);
    assert.equal((await t.run(['variables', 'get', 'x'])).code, 3);
    const badKey = await t.run(['variables', 'set', ' spaced', 'v']);
    assert.equal(badKey.code, 2);
    assert.equal((await t.run(['variables', 'delete', 'never-set'])).code, 3);
    const badAction = await t.run(['variables', 'import', '-', '--on-existing', 'merge'], { stdin: '{}' });
    assert.equal(badAction.code, 2);
    assert.match(badAction.stderr, /--on-existing: 'merge'/);
  });

  void test('export then import round-trips values and descriptions through a file', async () => {
    const file = join(t.home, 'vars.json');
    const exported = await t.run(['variables', 'export', file]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const data = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(data['cfg'], { retries: 3, tags: ['a'] });
    assert.equal(data['smtp_password'], 'hunter2-long');
    for (const key of Object.keys(data)) assert.equal((await t.run(['variables', 'delete', key])).code, 0);

    writeFileSync(file, JSON.stringify({ ...data, described: { value: { n: 1 }, description: 'has one' } }));
    const imported = await t.run(['-o', 'json', 'variables', 'import', file]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.deepEqual(JSON.parse(imported.stdout), { file, imported: 4, skipped: 0 });
    assert.equal((await t.run(['variables', 'get', 'cfg'])).stdout, '{"retries":3,"tags":["a"]}\n');
    assert.equal((await t.run(['variables', 'get', 'smtp_password'])).stdout, 'hunter2-long\n');
    const listed = JSON.parse((await t.run(['-o', 'json', 'variables', 'list'])).stdout) as Array<{ key: string; description: string | null; encrypted: boolean }>;
    assert.deepEqual(listed.find((v) => v.key === 'described'), { key: 'described', description: 'has one', encrypted: false });
    assert.equal(listed.find((v) => v.key === 'smtp_password')?.encrypted, true);
  });

  void test('import honours --on-existing skip and fail, and rejects files that are not a JSON object', async () => {
    const skip = await t.run(['-o', 'json', 'variables', 'import', '-', '--on-existing', 'skip'], { stdin: '{"plain":"changed","fresh":"new"}' });
    assert.deepEqual(JSON.parse(skip.stdout), { file: '-', imported: 1, skipped: 1 });
    assert.equal((await t.run(['variables', 'get', 'plain'])).stdout, 'not json\n');
    const fail = await t.run(['variables', 'import', '-', '--on-existing', 'fail'], { stdin: '{"plain":"changed"}' });
    assert.equal(fail.code, 2);
    assert.match(fail.stderr, /already exist: plain/);
    const notObject = await t.run(['variables', 'import', '-'], { stdin: '[1,2]' });
    assert.equal(notObject.code, 2);
    assert.match(notObject.stderr, /does not hold a JSON object/);
    const missing = await t.run(['variables', 'import', join(t.home, 'nope.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read/);
  });
});
