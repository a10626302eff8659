/**
 * Authentication, authorization and audit for every API route, driven by the permission table:
 *
 * 1. Look the request up in the table. Not there: pass on (the app answers 404/405). Public or task routes:
 *    pass on (the Execution API checks its own task tokens).
 * 2. Authenticate: `Authorization: Bearer <JWT or API token>`, else the browser session cookie — whose unsafe
 *    requests must echo the session's CSRF secret in `X-CSRF-Token`. None: 401 with `WWW-Authenticate`.
 * 3. Authorize: the principal's role must hold the route's permission; for DAG-scoped resources the DAG must
 *    be within the principal's grants (a DAG outside them answers 404, as if it did not exist; a DAG granted
 *    read-only answers 403 to a change).
 * 4. After the handler, record every mutating request in the audit log: actor, event, target, outcome.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { actorName, dagAccess, dagAccessPermits, roleAllows, type Principal } from '../../auth/index.ts';
import type { AuthService } from '../../auth/index.ts';
import { CapstanError } from '../../core/index.ts';
import type { AuditLog, MetadataDb } from '../../store/index.ts';
import { dagAccessFacts } from '../../store/index.ts';
import { errorResponse } from '../errors.ts';
import type { RouteMatch, RoutePermissionIndex } from './routePermissions.ts';

/** Name of the HttpOnly cookie holding a browser session token. */
export const SESSION_COOKIE = 'capstan_session';
/** Name of the script-readable cookie holding the session's CSRF secret. */
export const CSRF_COOKIE = 'capstan_csrf';
/** Header an unsafe request of a browser session must carry, equal to the CSRF cookie. */
export const CSRF_HEADER = 'x-csrf-token';

/** What the middleware leaves on the context for handlers. */
export interface ApiVariables {
  principal: Principal;
  /** Targets a handler learned (e.g. the run id it created), added to the audit entry. */
  auditTarget: { dagId?: string; runId?: string; taskId?: string; details?: Record<string, unknown> };
}
export type ApiEnv = { Variables: ApiVariables };

/** Everyone, as Admin: what every caller is when `auth.mode` is `disabled`. */
export const ANONYMOUS_ADMIN: Principal = { kind: 'anonymous', username: 'anonymous', role: 'Admin', roleName: 'Admin', dags: { kind: 'all' } };

export interface AuthMiddlewareDeps {
  db: MetadataDb;
  /** Absent when `auth.mode` is `disabled`. */
  auth: AuthService | undefined;
  index: RoutePermissionIndex;
  audit: AuditLog;
  /** `/metrics` needs a principal with metrics read (default) or is open. */
  metricsRequireAuth: boolean;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function authMiddleware(d: AuthMiddlewareDeps): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const match = d.index.match(c.req.method, c.req.path);
    if (match === undefined || match.access.kind === 'public' || match.access.kind === 'task') return next();
    if (match.route === 'GET /metrics' && !d.metricsRequireAuth) return next();
    let principal: Principal;
    try {
      principal = await authenticate(c, d);
    } catch (err) {
      const res = errorResponse(c, err);
      if (res.status === 401) res.headers.set('WWW-Authenticate', 'Bearer realm="capstan"');
      return res;
    }
    c.set('principal', principal);
    c.set('auditTarget', {});
    const denied = await authorize(d, principal, match);
    if (denied) {
      await recordAudit(c, d, match, principal, denied.status);
      return errorResponse(c, denied.error);
    }
    await next();
    await recordAudit(c, d, match, principal, c.res.status);
  };
}

async function authenticate(c: Context, d: AuthMiddlewareDeps): Promise<Principal> {
  if (d.auth === undefined) return ANONYMOUS_ADMIN;
  const header = c.req.header('authorization');
  if (header !== undefined) {
    const m = /^Bearer +([\x21-\x7e]{1,4096})$/i.exec(header);
    if (!m?.[1]) throw new CapstanError('unauthorized', 'the Authorization header must be `Bearer <token>`');
    return d.auth.authenticateBearer(m[1]);
  }
  const cookie = getCookie(c, SESSION_COOKIE);
  if (cookie !== undefined && cookie !== '') {
    const session = await d.auth.authenticateSession(cookie);
    if (UNSAFE.has(c.req.method) && !sameSecret(c.req.header(CSRF_HEADER), session.csrf)) {
      throw new CapstanError('forbidden', `a browser session's ${c.req.method} needs the ${CSRF_HEADER} header (the value of the ${CSRF_COOKIE} cookie)`);
    }
    return session.principal;
  }
  throw new CapstanError('unauthorized', 'sign in first', { hint: 'send `Authorization: Bearer <token>` (POST /auth/token or a personal API token), or sign in through the web UI' });
}

function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function authorize(d: AuthMiddlewareDeps, p: Principal, match: RouteMatch): Promise<{ status: number; error: CapstanError } | undefined> {
  const a = match.access;
  if (a.kind !== 'permission') return undefined;
  if (!roleAllows(p.role, a)) {
    return { status: 403, error: new CapstanError('forbidden', `role ${p.roleName} may not ${a.action} ${a.resource.replaceAll('_', ' ')}s`, { hint: 'ask an Admin for a role that may' }) };
  }
  if (a.dagParam === undefined || p.dags.kind === 'all') return undefined;
  const dagId = match.params[a.dagParam] ?? '';
  // `~` (every DAG) on a v2 list route: the handler lists only the DAGs the principal may see.
  if (dagId === '~' && a.action === 'read') return undefined;
  const facts = await dagAccessFacts(d.db, dagId);
  const level = facts === undefined ? 'none' : dagAccess(p.dags, facts);
  // Outside the grants, a DAG does not exist for this principal.
  if (level === 'none') return { status: 404, error: new CapstanError('dag_not_found', `DAG '${dagId}' is not known`) };
  if (!dagAccessPermits(level, a.action)) return { status: 403, error: new CapstanError('forbidden', `role ${p.roleName} may only read DAG '${dagId}'`) };
  return undefined;
}

async function recordAudit(c: Context<ApiEnv>, d: AuthMiddlewareDeps, match: RouteMatch, p: Principal, status: number): Promise<void> {
  if (!UNSAFE.has(c.req.method)) return;
  const a = match.access;
  const event = a.kind === 'permission' || a.kind === 'signedIn' ? a.event : undefined;
  if (event === undefined) return;
  if (a.kind === 'permission' && a.auditedBy === 'service' && status < 300) return;
  const target = c.get('auditTarget') ?? {};
  const outcome = status < 300 ? 'success' : status === 403 ? 'denied' : 'failed';
  await d.audit.append({
    event,
    actor: actorName(p),
    dagId: clip(target.dagId ?? match.params['dagId']),
    runId: clip(target.runId ?? match.params['runId']),
    taskId: clip(target.taskId ?? match.params['taskId']),
    details: { outcome, status, method: c.req.method, path: c.req.path.slice(0, 500), ...(target.details ?? {}) },
  });
}

/** Ids as recorded: a rejected request may carry any length (the columns hold 250). */
function clip(id: string | undefined): string | null {
  return id === undefined ? null : id.slice(0, 250);
}
