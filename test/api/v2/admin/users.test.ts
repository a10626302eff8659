/**
 * /api/v2/users, /roles and /apiTokens with the typed client: Admin only; create/patch/delete users with
 * passwords never answered; custom roles; the last active Admin protected; any user's token listed and
 * revoked (it stops working at once); every change audited.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiV2Client } from '../../../../src/api/public/v2/client/index.ts';
import { startTestEngine, type TestEngine } from '../../../support/engine.ts';
import { roleClients, type RoleClients } from './support.ts';

describe('API v2 users, roles and API tokens', () => {
  let t: TestEngine;
  let as: RoleClients;
  before(async () => {
    t = await startTestEngine({ triggerer: false });
    as = await roleClients(t);
  });
  after(() => t.stop());

  test('only Admin manages users, roles and others’ tokens', async () => {
    for (const role of ['Viewer', 'User', 'Op'] as const) {
      assert.equal((await as[role].call('get', '/users', {})).status, 403, role);
      assert.equal((await as[role].call('get', '/roles', {})).status, 403, role);
      assert.equal((await as[role].call('get', '/apiTokens', {})).status, 403, role);
    }
    const users = await as.Admin.call('get', '/users', { query: { limit: 2 } });
    assert.deepEqual([users.data?.users.map((u) => u.username), users.data?.totalEntries], [['admin', 'op'], 4]);
  });

  test('users: create (no password answered), read, patch, delete; the last Admin stays', async () => {
    const created = await as.Admin.call('post', '/users', { body: { username: 'carol', password: 'carol-password-1', role: 'User', email: 'carol@example.com' } });
    assert.equal(created.status, 201);
    assert.deepEqual([created.data?.username, created.data?.role, created.data?.authSource, created.data?.active], ['carol', 'User', 'password', true]);
    assert.ok(!JSON.stringify(created.data).includes('carol-password-1'));
    assert.equal((await as.Admin.call('post', '/users', { body: { username: 'carol', role: 'User', password: 'carol-password-2' } })).status, 409);
    assert.equal((await as.Admin.call('post', '/users', { body: { username: 'dave', role: 'NoSuchRole', password: 'dave-password-12' } })).status, 400);
    const patched = await as.Admin.call('patch', '/users/{username}', { path: { username: 'carol' }, body: { role: 'Op', displayName: 'Carol C' } });
    assert.deepEqual([patched.data?.role, patched.data?.displayName], ['Op', 'Carol C']);
    const demote = await as.Admin.call('patch', '/users/{username}', { path: { username: 'admin' }, body: { role: 'Viewer' } });
    assert.deepEqual([demote.status, demote.error?.error.code], [409, 'conflict']);
    assert.equal((await as.Admin.call('get', '/users/{username}', { path: { username: 'carol' } })).data?.email, 'carol@example.com');
    assert.equal((await as.Admin.call('delete', '/users/{username}', { path: { username: 'carol' } })).status, 200);
    assert.equal((await as.Admin.call('get', '/users/{username}', { path: { username: 'carol' } })).status, 404);
    const audit = await t.engine.db.db.selectFrom('audit_log').select(['event', 'details']).where('event', 'like', 'user.%').execute();
    assert.deepEqual([...new Set(audit.map((a) => a.event))].sort(), ['user.create', 'user.delete', 'user.patch']);
    assert.ok(audit.every((a) => !(a.details ?? '').includes('carol-password-1')));
  });

  test('roles: custom roles narrow a built-in one; a role in use cannot be deleted', async () => {
    const created = await as.Admin.call('post', '/roles', { body: { name: 'etl_team', baseRole: 'Op', dagIds: ['etl'], dagTags: ['etl'] } });
    assert.deepEqual([created.status, created.data?.baseRole, created.data?.dagIds], [201, 'Op', ['etl']]);
    assert.equal((await as.Admin.call('post', '/roles', { body: { name: 'bad', baseRole: 'Admin' as never } })).status, 400);
    const list = await as.Admin.call('get', '/roles', {});
    assert.deepEqual([list.data?.roles.map((r) => r.name), list.data?.builtinRoles], [['etl_team'], ['Viewer', 'User', 'Op', 'Admin']]);
    assert.deepEqual((await as.Admin.call('patch', '/roles/{roleName}', { path: { roleName: 'etl_team' }, body: { dagTags: [] } })).data?.dagTags, []);
    await as.Admin.call('post', '/users', { body: { username: 'erin', password: 'erin-password-12', role: 'etl_team' } });
    assert.equal((await as.Admin.call('delete', '/roles/{roleName}', { path: { roleName: 'etl_team' } })).status, 400);
    await as.Admin.call('delete', '/users/{username}', { path: { username: 'erin' } });
    assert.equal((await as.Admin.call('delete', '/roles/{roleName}', { path: { roleName: 'etl_team' } })).status, 200);
    assert.equal((await as.Admin.call('get', '/roles/{roleName}', { path: { roleName: 'etl_team' } })).status, 404);
  });

  test('API tokens: an Admin lists anyone’s and revokes one, which stops working at once', async () => {
    const user = await t.engine.auth.createUser({ username: 'frank', password: 'frank-password-12', role: 'Viewer' });
    const { token, info } = await t.engine.auth.createApiToken(await t.engine.auth.principalFor(user), { name: 'laptop' });
    const frank = apiV2Client({ baseUrl: t.api.url, token });
    assert.equal((await frank.call('get', '/pools', {})).status, 200);
    const listed = await as.Admin.call('get', '/apiTokens', { query: { username: 'frank' } });
    assert.deepEqual(listed.data?.apiTokens.map((k) => [k.tokenId, k.name, k.revokedAt]), [[info.tokenId, 'laptop', null]]);
    assert.ok(!JSON.stringify(listed.data).includes(token), 'no token secret is answered');
    const revoked = await as.Admin.call('delete', '/apiTokens/{tokenId}', { path: { tokenId: info.tokenId } });
    assert.notEqual(revoked.data?.revokedAt, null);
    assert.equal((await frank.call('get', '/pools', {})).status, 401);
    assert.equal((await as.Admin.call('get', '/apiTokens', { query: { username: 'frank' } })).data?.totalEntries, 0);
    assert.equal((await as.Admin.call('get', '/apiTokens', { query: { username: 'frank', includeRevoked: true } })).data?.totalEntries, 1);
    assert.equal((await as.Admin.call('delete', '/apiTokens/{tokenId}', { path: { tokenId: 'nosuchtoken' } })).status, 404);
  });
});
