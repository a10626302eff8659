/**
 * Identity and access over a real engine: the permission table covers every route; anonymous callers get 401
 * everywhere but /health and the login routes; every role gets exactly its matrix; custom roles and a DAG's
 * accessControl hide other teams' DAGs; login answers and throttling; session cookies with CSRF; bearer and API
 * tokens with logout and revocation; the audit log names the real actor.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createApiAppFor } from '../../src/app/roles.ts';
import { ROUTE_PERMISSIONS, splitRoute, type RouteAccess } from '../../src/api/auth/index.ts';
import { BUILTIN_ROLES, roleAllows, type BuiltinRole } from '../../src/auth/permissions.ts';
import { startTestEngine, TEST_ADMIN_PASSWORD, type TestEngine } from '../support/engine.ts';

const dagSource = (dagId: string, extra = '') => `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: '${dagId}', schedule: null ${extra} }, () => { new BashOperator({ taskId: 'hi', bashCommand: 'echo hi' }); });
`;

/** Concrete values for a route's parameters: a real DAG, and ids that exist nowhere (so nothing real is deleted). */
function concretePath(path: string): string {
  const values: Record<string, string> = { dagId: 'team_a_dag', dagRunId: 'no-such-run', taskId: 'hi', tryNumber: '1', backfillId: '999', username: 'nobody', roleName: 'no-such-role', tokenId: 'nosuchtoken0' };
  return path.replace(/:(\w+)/g, (_, p: string) => values[p] ?? 'x');
}

