/**
 * Single sign-on routes (all public: they are how one signs in; described in the OpenAPI document by `authSchemas.ts`):
 *
 *   GET /auth/providers          → {password: true, oidc: {enabled, loginUrl}}: what a login page may offer
 *   GET /auth/oidc/login?next=/p → 302 to the provider; the sealed transaction goes into a SameSite=Lax cookie
 *   GET /auth/oidc/callback      → the provider's redirect back: checks and signs in, sets the session cookies
 *                                   as POST /auth/login does, 302 to `next`
 *
 * The transaction cookie is SameSite=Lax, not Strict, because the provider's redirect back is a cross-site
 * navigation; it is scoped to /auth/oidc and dies after OIDC_TRANSACTION_TTL_MS or at the first callback.
 */
import type { z } from '@hono/zod-openapi';
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { OIDC_TRANSACTION_TTL_MS, type OidcLogin } from '../../auth/index.ts';
import type { AuthService } from '../../auth/index.ts';
import { CapstanError, InvalidArgument } from '../../core/index.ts';
import type { AuditLog } from '../../store/index.ts';
import { errorResponse } from '../errors.ts';
import type { ApiEnv } from './authMiddleware.ts';
import type { AuthProvidersSchema } from './authSchemas.ts';
import { clientAddress, secureCookies, setSessionCookies, type CookieSecure } from './sessionCookies.ts';

/** The HttpOnly cookie holding an OIDC login in progress. */
export const OIDC_TRANSACTION_COOKIE = 'capstan_oidc';
const COOKIE_PATH = '/auth/oidc';
export const OIDC_LOGIN_PATH = '/auth/oidc/login';

export interface OidcRoutesDeps {
  auth: AuthService;
  audit: AuditLog;
  cookieSecure: CookieSecure;
  /** Undefined when `auth.oidcIssuerUrl` is empty. */
  oidc: OidcLogin | undefined;
}

/**
 * `next` if it is a path on this server, else undefined: no scheme, no host, no `//` or `/\` (which browsers
 * read as another host), no control characters.
 *
 * @example
 * safeNextPath('/dags?tag=a'); // '/dags?tag=a'
 * safeNextPath('//evil.example'); // undefined
 */
export function safeNextPath(next: string): string | undefined {
  if (next.length > 2000 || !next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return undefined;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\s]/.test(next)) return undefined;
  const base = 'http://capstan.invalid';
  const resolved = new URL(next, base);
  return resolved.origin === base ? `${resolved.pathname}${resolved.search}${resolved.hash}` : undefined;
}

export function oidcRoutes(d: OidcRoutesDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.onError((err, c) => errorPage(c, err));

  app.get('/providers', (c) => {
    const answer: z.input<typeof AuthProvidersSchema> = { password: true, oidc: d.oidc ? { enabled: true, loginUrl: OIDC_LOGIN_PATH } : { enabled: false, loginUrl: null } };
    return c.json(answer);
  });

  const sso = (): OidcLogin => {
    if (d.oidc) return d.oidc;
    throw new CapstanError('not_found', 'single sign-on is not configured on this server', { hint: 'sign in with POST /auth/login, or ask an operator to set auth.oidcIssuerUrl' });
  };

  app.get('/oidc/login', async (c) => {
    const login = sso();
    const given = c.req.query('next') ?? '/';
    const next = safeNextPath(given);
    if (next === undefined) throw new InvalidArgument(`next: ${JSON.stringify(given.slice(0, 200))} is not a path on this server`, 'give a path such as /dags; other hosts are refused');
    const { url, transaction } = await login.begin(next);
    setCookie(c, OIDC_TRANSACTION_COOKIE, transaction, { httpOnly: true, sameSite: 'Lax', path: COOKIE_PATH, secure: secureCookies(c, d.cookieSecure), maxAge: OIDC_TRANSACTION_TTL_MS / 1000 });
    return c.redirect(url.href, 302);
  });

  app.get('/oidc/callback', async (c) => {
    const login = sso();
    const client = clientAddress(c);
    const sealed = getCookie(c, OIDC_TRANSACTION_COOKIE);
    // One use only, whatever happens next.
    deleteCookie(c, OIDC_TRANSACTION_COOKIE, { path: COOKIE_PATH });
    let result;
    try {
      result = await login.complete(new URL(c.req.url).searchParams, sealed);
    } catch (err) {
      if (err instanceof CapstanError) {
        await d.audit.append({ event: 'auth.login', actor: 'oidc', details: { outcome: 'failed', method: 'oidc', client, code: err.code, reason: err.message.slice(0, 500) } });
      }
      throw err;
    }
    const { user, next, roleFrom } = result;
    await d.audit.append({ event: 'auth.login', actor: user.username, details: { outcome: 'success', method: 'oidc', client, role: user.role, roleFrom } });
    const { token, claims } = await d.auth.issueSession(user.username, 'session');
    setSessionCookies(c, token, claims, d.cookieSecure);
    return c.redirect(safeNextPath(next) ?? '/', 302);
  });

  return app;
}

/** Errors as JSON, or as a small HTML page for a browser navigating here (the callback is one). */
function errorPage(c: Context, err: unknown): Response {
  const res = errorResponse(c, err);
  if (!(c.req.header('accept') ?? '').includes('text/html') || !(err instanceof CapstanError)) return res;
  const d = err.toDiagnostic();
  const html = `<!doctype html><meta charset="utf-8"><title>Sign-in failed</title><h1>Sign-in failed</h1><p>${escapeHtml(d.message)}</p>${d.hint ? `<p>${escapeHtml(d.hint)}</p>` : ''}<p><a href="${OIDC_LOGIN_PATH}">Try again</a></p>`;
  return c.html(html, res.status as 400);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
