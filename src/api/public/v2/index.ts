/**
 * The public REST API v2 (`/api/v2`): the registry of every operation, the app that serves them, the
 * OpenAPI document (`GET /api/v2/openapi.json`) and its reference page (`GET /api/v2/docs`).
 *
 * Adding a resource: write `routes/<resource>.ts` exporting an array of {@link defineRoute} values and
 * spread it into {@link V2_ROUTES}; its permissions enter the permission table from there, its schemas
 * the OpenAPI document. See docs/api/README.md.
 *
 * @example
 * app.route('/api/v2', v2Api({ db, now, limits }));
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { ApiEnv } from '../../auth/authMiddleware.ts';
import type { RouteAccess } from '../../auth/routePermissions.ts';
import { errorResponse } from '../../errors.ts';
import { SIGNED_IN } from './access.ts';
import type { V2Deps } from './deps.ts';
import { openApiDocument, type OpenApiDocument } from './document.ts';
import { referencePage } from './reference.ts';
import { registerRoutes, type AnyRoute } from './route.ts';
import { ChangeSignal } from './sse.ts';
import { dagRoutes } from './routes/dags.ts';
import { adminRoutes } from './routes/admin/index.ts';
import { dagWarningRoutes } from './routes/dagWarnings.ts';
import { dagDetailRoutes } from './routes/dagDetails.ts';
import { dagRunRoutes } from './routes/dagRuns.ts';
import { taskInstanceRoutes } from './routes/taskInstances.ts';
import { tryRoutes } from './routes/tries.ts';
import { tryPodRoutes } from './routes/tryPods.ts';
import { logRoutes } from './routes/logs.ts';
import { eventRoutes } from './routes/events.ts';
import { viewRoutes } from './routes/views.ts';

export { defineRoute, type AnyRoute } from './route.ts';
export type { V2Deps, V2Limits } from './deps.ts';

/** Every v2 operation, in the order the reference page lists them. */
export const V2_ROUTES: readonly AnyRoute[] = [...dagRoutes, ...dagDetailRoutes, ...dagRunRoutes, ...taskInstanceRoutes, ...tryRoutes, ...tryPodRoutes, ...logRoutes, ...eventRoutes, ...viewRoutes, ...dagWarningRoutes, ...adminRoutes];

/** Mount prefix of the v2 API. */
export const V2_PREFIX = '/api/v2';

/** The routes the v2 app serves besides {@link V2_ROUTES}: its own description. */
const META_ROUTES = { 'GET /openapi.json': SIGNED_IN, 'GET /docs': SIGNED_IN } as const satisfies Record<string, RouteAccess>;

/** Permission-table entries of every v2 route (full paths), derived from the route definitions. */
export function v2RoutePermissions(): Record<string, RouteAccess> {
  const out: Record<string, RouteAccess> = {};
  for (const [route, access] of Object.entries(META_ROUTES)) {
    const [method, path] = route.split(' ') as [string, string];
    out[`${method} ${V2_PREFIX}${path}`] = access;
  }
  for (const r of V2_ROUTES) {
    const key = `${r.method.toUpperCase()} ${V2_PREFIX}${r.honoPath}`;
    if (key in out) throw new Error(`two v2 routes answer ${key}`);
    out[key] = r.access;
  }
  return out;
}

let cachedDocument: OpenApiDocument | undefined;

/** The OpenAPI 3.1 document of {@link V2_ROUTES} (built once). */
export function v2OpenApiDocument(): OpenApiDocument {
  cachedDocument ??= openApiDocument(V2_ROUTES);
  return cachedDocument;
}

/** The v2 app, to mount at {@link V2_PREFIX}. */
export function v2Api(deps: V2Deps): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  // An unexpected error is logged by the app's fallback (it reads c.error) and answered as a bare 500.
  app.onError((err, c) => errorResponse(c, err));
  registerRoutes(app, V2_ROUTES, { ...deps, changes: deps.changes ?? new ChangeSignal() });
  app.get('/openapi.json', (c) => c.json(v2OpenApiDocument()));
  app.get('/docs', (c) => referencePage(c, v2OpenApiDocument()));
  return app;
}
