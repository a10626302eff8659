/**
 * Single sign-on against a real OpenID Connect provider (`oidc-provider`) listening on 127.0.0.1 in this process:
 * the whole browser flow — Capstan's /auth/oidc/login, the provider's login and consent forms, Capstan's
 * callback, the session cookie — driven with fetch and hand-carried cookies. Groups map to roles on every
 * login; unmapped users, tampered state, open redirects and a takeover of a password user are refused.
 */
import assert from 'node:assert/strict';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Provider from 'oidc-provider';
import { createApiAppFor } from '../../src/app/roles.ts';
import { parseOidcSettings, roleForGroups, parseRoleMapping, type OidcOptions } from '../../src/auth/oidcSettings.ts';
import { safeNextPath } from '../../src/api/auth/oidcRoutes.ts';
import { AuditLog } from '../../src/store/auditLog.ts';
import { ConfigError } from '../../src/config/errors.ts';
import type { Engine } from '../../src/app/components.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const REDIRECT_URL = 'http://capstan.test/auth/oidc/callback';
const CLIENT_ID = 'capstan';
const CLIENT_SECRET = 'capstan-test-client-secret';

interface Account {
  preferred_username?: string;
  name: string;
  email: string;
  groups: string[];
}

/** The provider's users, by account id (what one types into its login form). Tests change groups between logins. */
const accounts = new Map<string, Account>([
  ['alice', { preferred_username: 'alice', name: 'Alice Admin', email: 'alice@example.com', groups: ['capstan-admins', 'everyone'] }],
  ['oscar', { preferred_username: 'oscar', name: 'Oscar Ops', email: 'oscar@example.com', groups: ['data-eng'] }],
  ['carol', { preferred_username: 'carol', name: 'Carol Analyst', email: 'carol@example.com', groups: ['analysts'] }],
  ['dave', { preferred_username: 'dave', name: 'Dave Both', email: 'dave@example.com', groups: ['analysts', 'data-eng'] }],
  ['nobody', { preferred_username: 'nobody', name: 'No Groups', email: 'nobody@example.com', groups: ['marketing'] }],
  ['bob', { preferred_username: 'bob', name: 'Bob From SSO', email: 'bob@example.com', groups: ['capstan-admins'] }],
  ['subonly-7f3a', { name: 'Sub Only', email: 'sub@example.com', groups: ['data-eng'] }],
  ['erin', { preferred_username: 'erin', name: 'Erin', email: 'erin@example.com', groups: ['data-eng'] }],
]);

async function startProvider(): Promise<{ issuer: string; server: Server }> {
  let handler: RequestListener = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URL], response_types: ['code'], grant_types: ['authorization_code'] }],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'], groups: ['groups'] },
    cookies: { keys: ['oidc-test-cookie-key'] },
    findAccount: (_ctx, id) => {
      const account = accounts.get(id);
      return account ? { accountId: id, claims: () => ({ sub: id, ...account }) } : undefined;
    },
  });
  handler = provider.callback();
  return { issuer, server };
}

