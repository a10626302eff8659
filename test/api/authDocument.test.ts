/**
 * `/auth` in the OpenAPI document: every /auth route of the permission table is an operation there (and no
 * other), at the server root, `security: []` exactly on the public ones; and over a real engine, through the
 * generated client, each answer is exactly what its schema says (no field missing, none undocumented).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { z } from '@hono/zod-openapi';
import { ROUTE_PERMISSIONS, splitRoute } from '../../src/api/auth/index.ts';
import { AccessTokenSchema, ApiTokenCreatedSchema, AuthProvidersSchema, MeSchema, OwnApiTokensSchema, SessionSchema } from '../../src/api/auth/authSchemas.ts';
import { apiV2Client } from '../../src/api/public/v2/client/index.ts';
import { v2OpenApiDocument } from '../../src/api/public/v2/index.ts';
import { ApiTokenSchema } from '../../src/api/public/v2/schemas/users.ts';
import { startTestEngine, TEST_ADMIN_PASSWORD, type TestEngine } from '../support/engine.ts';

/** `value` parsed by `schema` with no unknown field at the top level. */
function exactly(schema: z.ZodObject, value: unknown, what: string): void {
  const parsed = schema.strict().safeParse(value);
  assert.ok(parsed.success, `${what}: ${parsed.error?.message ?? ''} in ${JSON.stringify(value)}`);
}

describe('/auth in the OpenAPI document', () => {
  test('every /auth route of the permission table is described, at the server root, public exactly where the table says', () => {
    const doc = v2OpenApiDocument();
    const table = Object.entries(ROUTE_PERMISSIONS).filter(([route]) => splitRoute(route)[1].startsWith('/auth/'));
    assert.ok(table.length >= 9);
    const described = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths ?? {})) {
      if (!path.startsWith('/auth/')) continue;
      assert.deepEqual(item.servers?.map((s) => s.url), ['/'], `${path} is served at the root`);
      for (const method of ['get', 'post', 'delete'] as const) if (item[method]) described.add(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`);
    }
    assert.deepEqual([...described].sort(), table.map(([route]) => route).sort(), 'the described /auth operations are the routed ones');
    for (const [route, access] of table) {
      const [method, path] = splitRoute(route);
      const op = doc.paths?.[path.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase() as 'get'];
      assert.equal(op?.security?.length === 0, access.kind === 'public', `${route}: security [] iff public`);
    }
  });

  describe('answers match the schemas', () => {
    let t: TestEngine;
    before(async () => {
      t = await startTestEngine({ triggerer: false });
    });
    after(async () => {
      await t.stop();
    });

    test('token, me, own tokens, providers, login and logout through the generated client', async () => {
      const anonymous = apiV2Client({ baseUrl: t.api.url });
      const wrong = await anonymous.call('post', '/auth/token', { body: { username: 'admin', password: 'not-the-password' } });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.error?.error.code, 'unauthorized');
      const signedIn = await anonymous.call('post', '/auth/token', { body: { username: 'admin', password: TEST_ADMIN_PASSWORD } });
      assert.equal(signedIn.status, 201, JSON.stringify(signedIn.error));
      exactly(AccessTokenSchema, signedIn.data, 'POST /auth/token');
      const api = apiV2Client({ baseUrl: t.api.url, token: signedIn.data?.access_token ?? '' });

      const me = await api.call('get', '/auth/me', {});
      exactly(MeSchema, me.data, 'GET /auth/me');
      assert.deepEqual([me.data?.username, me.data?.role, me.data?.authKind, me.data?.dags], ['admin', 'Admin', 'user', { all: true }]);

      const created = await api.call('post', '/auth/tokens', { body: { name: 'doc-check', role: 'Viewer' } });
      assert.equal(created.status, 201, JSON.stringify(created.error));
      exactly(ApiTokenCreatedSchema, created.data, 'POST /auth/tokens');
      const listed = await api.call('get', '/auth/tokens', {});
      exactly(OwnApiTokensSchema, listed.data, 'GET /auth/tokens');
      for (const token of listed.data?.apiTokens ?? []) exactly(ApiTokenSchema, token, 'an own API token');
      const revoked = await api.call('delete', '/auth/tokens/{tokenId}', { path: { tokenId: created.data?.tokenId ?? '' } });
      exactly(ApiTokenSchema, revoked.data, 'DELETE /auth/tokens/{tokenId}');
      assert.ok(revoked.data?.revokedAt);

      const providers = await anonymous.call('get', '/auth/providers', {});
      exactly(AuthProvidersSchema, providers.data, 'GET /auth/providers');
      assert.deepEqual(providers.data, { password: true, oidc: { enabled: false, loginUrl: null } });

      const session = await anonymous.call('post', '/auth/login', { body: { username: 'admin', password: TEST_ADMIN_PASSWORD } });
      assert.equal(session.status, 200, JSON.stringify(session.error));
      exactly(SessionSchema, session.data, 'POST /auth/login');
      assert.ok(session.response.headers.getSetCookie().some((c) => c.startsWith('capstan_session=')));
      const out = await api.call('post', '/auth/logout', {});
      assert.equal(out.status, 204);
      assert.equal((await api.call('get', '/auth/me', {})).status, 401, 'the bearer token ended with its logout');
    });
  });
});
