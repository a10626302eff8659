/**
 * The cookies of a browser session, set the same way by every login route (password and single sign-on), and
 * the request facts they depend on.
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { setCookie } from 'hono/cookie';
import type { SessionClaims } from '../../auth/index.ts';
import { CSRF_COOKIE, SESSION_COOKIE } from './authMiddleware.ts';

export type CookieSecure = 'auto' | 'always' | 'never';

/**
 * Set `capstan_session` (HttpOnly) and `capstan_csrf` (readable by the UI's scripts, which echo it in
 * X-CSRF-Token) for a session token, both SameSite=Strict and as long-lived as the session.
 */
export function setSessionCookies(c: Context, token: string, claims: SessionClaims, cookieSecure: CookieSecure): void {
  const secure = secureCookies(c, cookieSecure);
  const maxAge = Math.max(0, Math.floor((claims.expiresAt - Date.now()) / 1000));
  setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/', secure, maxAge });
  setCookie(c, CSRF_COOKIE, claims.csrf ?? '', { httpOnly: false, sameSite: 'Strict', path: '/', secure, maxAge });
}

/** Whether cookies set on this response get `Secure` under `auth.cookieSecure`. */
export function secureCookies(c: Context, cookieSecure: CookieSecure): boolean {
  return cookieSecure === 'always' || (cookieSecure === 'auto' && isHttps(c));
}

/** The client's address as the socket sees it (behind a proxy: the proxy's). */
export function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';
}