/** A browser's cookies for one site (paths and expiry beyond deletion ignored: every test path is under them). */
class CookieJar {
  readonly cookies = new Map<string, string>();

  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || attrs.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1] ?? '') < Date.now());
      if (value === '' || expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

describe('OIDC single sign-on against a real provider', () => {
  let provider: { issuer: string; server: Server };
  let t: TestEngine;
  let app: ReturnType<typeof createApiAppFor>;

  const capstan = async (a: ReturnType<typeof createApiAppFor>, path: string, jar: CookieJar, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (jar.cookies.size > 0) headers.set('cookie', jar.header());
    const res = await a.request(path, { ...init, headers });
    jar.take(res);
    return res;
  };

  /**
   * A browser signing in as `login` at the provider: Capstan's login redirect, the provider's pages (login form,
   * consent form; skipped when its session and grant remain), then Capstan's callback. `deny` aborts at consent.
   */
  async function signIn(login: string, o: { next?: string; app?: ReturnType<typeof createApiAppFor>; providerJar?: CookieJar; deny?: boolean; editCallback?: (u: URL) => void } = {}) {
    const a = o.app ?? app;
    const jar = new CookieJar();
    const pj = o.providerJar ?? new CookieJar();
    const start = await capstan(a, `/auth/oidc/login?next=${encodeURIComponent(o.next ?? '/')}`, jar);
    assert.equal(start.status, 302, await start.clone().text());
    let url = new URL(start.headers.get('location') ?? '');
    assert.equal(url.origin, provider.issuer);
    for (let hop = 0; url.origin === provider.issuer; hop++) {
      assert.ok(hop < 12, 'too many provider hops');
      const res = await fetch(url, { redirect: 'manual', headers: { cookie: pj.header() } });
      pj.take(res);
      if (res.status === 302 || res.status === 303) {
        url = new URL(res.headers.get('location') ?? '', url);
        continue;
      }
      const html = await res.text();
      assert.equal(res.status, 200, html);
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
      assert.ok(action && prompt, `no form in the provider's page: ${html.slice(0, 300)}`);
      const target = new URL(action, url);
      if (prompt === 'consent' && o.deny) {
        url = new URL(`${target.pathname}/abort`, url);
        continue;
      }
      const form = new URLSearchParams(prompt === 'login' ? { prompt, login, password: 'whatever-the-dev-form-ignores' } : { prompt });
      const posted = await fetch(target, { method: 'POST', redirect: 'manual', body: form, headers: { cookie: pj.header(), 'content-type': 'application/x-www-form-urlencoded' } });
      pj.take(posted);
      assert.equal(posted.status, 303, await posted.text());
      url = new URL(posted.headers.get('location') ?? '', url);
    }
    assert.equal(`${url.origin}${url.pathname}`, REDIRECT_URL);
    o.editCallback?.(url);
    const transactionCookie = jar.cookies.get('capstan_oidc');
    const callbackPath = `${url.pathname}${url.search}`;
    const callback = await capstan(a, callbackPath, jar);
    return { callback, jar, providerJar: pj, callbackPath, transactionCookie };
  }

  const me = async (jar: CookieJar) => {
    const res = await capstan(app, '/auth/me', jar);
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as { username: string; role: string; roleName: string; displayName: string; email: string; dags: { all: boolean } };
  };

  before(async () => {
    provider = await startProvider();
    t = await startTestEngine({
      env: {
        CAPSTAN__AUTH__OIDC_ISSUER_URL: provider.issuer,
        CAPSTAN__AUTH__OIDC_CLIENT_ID: CLIENT_ID,
        CAPSTAN__AUTH__OIDC_CLIENT_SECRET: CLIENT_SECRET,
        CAPSTAN__AUTH__OIDC_REDIRECT_URL: REDIRECT_URL,
        CAPSTAN__AUTH__OIDC_ROLE_MAPPING: 'capstan-admins=Admin, data-eng=Op, analysts=team-a',
      },
    });
    await t.engine.auth.createRole({ name: 'team-a', baseRole: 'User', dagTags: ['team-a'] });
    app = createApiAppFor(t.engine);
  });
  after(async () => {
    await t?.stop();
    await new Promise((resolve) => provider?.server.close(resolve));
  });

  const withAuth = (patch: Partial<Engine['config']['auth']>): Engine => ({ ...t.engine, config: { ...t.engine.config, auth: { ...t.engine.config.auth, ...patch } } });

  test('GET /auth/providers tells a login page whether to offer SSO', async () => {
    const on = await app.request('/auth/providers');
    assert.deepEqual(await on.json(), { password: true, oidc: { enabled: true, loginUrl: '/auth/oidc/login' } });
    const offApp = createApiAppFor(withAuth({ oidcIssuerUrl: '' }));
    assert.deepEqual(await (await offApp.request('/auth/providers')).json(), { password: true, oidc: { enabled: false, loginUrl: null } });
    const login = await offApp.request('/auth/oidc/login');
    assert.equal(login.status, 404);
    assert.match(((await login.json()) as { error: { message: string } }).error.message, /single sign-on is not configured/);
  });

  test('the login redirect uses the code flow with PKCE, state and nonce, kept in an HttpOnly SameSite=Lax cookie', async () => {
    const res = await app.request('/auth/oidc/login?next=/dags');
    assert.equal(res.status, 302);
    const url = new URL(res.headers.get('location') ?? '');
    assert.equal(url.searchParams.get('response_type'), 'code');
    assert.equal(url.searchParams.get('client_id'), CLIENT_ID);
    assert.equal(url.searchParams.get('redirect_uri'), REDIRECT_URL);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.ok((url.searchParams.get('code_challenge') ?? '').length >= 43);
    assert.ok((url.searchParams.get('state') ?? '').length >= 20);
    assert.ok((url.searchParams.get('nonce') ?? '').length >= 20);
    assert.equal(url.searchParams.get('scope'), 'openid profile email groups');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('capstan_oidc='));
    assert.ok(cookie);
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    assert.match(cookie, /Path=\/auth\/oidc/);
    // The state and the PKCE verifier are sealed, not readable in the cookie.
    assert.ok(!cookie.includes(url.searchParams.get('state') ?? 'x'));
  });

  test('groups map to roles: capstan-admins → Admin, data-eng → Op, a custom role, and a built-in role over a custom one', async () => {
    const alice = await signIn('alice', { next: '/dags?tag=a' });
    assert.equal(alice.callback.status, 302, await alice.callback.clone().text());
    assert.equal(alice.callback.headers.get('location'), '/dags?tag=a');
    const cookies = alice.callback.headers.getSetCookie();
    assert.ok(cookies.some((c) => c.startsWith('capstan_session=') && /HttpOnly/i.test(c) && /SameSite=Strict/i.test(c)));
    assert.ok(cookies.some((c) => c.startsWith('capstan_csrf=')));
    assert.ok(!alice.jar.cookies.has('capstan_oidc'), 'the transaction cookie is cleared by the callback');
    const a = await me(alice.jar);
    assert.equal(a.username, 'alice');
    assert.equal(a.role, 'Admin');
    assert.equal(a.displayName, 'Alice Admin');
    assert.equal(a.email, 'alice@example.com');
    const row = await t.engine.auth.users.get('alice');
    assert.equal(row.authSource, 'oidc');
    assert.equal((await t.engine.auth.users.findWithHash('alice'))?.passwordHash, null);

    assert.equal((await me((await signIn('oscar')).jar)).role, 'Op');
    const carol = await me((await signIn('carol')).jar);
    assert.equal(carol.roleName, 'team-a');
    assert.equal(carol.role, 'User');
    assert.equal(carol.dags.all, false);
    const dave = await me((await signIn('dave')).jar);
    assert.equal(dave.roleName, 'Op', 'a built-in role wins over a custom role');

    // The session works for the API, and unsafe requests still need the CSRF header.
    const dags = await capstan(app, '/api/v2/dags', alice.jar);
    assert.equal(dags.status, 200);

    const audit = await new AuditLog(t.engine.db).list({ event: 'auth.login', actor: 'alice' });
    assert.ok(audit.some((e) => /"method":"oidc"/.test(String(e.details)) && /"outcome":"success"/.test(String(e.details)) && /capstan-admins/.test(String(e.details))), JSON.stringify(audit));
  });

  test('the username falls back to sub when the provider sends no preferred_username', async () => {
    const { callback, jar } = await signIn('subonly-7f3a');
    assert.equal(callback.status, 302, await callback.clone().text());
    assert.equal((await me(jar)).username, 'subonly-7f3a');
  });

  test('a user whose groups map to no role is refused when auth.oidcDefaultRole is empty, and gets it when set', async () => {
    const { callback } = await signIn('nobody');
    assert.equal(callback.status, 403);
    const body = (await callback.json()) as { error: { message: string; hint: string } };
    assert.match(body.error.message, /no group that auth\.oidcRoleMapping maps to a role \(groups: marketing\)/);
    assert.match(body.error.hint, /auth\.oidcDefaultRole/);
    assert.ok(!callback.headers.getSetCookie().some((c) => c.startsWith('capstan_session=')));
    assert.equal(await t.engine.auth.users.find('nobody'), undefined);

    const lenient = createApiAppFor(withAuth({ oidcDefaultRole: 'Viewer' }));
    const again = await signIn('nobody', { app: lenient });
    assert.equal(again.callback.status, 302, await again.callback.clone().text());
    assert.equal((await me(again.jar)).role, 'Viewer');
  });

  test('the role follows the groups on the next login, for better and worse', async () => {
    const account = accounts.get('erin');
    assert.ok(account);
    const first = await signIn('erin');
    assert.equal((await me(first.jar)).role, 'Op');
    account.groups = ['capstan-admins'];
    account.name = 'Erin Promoted';
    const second = await signIn('erin', { providerJar: first.providerJar });
    assert.equal(second.callback.status, 302, await second.callback.clone().text());
    const promoted = await me(second.jar);
    assert.equal(promoted.role, 'Admin');
    assert.equal(promoted.displayName, 'Erin Promoted');
    account.groups = ['marketing'];
    const third = await signIn('erin', { providerJar: first.providerJar });
    assert.equal(third.callback.status, 403, 'no mapped group any more: refused');
    account.groups = ['analysts'];
    await signIn('erin', { providerJar: first.providerJar });
    // The role is read per request, so even the earlier session now has the narrower role.
    assert.equal((await me(first.jar)).roleName, 'team-a');
  });

  test('a tampered state, a missing or forged transaction cookie, and a denied consent are refused with 4xx', async () => {
    const tampered = await signIn('oscar', { editCallback: (u) => u.searchParams.set('state', 'forged-state-value') });
    assert.equal(tampered.callback.status, 400);
    assert.match(((await tampered.callback.json()) as { error: { message: string } }).error.message, /state mismatch/);
    assert.ok(!tampered.callback.headers.getSetCookie().some((c) => c.startsWith('capstan_session=')));

    const start = await app.request('/auth/oidc/login');
    const state = new URL(start.headers.get('location') ?? '').searchParams.get('state') ?? '';
    const noCookie = await app.request(`/auth/oidc/callback?code=abc&state=${state}`);
    assert.equal(noCookie.status, 400);
    assert.match(((await noCookie.json()) as { error: { message: string } }).error.message, /login cookie is missing/);
    const forged = await app.request(`/auth/oidc/callback?code=abc&state=${state}`, { headers: { cookie: 'capstan_oidc=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAA.BBBB.CCCC' } });
    assert.equal(forged.status, 400);

    // A callback whose query was edited (no code, a forged iss) is the browser's input: 4xx, never 5xx.
    const noCode = await signIn('oscar', { editCallback: (u) => u.searchParams.delete('code') });
    assert.equal(noCode.callback.status, 401, await noCode.callback.clone().text());
    const otherIss = await signIn('oscar', { editCallback: (u) => u.searchParams.set('iss', 'https://evil.example') });
    assert.equal(otherIss.callback.status, 401, await otherIss.callback.clone().text());

    // A browser gets a readable page rather than JSON.
    const page = await app.request(`/auth/oidc/callback?code=abc&state=${state}`, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 400);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /Sign-in failed.*login cookie is missing/s);

    const denied = await signIn('carol', { deny: true });
    assert.equal(denied.callback.status, 401);
    assert.match(((await denied.callback.json()) as { error: { message: string } }).error.message, /refused the sign-in: access_denied/);

    // A replayed callback, even with the transaction cookie kept back: the provider refuses the spent code.
    const once = await signIn('oscar');
    assert.equal(once.callback.status, 302);
    assert.ok(once.transactionCookie);
    const replay = await app.request(once.callbackPath, { headers: { cookie: `capstan_oidc=${once.transactionCookie}` } });
    assert.equal(replay.status, 401);
    assert.match(((await replay.json()) as { error: { message: string } }).error.message, /refused the authorization code: invalid_grant/);
    assert.ok(!replay.headers.getSetCookie().some((c) => c.startsWith('capstan_session=')));
  });

  test('next must be a path on this server: other hosts are refused before leaving for the provider', async () => {
    for (const next of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', '\\\\evil.example', 'javascript:alert(1)', '/ok\r\nLocation: https://evil.example']) {
      const res = await app.request(`/auth/oidc/login?next=${encodeURIComponent(next)}`);
      assert.equal(res.status, 400, next);
      assert.match(((await res.json()) as { error: { message: string } }).error.message, /next: .* is not a path on this server/, next);
      assert.equal(res.headers.get('location'), null, next);
    }
    assert.equal(safeNextPath('/dags/etl?x=1#top'), '/dags/etl?x=1#top');
    assert.equal(safeNextPath('/%2F%2Fevil.example'), '/%2F%2Fevil.example');
    assert.equal(safeNextPath('//evil.example'), undefined);
  });

  test('an existing password user with the same name is not taken over, and OIDC users cannot use POST /auth/token', async () => {
    await t.engine.auth.createUser({ username: 'bob', password: 'bobs-own-password', role: 'Viewer', displayName: 'Bob Local' });
    const { callback } = await signIn('bob');
    assert.equal(callback.status, 409);
    assert.match(((await callback.json()) as { error: { message: string } }).error.message, /'bob' is a local password user; a single sign-on login cannot take the account over/);
    const bob = await t.engine.auth.users.get('bob');
    assert.equal(bob.role, 'Viewer');
    assert.equal(bob.authSource, 'password');
    assert.equal(bob.displayName, 'Bob Local');
    const bobToken = await app.request('/auth/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bob', password: 'bobs-own-password' }) });
    assert.equal(bobToken.status, 201, 'the local user still signs in with the password');

    await signIn('oscar');
    const token = await app.request('/auth/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'oscar', password: 'any-password-at-all' }) });
    assert.equal(token.status, 401);
    assert.match(((await token.json()) as { error: { message: string } }).error.message, /invalid username or password/);
  });

  test('a deactivated OIDC user is refused; a provider that cannot be reached is a 502', async () => {
    await signIn('oscar');
    await t.engine.auth.updateUser('oscar', { active: false });
    const refused = await signIn('oscar');
    assert.equal(refused.callback.status, 403);
    assert.equal((await t.engine.auth.users.get('oscar')).active, false, 'a login does not reactivate');
    await t.engine.auth.updateUser('oscar', { active: true });

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadIssuer = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const down = createApiAppFor(withAuth({ oidcIssuerUrl: deadIssuer }));
    const res = await down.request('/auth/oidc/login');
    assert.equal(res.status, 502);
    assert.match(((await res.json()) as { error: { code: string; message: string } }).error.message, new RegExp(`the OIDC provider at ${deadIssuer}/ cannot be reached`));
  });
});

