/** `capstan users …` and `capstan roles …` through the real CLI on both databases. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verifyPassword } from '../../src/auth/passwords.ts';
import { forEachCliDialect } from './capstan.ts';

forEachCliDialect('capstan users', (t) => {
  test('create with --password-stdin; list; set-role; reset-password; delete — audited with the OS user', async () => {
    const created = await t.run(['-o', 'json', 'users', 'create', '--username', 'alice', '--role', 'Op', '--email', 'alice@example.com', '--password-stdin'], { stdin: 'alice-secret-pw\n' });
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(JSON.parse(created.stdout), { username: 'alice', role: 'Op' });
    const row = await t.db.db.selectFrom('app_user').selectAll().where('username', '=', 'alice').executeTakeFirstOrThrow();
    assert.equal(await verifyPassword('alice-secret-pw', row.password_hash ?? ''), true);

    const listed = JSON.parse((await t.run(['-o', 'json', 'users', 'list'])).stdout) as Array<{ username: string; role: string }>;
    assert.deepEqual(listed.map((u) => [u.username, u.role]), [['alice', 'Op']]);
    assert.equal((await t.run(['users', 'set-role', 'alice', 'Admin'])).code, 0);

    const reset = await t.run(['-o', 'json', 'users', 'reset-password', 'alice', '--random-password']);
    const { password } = JSON.parse(reset.stdout) as { password: string };
    assert.equal(password.length, 24);
    const after = await t.db.db.selectFrom('app_user').select('password_hash').where('username', '=', 'alice').executeTakeFirstOrThrow();
    assert.equal(await verifyPassword(password, after.password_hash ?? ''), true);

    // The last Admin stays.
    const del = await t.run(['users', 'delete', 'alice']);
    assert.notEqual(del.code, 0);
    assert.match(del.stderr, /last active Admin/);
    const audit = await t.db.db.selectFrom('audit_log').select(['event', 'actor']).where('event', 'like', 'user.%').execute();
    assert.ok(audit.length >= 3 && audit.every((a) => a.actor.startsWith('cli')));
  });

  test('bad input is a clear error with exit code 2, and nothing is stored', async () => {
    const noPassword = await t.run(['users', 'create', '--username', 'bob', '--role', 'Viewer']);
    assert.equal(noPassword.code, 2);
    assert.match(noPassword.stderr, /--password-stdin/);
    const badRole = await t.run(['users', 'create', '--username', 'bob', '--role', 'Wizard', '--random-password']);
    assert.equal(badRole.code, 2);
    assert.match(badRole.stderr, /role 'Wizard' does not exist/);
    const short = await t.run(['users', 'create', '--username', 'bob', '--role', 'Viewer', '--password-stdin'], { stdin: 'short\n' });
    assert.equal(short.code, 2);
    assert.equal((await t.db.db.selectFrom('app_user').select('username').where('username', '=', 'bob').execute()).length, 0);
  });

  test('custom roles and API tokens from the CLI', async () => {
    assert.equal((await t.run(['roles', 'create', 'team-a', '--base', 'User', '--tags', 'team-a,shared'])).code, 0);
    assert.equal((await t.run(['users', 'create', '--username', 'carol', '--role', 'team-a', '--random-password'])).code, 0);
    const roles = JSON.parse((await t.run(['-o', 'json', 'roles', 'list'])).stdout) as Array<{ name: string; dag_tags: string }>;
    assert.deepEqual(roles.map((r) => [r.name, r.dag_tags]), [['team-a', 'team-a,shared']]);
    const tok = await t.run(['-o', 'json', 'users', 'create-token', 'carol', 'ci', '--expires-in', '2d']);
    assert.equal(tok.code, 0, tok.stderr);
    const { token, token_id, role } = JSON.parse(tok.stdout) as { token: string; token_id: string; role: string };
    assert.match(token, /^cap_/);
    assert.equal(role, 'User');
    const listed = (await t.run(['users', 'list-tokens'])).stdout;
    assert.match(listed, new RegExp(token_id));
    assert.ok(!listed.includes(token), 'the secret is never listed');
    assert.equal((await t.run(['users', 'revoke-token', token_id])).code, 0);
    assert.ok(!(await t.run(['users', 'list-tokens'])).stdout.includes(token_id));
  });
});
