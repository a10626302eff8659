/**
 * `/auth`: signing in and out, who am I, and one's own personal API tokens. Bodies are checked and answers
 * typed by the schemas in `authSchemas.ts`, which also describe these routes in the OpenAPI document.
 *
 *   POST   /auth/token           {username, password} → 201 {access_token, token_type: "bearer", expires_in}
 *   POST   /auth/login           {username, password} → 200 the user + csrfToken; sets the session cookies
 *   POST   /auth/logout          ends the session or bearer token of this request; clears the cookies
 *   GET    /auth/me              the principal: user, role, permissions, DAG scope
 *   GET    /auth/tokens          own API tokens (never their secrets)
 *   POST   /auth/tokens          {name, role?, expiresInMs?} → 201 with the token text, shown once
 *   DELETE /auth/tokens/:tokenId revoke one of one's own tokens
 */
import { Hono, type Context } from 'hono';
import { deleteCookie } from 'hono/cookie';
import type { z } from '@hono/zod-openapi';
import { LoginRateLimited, type AuthService, ROLE_PERMISSIONS } from '../../auth/index.ts';
import { NotFound } from '../../core/index.ts';
import type { AuditLog, UserInfo } from '../../store/index.ts';
import { errorResponse } from '../errors.ts';
import { tokenView, userView } from '../public/v2/schemas/users.ts';
import { CSRF_COOKIE, SESSION_COOKIE, type ApiEnv } from './authMiddleware.ts';
import { ApiTokenCreateSchema, CredentialsSchema, type AccessTokenSchema, type ApiTokenCreatedSchema, type MeSchema, type OwnApiTokensSchema, type SessionSchema } from './authSchemas.ts';
import { readBody } from './body.ts';
import { clientAddress, setSessionCookies, type CookieSecure } from './sessionCookies.ts';

export interface AuthRoutesDeps {
  auth: AuthService;
  audit: AuditLog;
  cookieSecure: CookieSecure;
}


export function authRoutes(d: AuthRoutesDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.onError((err, c) => {
    const res = errorResponse(c, err);
    if (err instanceof LoginRateLimited) res.headers.set('Retry-After', String(Math.ceil(err.retryAfterMs / 1000)));
    return res;
  });

  const login = async (c: Context<ApiEnv>): Promise<UserInfo> => {
    const body = await readBody(c, CredentialsSchema, 'login');
    const client = clientAddress(c);
    try {
      const user = await d.auth.login(body.username, body.password, client);
      await d.audit.append({ event: 'auth.login', actor: user.username, details: { outcome: 'success', client } });
      return user;
    } catch (err) {
      if (!(err instanceof LoginRateLimited)) await d.audit.append({ event: 'auth.login', actor: body.username.slice(0, 250), details: { outcome: 'failed', client } });
      throw err;
    }
  };

  app.post('/token', async (c) => {
    const user = await login(c);
    const { token, claims } = await d.auth.issueSession(user.username, 'bearer');
    const answer: z.input<typeof AccessTokenSchema> = { access_token: token, token_type: 'bearer', expires_in: Math.max(0, Math.round((claims.expiresAt - Date.now()) / 1000)) };
    return c.json(answer, 201);
  });

  app.post('/login', async (c) => {
    const user = await login(c);
    const { token, claims } = await d.auth.issueSession(user.username, 'session');
    // A session's claims always carry its CSRF secret (sessionTokens.ts); a bearer token's never do.
    if (claims.csrf === undefined) throw new Error('a browser session was issued without its CSRF secret');
    setSessionCookies(c, token, claims, d.cookieSecure);
    const answer: z.input<typeof SessionSchema> = { ...userView(user), csrfToken: claims.csrf, expiresAt: new Date(claims.expiresAt).toISOString() };
    return c.json(answer);
  });

  app.post('/logout', async (c) => {
    const p = c.get('principal');
    if (p.session) await d.auth.logout(p.session);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    deleteCookie(c, CSRF_COOKIE, { path: '/' });
    return c.body(null, 204);
  });

  app.get('/me', async (c) => {
    const p = c.get('principal');
    const user = p.kind === 'anonymous' ? undefined : await d.auth.users.find(p.username);
    const answer: z.input<typeof MeSchema> = {
      username: p.username,
      displayName: user?.displayName ?? p.username,
      email: user?.email ?? null,
      role: p.role,
      roleName: p.roleName,
      authKind: p.kind,
      ...(p.tokenName ? { tokenName: p.tokenName } : {}),
      permissions: [...ROLE_PERMISSIONS[p.role]].sort(),
      dags: p.dags.kind === 'all' ? { all: true } : { all: false, dagIds: [...p.dags.dagIds], tags: [...p.dags.tags] },
    };
    return c.json(answer);
  });

  app.get('/tokens', async (c) => {
    const tokens = await d.auth.apiTokens.list({ username: c.get('principal').username });
    const answer: z.input<typeof OwnApiTokensSchema> = { apiTokens: tokens.map(tokenView), totalEntries: tokens.length };
    return c.json(answer);
  });

  app.post('/tokens', async (c) => {
    const body = await readBody(c, ApiTokenCreateSchema, 'apiToken');
    const { token, info } = await d.auth.createApiToken(c.get('principal'), {
      name: body.name,
      ...(body.role === undefined ? {} : { role: body.role }),
      ...(body.expiresInMs === undefined ? {} : { expiresInMs: body.expiresInMs }),
    });
    c.set('auditTarget', { details: { tokenName: info.name, tokenId: info.tokenId, role: info.role } });
    const answer: z.input<typeof ApiTokenCreatedSchema> = { ...tokenView(info), token };
    return c.json(answer, 201);
  });

  app.delete('/tokens/:tokenId', async (c) => {
    const tokenId = c.req.param('tokenId');
    const p = c.get('principal');
    const row = /^[A-Za-z0-9_-]{1,32}$/.test(tokenId) ? await d.auth.apiTokens.findForAuth(tokenId) : undefined;
    if (!row || row.username !== p.username) throw new NotFound(`you have no API token '${tokenId.slice(0, 40)}'`);
    const info = await d.auth.apiTokens.revoke(tokenId);
    c.set('auditTarget', { details: { tokenName: info.name, tokenId } });
    return c.json(tokenView(info));
  });

  return app;
}