describe('OIDC settings and group mapping', () => {
  const base: OidcOptions = {
    oidcIssuerUrl: 'https://sso.example.com/realms/data',
    oidcClientId: 'capstan',
    oidcClientSecret: '',
    oidcRedirectUrl: 'https://capstan.example.com/auth/oidc/callback',
    oidcScopes: 'openid profile email groups',
    oidcGroupsClaim: 'groups',
    oidcRoleMapping: 'capstan-admins=Admin,data-eng=Op',
    oidcDefaultRole: '',
    oidcUsernameClaim: 'preferred_username',
  };

  const problems = (o: Partial<OidcOptions>): string[] => {
    try {
      parseOidcSettings({ ...base, ...o });
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.issues.map((i) => `${i.key}: ${i.problem}`);
    }
    return [];
  };

  test('off when the issuer is empty; every bad option is named', () => {
    assert.equal(parseOidcSettings({ ...base, oidcIssuerUrl: '' }), undefined);
    assert.deepEqual(problems({}), []);
    assert.match(problems({ oidcIssuerUrl: 'http://sso.example.com' }).join(), /auth\.oidcIssuerUrl: plain http/);
    assert.deepEqual(problems({ oidcIssuerUrl: 'http://127.0.0.1:5556/dex' }), []);
    assert.match(problems({ oidcIssuerUrl: 'sso.example.com' }).join(), /auth\.oidcIssuerUrl: not an http\(s\) URL/);
    assert.match(problems({ oidcClientId: '' }).join(), /auth\.oidcClientId: empty/);
    assert.match(problems({ oidcRedirectUrl: '' }).join(), /auth\.oidcRedirectUrl/);
    assert.match(problems({ oidcRedirectUrl: 'https://capstan.example.com/callback' }).join(), /auth\.oidcRedirectUrl: must end in \/auth\/oidc\/callback/);
    assert.match(problems({ oidcScopes: 'profile email' }).join(), /auth\.oidcScopes: must include openid/);
    assert.match(problems({ oidcRoleMapping: 'capstan-admins=admin' }).join(), /auth\.oidcRoleMapping: .*case-sensitive.*'Admin'/);
    assert.match(problems({ oidcRoleMapping: 'admins' }).join(), /auth\.oidcRoleMapping: 'admins' is not group=role/);
    assert.match(problems({ oidcRoleMapping: 'a=Op,a=Admin' }).join(), /mapped twice/);
    assert.match(problems({ oidcDefaultRole: 'viewer' }).join(), /auth\.oidcDefaultRole: .*'Viewer'/);
    assert.equal(problems({ oidcClientId: '', oidcScopes: 'email' }).length, 2, 'all problems at once');
  });

  test('the highest built-in role wins, a custom role applies only without one, first listed first', () => {
    const mapping = parseRoleMapping('viewers=Viewer, admins=Admin, ops=Op, team-b=team-b, team-a=team-a');
    assert.deepEqual(roleForGroups(['viewers', 'ops'], mapping, undefined), { kind: 'mapped', role: 'Op', group: 'ops' });
    assert.deepEqual(roleForGroups(['ops', 'admins', 'team-a'], mapping, undefined), { kind: 'mapped', role: 'Admin', group: 'admins' });
    assert.deepEqual(roleForGroups(['team-a', 'team-b'], mapping, undefined), { kind: 'mapped', role: 'team-b', group: 'team-b' });
    assert.deepEqual(roleForGroups(['team-a', 'viewers'], mapping, undefined), { kind: 'mapped', role: 'Viewer', group: 'viewers' });
    assert.deepEqual(roleForGroups(['Admins'], mapping, undefined), { kind: 'none' }, 'groups match exactly');
    assert.deepEqual(roleForGroups([], mapping, 'Viewer'), { kind: 'default', role: 'Viewer' });
  });
});
