/**
 * `/api/v1` was removed (`/api/v2` replaced it): every request under it answers 410 Gone with the API's one
 * error shape (`gone`), a `Link` to the v2 reference page and, for a path v1 used to serve, to its v2
 * successor — so an old script learns where to go instead of meeting a bare 404. The routes are public: the
 * answer reveals nothing and needs no sign-in, so a script with an expired token gets the same clear message.
 *
 * @example
 * app.route(V1_PREFIX, v1RemovedApi());
 * // GET /api/v1/dags → 410 { error: { code: 'gone', message: '/api/v1 was removed; GET /api/v1/dags is now GET /api/v2/dags', … } }
 * // Link: </api/v2/dags>; rel="successor-version", </api/v2/docs>; rel="help"
 */
import { Hono } from 'hono';
import { CapstanError } from '../../core/index.ts';
import type { RouteAccess } from '../auth/routePermissions.ts';
import { errorResponse } from '../errors.ts';

/** Where the removed API was mounted. */
export const V1_PREFIX = '/api/v1';

/** The methods v1 answered; each answers 410 now. */
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** Permission-table entries of the 410 routes (public). */
export function v1RemovedRoutePermissions(): Record<string, RouteAccess> {
  return Object.fromEntries(METHODS.map((m) => [`${m} ${V1_PREFIX}/*`, { kind: 'public' } satisfies RouteAccess]));
}

/** A path segment safe to echo in a `Link` header (ids as clients percent-encode them). */
const SEG = '[A-Za-z0-9._~%:+@=-]+';
const BACKFILLS = new RegExp(`^/dags/(${SEG})/backfills(/\\d+)?$`);
/** v1's other paths, which v2 answers at the same path. */
const SAME_PATH = [
  new RegExp(`^/dags(/${SEG}(/dagRuns(/${SEG}(/taskInstances(/${SEG}(/logs/\\d+)?)?)?)?|/clearTaskInstances)?)?$`),
  new RegExp(`^/(users|roles|apiTokens)(/${SEG})?$`),
];

/**
 * The v2 path answering what `method v1Path` answered, or undefined when v1 had no such path. v2 keeps
 * v1's paths but two: a DAG's backfills moved to `/backfills` (the DAG in `?dagId=` or the body), the
 * audit log to `/eventLogs`.
 */
export function v2Successor(method: string, v1Path: string): string | undefined {
  const rest = v1Path.slice(V1_PREFIX.length);
  const backfills = BACKFILLS.exec(rest);
  if (backfills) return backfills[2] ? `/api/v2/backfills${backfills[2]}` : method === 'GET' ? `/api/v2/backfills?dagId=${backfills[1] ?? ''}` : '/api/v2/backfills';
  if (rest === '/auditLog') return '/api/v2/eventLogs';
  if (SAME_PATH.some((p) => p.test(rest))) return `/api/v2${rest}`;
  return undefined;
}

/** The 410 app, to mount at {@link V1_PREFIX}. */
export function v1RemovedApi(): Hono {
  const app = new Hono();
  app.on([...METHODS], '/*', (c) => {
    const successor = v2Successor(c.req.method, c.req.path);
    const asked = `${c.req.method} ${c.req.path.slice(0, 200)}`;
    const res = errorResponse(
      c,
      new CapstanError('gone', successor ? `/api/v1 was removed; ${asked} is now ${c.req.method} ${successor}` : `/api/v1 was removed; use /api/v2`, {
        hint: 'the v2 reference is at /api/v2/docs (its OpenAPI document: /api/v2/openapi.json); docs/api/README.md maps every v1 route to its v2 successor',
      }),
    );
    res.headers.set('link', [...(successor ? [`<${successor}>; rel="successor-version"`] : []), '</api/v2/docs>; rel="help"'].join(', '));
    return res;
  });
  return app;
}
