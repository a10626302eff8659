/**
 * The API's front door: authentication, the permission table, audit of mutating requests, and the `/auth`
 * routes.
 *
 * @example
 * const app = new Hono();
 * mountAuth(app, { db, auth: new AuthService({ db, settings: config.auth, secretKey }), enforce: true, metricsRequireAuth: true, cookieSecure: 'auto' });
 * app.route('/api/v2', v2Api(deps)); // every request now passes the middleware first
 */
import type { Hono } from 'hono';
import type { AuthService, OidcLogin } from '../../auth/index.ts';
import { AuditLog } from '../../store/index.ts';
import type { MetadataDb } from '../../store/index.ts';
import { authMiddleware, type ApiEnv } from './authMiddleware.ts';
import { authRoutes } from './authRoutes.ts';
import { oidcRoutes } from './oidcRoutes.ts';
import { RoutePermissionIndex } from './routePermissions.ts';

export { ANONYMOUS_ADMIN, CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, type ApiEnv, type ApiVariables } from './authMiddleware.ts';
export { ROUTE_PERMISSIONS, RoutePermissionIndex, splitRoute, type RouteAccess } from './routePermissions.ts';

export interface MountAuthDeps {
  db: MetadataDb;
  auth: AuthService;
  /** False when `auth.mode` is `disabled`: every caller acts as Admin. */
  enforce: boolean;
  metricsRequireAuth: boolean;
  cookieSecure: 'auto' | 'always' | 'never';
  /** Single sign-on, when `auth.oidcIssuerUrl` is set (`oidcLoginFor`). */
  oidc?: OidcLogin | undefined;
  now?: () => number;
}

/** Install the auth middleware on `app` (before any route) and mount `/auth` (administration is in `/api/v2`). */
export function mountAuth<E extends ApiEnv>(app: Hono<E>, d: MountAuthDeps): void {
  const audit = new AuditLog(d.db, d.now ? { now: d.now } : {});
  const index = new RoutePermissionIndex();
  app.use('*', authMiddleware({ db: d.db, auth: d.enforce ? d.auth : undefined, index, audit, metricsRequireAuth: d.metricsRequireAuth }));
  app.route('/auth', authRoutes({ auth: d.auth, audit, cookieSecure: d.cookieSecure }));
  app.route('/auth', oidcRoutes({ auth: d.auth, audit, cookieSecure: d.cookieSecure, oidc: d.oidc }));
}
