/**
 * AuthService on both databases with a manual clock: password hashing, expiry of signed and API tokens,
 * throttling backoff, role caps, custom roles, asymmetric signing keys; and the pure permission rules.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AuthService, type AuthSettings } from '../../src/auth/authService.ts';
import { LoginThrottle } from '../../src/auth/loginThrottle.ts';
import { hashPassword, verifyPassword } from '../../src/auth/passwords.ts';
import { dagAccess, principalAllows, roleAllows } from '../../src/auth/permissions.ts';
import { parseApiTokenText } from '../../src/auth/apiTokenFormat.ts';
import { loadConfig } from '../../src/config/index.ts';
import { forEachDialect } from '../support/dialects.ts';

/** The configured defaults, with cheap hashes and short windows for the tests. */
const SETTINGS: AuthSettings = {
  ...loadConfig({ env: { CAPSTAN_HOME: mkdtempSync(join(tmpdir(), 'capstan-auth-')) } }).auth,
  sessionTtlMs: 3_600_000,
  apiTokenDefaultTtlMs: 86_400_000,
  apiTokenMaxTtlMs: 7 * 86_400_000,
  passwordHashCost: 10,
  loginMaxFailures: 2,
  loginLockoutMs: 1000,
  loginMaxLockoutMs: 8000,
};

test('scrypt hashes verify the right password only, carry their parameters, and are salted', async () => {
  const a = await hashPassword('correct horse', 10);
  const b = await hashPassword('correct horse', 10);
  assert.match(a, /^scrypt\$10\$8\$1\$/);
  assert.notEqual(a, b);
  assert.equal(await verifyPassword('correct horse', a), true);
  assert.equal(await verifyPassword('correct horsf', a), false);
  assert.equal(await verifyPassword('correct horse', 'scrypt$99$8$1$x$y'), false);
  assert.equal(await verifyPassword('correct horse', 'plain'), false);
});

test('login throttle: waits start after maxFailures, double, cap, and reset on success', () => {
  const t = new LoginThrottle({ maxFailures: 2, baseDelayMs: 1000, maxDelayMs: 4000 });
  const k = LoginThrottle.key('alice', '10.0.0.1');
  t.failed(k, 0);
  assert.equal(t.retryAfterMs(k, 0), 0);
  t.failed(k, 0);
  assert.equal(t.retryAfterMs(k, 0), 1000);
  t.failed(k, 1000);
  assert.equal(t.retryAfterMs(k, 1000), 2000);
  t.failed(k, 3000);
  t.failed(k, 7000);
  assert.equal(t.retryAfterMs(k, 7000), 4000, 'capped');
  assert.equal(t.retryAfterMs(LoginThrottle.key('alice', '10.0.0.2'), 7000), 0, 'another client is not blocked');
  t.succeeded(k);
  assert.equal(t.retryAfterMs(k, 7000), 0);
});

test('permission rules: roles inherit upward; custom scopes reach DAGs by id, tag or accessControl', () => {
  assert.equal(roleAllows('Viewer', { resource: 'dag', action: 'read' }), true);
  assert.equal(roleAllows('Viewer', { resource: 'dag_run', action: 'create' }), false);
  assert.equal(roleAllows('User', { resource: 'dag_run', action: 'create' }), true);
  assert.equal(roleAllows('User', { resource: 'connection', action: 'read' }), false);
  assert.equal(roleAllows('Op', { resource: 'connection', action: 'create' }), true);
  assert.equal(roleAllows('Op', { resource: 'user', action: 'create' }), false);
  assert.equal(roleAllows('Admin', { resource: 'user', action: 'delete' }), true);
  const scope = { kind: 'some', role: 'team-a', dagIds: ['x'], tags: ['a'] } as const;
  assert.equal(dagAccess(scope, { dagId: 'x', tags: [], accessControl: {} }), 'edit');
  assert.equal(dagAccess(scope, { dagId: 'y', tags: ['a'], accessControl: {} }), 'edit');
  assert.equal(dagAccess(scope, { dagId: 'z', tags: [], accessControl: { 'team-a': 'read' } }), 'read');
  assert.equal(dagAccess(scope, { dagId: 'w', tags: ['b'], accessControl: { other: 'edit' } }), 'none');
  const p = { kind: 'user', username: 'a', role: 'User', roleName: 'team-a', dags: scope } as const;
  assert.equal(principalAllows(p, { resource: 'dag_run', action: 'create' }, { dagId: 'z', tags: [], accessControl: { 'team-a': 'read' } }), false);
  assert.equal(principalAllows(p, { resource: 'dag_run', action: 'read' }, { dagId: 'z', tags: [], accessControl: { 'team-a': 'read' } }), true);
});