describe('authentication and authorization', () => {
  let t: TestEngine;
  let app: ReturnType<typeof createApiAppFor>;
  const tokens: Partial<Record<BuiltinRole, string>> = {};

  const call = (method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}) =>
    app.request(path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  before(async () => {
    t = await startTestEngine({
      dags: {
        'a.ts': dagSource('team_a_dag', ", tags: ['team-a']"),
        'b.ts': dagSource('team_b_dag', ", tags: ['team-b']"),
        'c.ts': dagSource('shared_dag', ", accessControl: { 'team-a': 'read' }"),
      },
      env: { CAPSTAN__AUTH__LOGIN_MAX_FAILURES: '3', CAPSTAN__AUTH__LOGIN_LOCKOUT_MS: '300' },
    });
    app = createApiAppFor(t.engine);
    for (const role of BUILTIN_ROLES) {
      const user = await t.engine.auth.createUser({ username: `u_${role.toLowerCase()}`, password: 'password-' + role, role });
      tokens[role] = (await t.engine.auth.createApiToken(await t.engine.auth.principalFor(user), { name: 'matrix' })).token;
    }
  });
  after(async () => {
    await t.stop();
  });

  test('every route of the app is in the permission table, and every table entry is a route of the app', () => {
    const appRoutes = new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`));
    const missing = [...appRoutes].filter((r) => !(r in ROUTE_PERMISSIONS));
    assert.deepEqual(missing, [], 'routes without a permission entry');
    const stale = Object.keys(ROUTE_PERMISSIONS).filter((r) => !appRoutes.has(r));
    assert.deepEqual(stale, [], 'table entries with no route');
  });

  test('anonymous callers get 401 with WWW-Authenticate on every route but /health, login and the Execution API', async () => {
    for (const [route, access] of Object.entries(ROUTE_PERMISSIONS)) {
      const [method, path] = splitRoute(route);
      const res = await call(method, concretePath(path), undefined, method === 'GET' ? undefined : {});
      if (access.kind === 'public') {
        assert.notEqual(res.status, 401, route);
      } else {
        // Execution API routes answer 401 themselves (no task token).
        assert.equal(res.status, 401, route);
        if (access.kind !== 'task') assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/, route);
      }
    }
  });

  test('role × route matrix: each built-in role is refused exactly what its role lacks', async () => {
    const permissionRoutes = Object.entries(ROUTE_PERMISSIONS).filter((e): e is [string, Extract<RouteAccess, { kind: 'permission' }>] => e[1].kind === 'permission');
    assert.ok(permissionRoutes.length > 30);
    for (const role of BUILTIN_ROLES) {
      for (const [route, access] of permissionRoutes) {
        const [method, path] = splitRoute(route);
        const res = await call(method, concretePath(path), tokens[role], method === 'GET' || method === 'DELETE' ? undefined : {});
        const allowed = roleAllows(role, access);
        // The body is read only to explain a failure: a live stream (SSE) route never ends it.
        if (allowed && (res.status === 401 || res.status === 403)) assert.fail(`${role} ${route}: ${res.status} ${await res.text()}`);
        if (!allowed) assert.equal(res.status, 403, `${role} ${route}`);
        await res.body?.cancel();
      }
    }
  });

  test('the matrix means what Airflow means: Viewer reads, User triggers, Op manages pools, Admin manages users', async () => {
    assert.equal((await call('GET', '/api/v2/dags', tokens.Viewer)).status, 200);
    assert.equal((await call('POST', '/api/v2/dags/team_a_dag/dagRuns', tokens.Viewer, { dagRunId: 'viewer_try' })).status, 403);
    assert.equal((await call('POST', '/api/v2/dags/team_a_dag/dagRuns', tokens.User, { dagRunId: 'user_run' })).status, 201);
    assert.equal((await call('POST', '/api/v2/backfills', tokens.User, { dagId: 'team_a_dag', fromDate: '2026-01-01', toDate: '2026-01-02' })).status, 403);
    assert.equal((await call('GET', '/api/v2/eventLogs', tokens.User)).status, 403);
    assert.equal((await call('GET', '/api/v2/eventLogs', tokens.Op)).status, 200);
    assert.equal((await call('POST', '/api/v2/users', tokens.Op, { username: 'x', password: 'long-enough', role: 'Viewer' })).status, 403);
    assert.equal((await call('POST', '/api/v2/users', tokens.Admin, { username: 'made_by_admin', password: 'long-enough', role: 'Viewer' })).status, 201);
  });

  test('custom roles and accessControl: team A sees its DAGs only — lists, runs, logs — and reads a shared DAG', async () => {
    await t.engine.auth.createRole({ name: 'team-a', baseRole: 'User', dagTags: ['team-a'] });
    const alice = await t.engine.auth.createUser({ username: 'alice', password: 'alice-password', role: 'team-a' });
    const { token } = await t.engine.auth.createApiToken(await t.engine.auth.principalFor(alice), { name: 'a' });
    const listed = ((await (await call('GET', '/api/v2/dags', token)).json()) as { dags: Array<{ dagId: string }> }).dags.map((d) => d.dagId).sort();
    assert.deepEqual(listed, ['shared_dag', 'team_a_dag']);
    assert.equal((await call('GET', '/api/v2/dags/team_b_dag', token)).status, 404);
    assert.equal((await call('GET', '/api/v2/dags/team_b_dag/dagRuns', token)).status, 404);
    assert.equal((await call('GET', '/api/v2/dags/team_b_dag/dagRuns/r/taskInstances/hi/logs/1', token)).status, 404);
    assert.equal((await call('POST', '/api/v2/dags/team_b_dag/dagRuns', token, {})).status, 404);
    assert.equal((await call('POST', '/api/v2/dags/team_a_dag/dagRuns', token, { dagRunId: 'alice_run' })).status, 201);
    assert.equal((await call('GET', '/api/v2/dags/shared_dag', token)).status, 200);
    assert.equal((await call('PATCH', '/api/v2/dags/shared_dag', token, { isPaused: true })).status, 403);
    // Admin still sees everything.
    const all = ((await (await call('GET', '/api/v2/dags', tokens.Admin)).json()) as { dags: unknown[] }).dags;
    assert.equal(all.length, 3);
  });

  test('login: unknown user and wrong password get the same 401; repeated failures from one client get 429 with Retry-After', async () => {
    const wrong = await call('POST', '/auth/token', undefined, { username: 'u_viewer', password: 'nope-nope' });
    const unknown = await call('POST', '/auth/token', undefined, { username: 'ghost', password: 'nope-nope' });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.deepEqual(await wrong.json(), await unknown.json());
    for (let i = 0; i < 2; i++) assert.equal((await call('POST', '/auth/token', undefined, { username: 'u_viewer', password: 'nope-nope' })).status, 401);
    const limited = await call('POST', '/auth/token', undefined, { username: 'u_viewer', password: 'password-Viewer' });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    // Another user is not locked out by these failures.
    assert.equal((await call('POST', '/auth/token', undefined, { username: 'u_op', password: 'password-Op' })).status, 201);
  });

  test('bearer token from POST /auth/token works until logout revokes it', async () => {
    const res = await call('POST', '/auth/token', undefined, { username: 'admin', password: TEST_ADMIN_PASSWORD });
    assert.equal(res.status, 201);
    const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
    assert.equal(body.token_type, 'bearer');
    assert.ok(body.expires_in > 3600);
    const me = (await (await call('GET', '/auth/me', body.access_token)).json()) as { username: string; role: string };
    assert.deepEqual([me.username, me.role], ['admin', 'Admin']);
    assert.equal((await call('POST', '/auth/logout', body.access_token, {})).status, 204);
    assert.equal((await call('GET', '/auth/me', body.access_token)).status, 401);
    // A tampered token is refused.
    assert.equal((await call('GET', '/auth/me', body.access_token.slice(0, -3) + 'AAA')).status, 401);
  });

  test('browser session: HttpOnly SameSite cookie; unsafe requests need the CSRF header; logout ends it', async () => {
    const res = await call('POST', '/auth/login', undefined, { username: 'u_user', password: 'password-User' });
    assert.equal(res.status, 200);
    const cookies = res.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith('capstan_session='));
    assert.ok(session && /HttpOnly/i.test(session) && /SameSite=Strict/i.test(session), session);
    const { csrfToken } = (await res.json()) as { csrfToken: string };
    const cookie = cookies.map((c) => c.split(';')[0]).join('; ');
    assert.equal((await call('GET', '/auth/me', undefined, undefined, { cookie })).status, 200);
    const noCsrf = await call('POST', '/api/v2/dags/team_a_dag/dagRuns', undefined, { dagRunId: 'cookie_nocsrf' }, { cookie });
    assert.equal(noCsrf.status, 403);
    const badCsrf = await call('POST', '/api/v2/dags/team_a_dag/dagRuns', undefined, { dagRunId: 'cookie_bad' }, { cookie, 'x-csrf-token': 'guess' });
    assert.equal(badCsrf.status, 403);
    const ok = await call('POST', '/api/v2/dags/team_a_dag/dagRuns', undefined, { dagRunId: 'cookie_ok' }, { cookie, 'x-csrf-token': csrfToken });
    assert.equal(ok.status, 201);
    // A session token is not accepted as a bearer token (it would skip CSRF).
    const sessionToken = decodeURIComponent(session.split(';')[0]!.split('=')[1]!);
    assert.equal((await call('GET', '/auth/me', sessionToken)).status, 401);
    assert.equal((await call('POST', '/auth/logout', undefined, {}, { cookie, 'x-csrf-token': csrfToken })).status, 204);
    assert.equal((await call('GET', '/auth/me', undefined, undefined, { cookie })).status, 401);
  });

  test('API tokens: role at most the user’s, shown once, revocable; a token cannot mint tokens; deactivation stops them', async () => {
    const login = (await (await call('POST', '/auth/token', undefined, { username: 'u_user', password: 'password-User' })).json()) as { access_token: string };
    assert.equal((await call('POST', '/auth/tokens', login.access_token, { name: 'too-high', role: 'Op' })).status, 403);
    const created = await call('POST', '/auth/tokens', login.access_token, { name: 'ci', role: 'Viewer', expiresInMs: 3_600_000 });
    assert.equal(created.status, 201);
    const { token, tokenId } = (await created.json()) as { token: string; tokenId: string };
    assert.match(token, /^cap_/);
    const listed = (await (await call('GET', '/auth/tokens', login.access_token)).json()) as { apiTokens: Array<Record<string, unknown>> };
    assert.ok(listed.apiTokens.every((x) => !('token' in x) && !('secretHash' in x)));
    assert.equal((await call('GET', '/api/v2/dags', token)).status, 200);
    assert.equal((await call('POST', '/api/v2/dags/team_a_dag/dagRuns', token, {})).status, 403, 'a Viewer token of a User');
    assert.equal((await call('POST', '/auth/tokens', token, { name: 'child' })).status, 403);
    assert.equal((await call('DELETE', `/auth/tokens/${tokenId}`, login.access_token)).status, 200);
    assert.equal((await call('GET', '/api/v2/dags', token)).status, 401);
    // Deactivating a user stops their tokens at once.
    assert.equal((await call('GET', '/api/v2/dags', tokens.User)).status, 200);
    assert.equal((await call('PATCH', '/api/v2/users/u_user', tokens.Admin, { active: false })).status, 200);
    assert.equal((await call('GET', '/api/v2/dags', tokens.User)).status, 401);
    assert.equal((await call('PATCH', '/api/v2/users/u_user', tokens.Admin, { active: true })).status, 200);
  });

  test('the last active Admin cannot be demoted, deactivated or deleted', async () => {
    const admins = (await t.engine.auth.users.list()).users.filter((u) => u.role === 'Admin' && u.active);
    for (const a of admins.slice(1)) await t.engine.auth.updateUser(a.username, { role: 'Op' });
    const last = admins[0]!.username;
    const only = await t.engine.auth.createApiToken(await t.engine.auth.principalFor(admins[0]!), { name: 'last-admin' });
    assert.equal((await call('PATCH', `/api/v2/users/${last}`, only.token, { role: 'Viewer' })).status, 409);
    assert.equal((await call('DELETE', `/api/v2/users/${last}`, only.token)).status, 409);
    for (const a of admins.slice(1)) await t.engine.auth.updateUser(a.username, { role: 'Admin' });
  });

  test('/metrics needs a signed-in caller', async () => {
    assert.equal((await call('GET', '/metrics')).status, 401);
    const res = await call('GET', '/metrics', tokens.Viewer);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /capstan_/);
  });

  test('the audit log records the real actor and the outcome of refused requests', async () => {
    await call('POST', '/api/v2/dags/team_a_dag/dagRuns', tokens.Viewer, { dagRunId: 'denied_run' });
    await call('POST', '/api/v2/users', tokens.Admin, { username: 'audited_user', password: 'long-enough', role: 'Viewer' });
    const entries = (await (await call('GET', '/api/v2/eventLogs?limit=200', tokens.Admin)).json()) as { eventLogs: Array<{ event: string; owner: string; extra: { outcome?: string } | null }>; totalEntries: number };
    assert.ok(entries.eventLogs.some((e) => e.event === 'dag.trigger' && e.owner === 'u_viewer (token matrix)' && e.extra?.outcome === 'denied'));
    assert.ok(entries.eventLogs.some((e) => e.event === 'user.create' && e.owner === 'u_admin (token matrix)' && e.extra?.outcome === 'success'));
    assert.ok(entries.eventLogs.some((e) => e.event === 'auth.login' && e.owner === 'ghost' && e.extra?.outcome === 'failed'));
    assert.ok(entries.totalEntries >= entries.eventLogs.length);
    // Filters work; a bad time bound is a 400 naming it.
    const byActor = (await (await call('GET', `/api/v2/eventLogs?owner=${encodeURIComponent('u_admin (token matrix)')}`, tokens.Admin)).json()) as { eventLogs: Array<{ owner: string }> };
    assert.ok(byActor.eventLogs.length > 0 && byActor.eventLogs.every((e) => e.owner === 'u_admin (token matrix)'));
    const badTime = await call('GET', '/api/v2/eventLogs?after=yesterday', tokens.Admin);
    assert.equal(badTime.status, 400);
    assert.equal(((await badTime.json()) as { error: { field?: string } }).error.field, 'after');
  });
});

describe('auth.mode disabled', () => {
  test('is refused on a non-loopback bind, and on loopback makes every caller an anonymous Admin', async () => {
    const exposed = await startTestEngine({ env: { CAPSTAN__AUTH__MODE: 'disabled', CAPSTAN__API__HOST: '127.0.0.1' } }).catch((err: unknown) => err);
    assert.ok(!(exposed instanceof Error), String(exposed));
    const t = exposed as TestEngine;
    try {
      const open = createApiAppFor(t.engine);
      const me = (await (await open.request('/auth/me')).json()) as { username: string; role: string; authKind: string };
      assert.deepEqual([me.username, me.role, me.authKind], ['anonymous', 'Admin', 'anonymous']);
      assert.equal((await open.request('/api/v2/dags')).status, 200);
      for (const host of ['0.0.0.0', '10.1.2.3', '::']) {
        const wide = { ...t.engine, config: { ...t.engine.config, api: { ...t.engine.config.api, host } } };
        assert.throws(() => createApiAppFor(wide), /auth.mode: 'disabled' is refused with api.host/);
      }
    } finally {
      await t.stop();
    }
  });
});
