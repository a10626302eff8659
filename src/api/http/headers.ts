/**
 * Headers on every response: no MIME sniffing, never framed (X-Frame-Options DENY and CSP
 * `frame-ancestors 'none'`), no Referer leaving the page, nothing loaded by an API document
 * (`default-src 'none'`) unless a route set its own policy (the web UI's document does, `api/ui`), and
 * `Cache-Control: no-store` unless a route set its own (API answers hold state and logs that must not sit
 * in shared caches). HSTS is left to the TLS-terminating proxy: this
 * server usually speaks plain HTTP behind it.
 */
import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';

/** The policy of every API answer: it is data, never a document that loads anything. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

export function securityHeaders(): MiddlewareHandler {
  const secure = secureHeaders({
    xFrameOptions: 'DENY',
    referrerPolicy: 'no-referrer',
    strictTransportSecurity: false,
  });
  return async (c, next) => {
    await secure(c, next);
    if (!c.res.headers.has('content-security-policy')) c.res.headers.set('content-security-policy', API_CSP);
    if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
  };
}
