/**
 * Where a request may come from.
 *
 * - **Host** (against DNS rebinding): the `Host` header's name must be an IP address (a page cannot rebind
 *   a name it does not own onto an address literal), or in `api.allowedHosts`: exact names, `*.suffix` for
 *   a domain and its subdomains, or `*` for any (when an Ingress checks the name itself). Otherwise 421
 *   `host_not_allowed`. `/health` is exempt: kubelet probes send the pod IP, load balancers anything.
 * - **Origin** (against cross-site request forgery): an unsafe request (POST, PUT, PATCH, DELETE) that a
 *   browser marks as coming from another site — an `Origin` header other than the server's own, or
 *   `Sec-Fetch-Site: cross-site` — is refused with 403, unless `api.allowedOrigins` lists that origin (or is
 *   `*`). Same origin means the Origin's host and port equal the Host header. Programs (the CLI, curl, task
 *   processes) send no Origin and pass.
 */
import { isIP } from 'node:net';
import type { MiddlewareHandler } from 'hono';
import { CapstanError } from '../../core/index.ts';
import { errorResponse } from '../errors.ts';

/** A parsed `api.allowedHosts` / `api.allowedOrigins` value: every value, or this list. */
export type AllowList = { kind: 'any' } | { kind: 'list'; entries: readonly string[] };

/** `'*'` → any; otherwise the comma-separated, trimmed, lower-cased entries. */
export function parseAllowList(text: string): AllowList {
  const entries = text
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '');
  return entries.includes('*') ? { kind: 'any' } : { kind: 'list', entries };
}

/** The host name of a `Host` header value (`[::1]:8080` → `::1`, `Example.com:80` → `example.com`), or undefined if malformed. */
export function hostName(header: string): string | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9._-]+))(?::(\d{1,5}))?$/.exec(header.trim());
  if (!m) return undefined;
  return (m[1] ?? m[2] ?? '').toLowerCase().replace(/\.$/, '');
}

/** True when `host` (a name from {@link hostName}) may be served. */
export function hostAllowed(host: string, allowed: AllowList): boolean {
  if (isIP(host) !== 0 || allowed.kind === 'any') return true;
  return allowed.entries.some((e) => (e.startsWith('*.') ? host === e.slice(2) || host.endsWith(e.slice(1)) : e.replace(/^\[|\]$/g, '') === host));
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface HostOriginOptions {
  allowedHosts: AllowList;
  allowedOrigins: AllowList;
}

/** Refuse requests for a foreign Host (421) and cross-site unsafe requests (403). */
export function hostAndOriginCheck(o: HostOriginOptions): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.path === '/health') return next();
    const hostHeader = c.req.header('host') ?? new URL(c.req.url).host;
    const host = hostName(hostHeader);
    if (host === undefined || !hostAllowed(host, o.allowedHosts)) {
      return errorResponse(c, new CapstanError('host_not_allowed', 'this server does not answer for the host name the request was sent to', { hint: 'add the name to api.allowedHosts (CAPSTAN__API__ALLOWED_HOSTS)' }));
    }
    if (UNSAFE.has(c.req.method) && crossSite(c.req.header('origin'), c.req.header('sec-fetch-site'), hostHeader, o.allowedOrigins)) {
      return errorResponse(c, new CapstanError('forbidden', `a cross-site ${c.req.method} is refused`, { hint: 'send the request from the server’s own origin, or list the calling origin in api.allowedOrigins' }));
    }
    return next();
  };
}

function crossSite(origin: string | undefined, fetchSite: string | undefined, hostHeader: string, allowed: AllowList): boolean {
  if (origin === undefined) return fetchSite === 'cross-site';
  const normalized = origin.trim().toLowerCase();
  if (allowed.kind === 'any' || allowed.entries.includes(normalized)) return false;
  if (!URL.canParse(normalized)) return true; // `null` (sandboxed frames, file://) and junk
  const url = new URL(normalized);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return true;
  return url.host !== sameOriginHost(hostHeader, url.protocol);
}

/** The Host header as a URL would spell it for `protocol` (default ports dropped). */
function sameOriginHost(hostHeader: string, protocol: string): string {
  try {
    return new URL(`${protocol}//${hostHeader.trim().toLowerCase()}`).host;
  } catch {
    return '';
  }
}