forEachDialect('AuthService', (s) => {
  let now = 1_800_000_000_000;
  const clock = () => now;
  const service = (settings: Partial<AuthSettings> = {}) => new AuthService({ db: s.db, settings: { ...SETTINGS, ...settings }, secretKey: 'x'.repeat(32), now: clock });

  test('users: valid names and passwords only; login records the time; inactive users cannot log in', async () => {
    const auth = service();
    await assert.rejects(auth.createUser({ username: 'bad name', password: 'long-enough', role: 'Viewer' }), /username: 'bad name' is not a valid username/);
    await assert.rejects(auth.createUser({ username: 'bob', password: 'short', role: 'Viewer' }), /password: must be at least 8/);
    await assert.rejects(auth.createUser({ username: 'bob', password: 'long-enough', role: 'Wizard' }), /role: role 'Wizard' does not exist/);
    await auth.createUser({ username: 'bob', password: 'long-enough', role: 'Op', email: 'bob@example.com' });
    await assert.rejects(auth.createUser({ username: 'bob', password: 'long-enough', role: 'Op' }), /already exists/);
    const user = await auth.login('bob', 'long-enough', 'c1');
    assert.equal(user.lastLoginAt, now);
    await auth.updateUser('bob', { active: false });
    await assert.rejects(auth.login('bob', 'long-enough', 'c2'), /invalid username or password/);
    await auth.updateUser('bob', { active: true });
  });

  test('throttled logins answer rate_limited until the wait has passed', async () => {
    const auth = service();
    await auth.createUser({ username: 'carol', password: 'carol-password', role: 'Viewer' });
    for (let i = 0; i < 2; i++) await assert.rejects(auth.login('carol', 'wrong-pass', 'c'), /invalid username/);
    await assert.rejects(auth.login('carol', 'carol-password', 'c'), (e: Error & { code?: string }) => e.code === 'rate_limited');
    now += 1001;
    assert.equal((await auth.login('carol', 'carol-password', 'c')).username, 'carol');
  });

  test('signed tokens expire, and one signed with another secret or audience is refused', async () => {
    const auth = service();
    await auth.createUser({ username: 'dave', password: 'dave-password', role: 'User' });
    const { token } = await auth.issueSession('dave', 'bearer');
    assert.equal((await auth.authenticateBearer(token)).role, 'User');
    await assert.rejects(service({ jwtSecret: 'another-secret-entirely' }).authenticateBearer(token), /not valid/);
    await assert.rejects(service({ jwtAudience: 'elsewhere' }).authenticateBearer(token), /not valid/);
    now += 3_600_001;
    await assert.rejects(auth.authenticateBearer(token), /expired/);
  });

  test('asymmetric signing: ES256 with a PEM private key; tokens verify with its public key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capstan-jwt-'));
    const file = join(dir, 'jwt.pem');
    writeFileSync(file, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const auth = service({ jwtAlgorithm: 'ES256', jwtPrivateKeyFile: file });
    const { token } = await auth.issueSession('dave', 'bearer');
    assert.equal(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).alg, 'ES256');
    assert.equal((await auth.authenticateBearer(token)).username, 'dave');
    assert.throws(() => service({ jwtAlgorithm: 'RS256', jwtPrivateKeyFile: '' }), /needs auth.jwtPrivateKeyFile/);
  });

  test('API tokens: stored hashed, capped by the user’s current role, expire, and follow the user', async () => {
    const auth = service();
    const erin = await auth.createUser({ username: 'erin', password: 'erin-password', role: 'Op' });
    const owner = await auth.principalFor(erin);
    await assert.rejects(auth.createApiToken(owner, { name: 'x', role: 'Admin' }), /above your Op/);
    await assert.rejects(auth.createApiToken(owner, { name: 'x', expiresInMs: 30 * 86_400_000 }), /expiresInMs/);
    const { token, info } = await auth.createApiToken(owner, { name: 'deploy', expiresInMs: 120_000 });
    const parsed = parseApiTokenText(token);
    assert.ok(parsed);
    const row = await s.db.db.selectFrom('api_token').selectAll().where('token_id', '=', info.tokenId).executeTakeFirstOrThrow();
    assert.ok(!row.secret_hash.includes(parsed.secret) && !token.includes(row.secret_hash));
    assert.equal((await auth.authenticateBearer(token)).role, 'Op');
    await auth.updateUser('erin', { role: 'Viewer' });
    assert.equal((await auth.authenticateBearer(token)).role, 'Viewer', 'a demotion caps existing tokens');
    assert.equal((await auth.apiTokens.get(info.tokenId)).lastUsedAt, now);
    await assert.rejects(auth.authenticateBearer(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')), /not valid/);
    now += 120_001;
    await assert.rejects(auth.authenticateBearer(token), /expired/);
  });

  test('custom roles: base role narrowed to DAGs; cannot be Admin-based; cannot be deleted while held', async () => {
    const auth = service();
    await assert.rejects(auth.createRole({ name: 'supers', baseRole: 'Admin' }), /baseRole: 'Admin' must be Viewer, User or Op/);
    await assert.rejects(auth.createRole({ name: 'Viewer', baseRole: 'User' }), /built-in role/);
    await auth.createRole({ name: 'analysts', baseRole: 'Viewer', dagIds: ['sales'], dagTags: ['finance'] });
    const frank = await auth.createUser({ username: 'frank', password: 'frank-password', role: 'analysts' });
    const p = await auth.principalFor(frank);
    assert.deepEqual([p.role, p.roleName, p.dags], ['Viewer', 'analysts', { kind: 'some', role: 'analysts', dagIds: ['sales'], tags: ['finance'] }]);
    await assert.rejects(auth.users.deleteRole('analysts'), /held by 1 user/);
    await auth.updateUser('frank', { role: 'Viewer' });
    await auth.users.deleteRole('analysts');
  });
});
