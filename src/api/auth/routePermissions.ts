/**
 * The permission table: every route of the API server, by method and path pattern, and what it takes to call
 * it. The auth middleware looks each request up here, so a route missing from the table is refused (and a
 * test fails when the app has a route the table lacks). Keep it sorted by prefix.
 */
import { TrieRouter } from 'hono/router/trie-router';
import type { Action, Resource } from '../../auth/index.ts';
import { v1RemovedRoutePermissions } from '../public/v1Removed.ts';
import { v2RoutePermissions } from '../public/v2/index.ts';

/** What a route requires. */
export type RouteAccess =
  /** Anyone: the liveness probe, the login routes (password and single sign-on), the web UI's files and the 410s of the removed `/api/v1`. */
  | { kind: 'public' }
  /** A task-try token, checked by the Execution API itself. */
  | { kind: 'task' }
  /** Any signed-in principal (who am I, logout, own tokens). */
  | { kind: 'signedIn'; event?: string }
  /**
   * A permission; `dagParam` names the path parameter holding the DAG id for DAG-scoped resources. `event` is
   * the audit event of a mutating route; with `auditedBy: 'service'` the engine service records successes
   * itself (with what it changed) and the middleware records only refusals and failures.
   */
  | { kind: 'permission'; resource: Resource; action: Action; dagParam?: 'dagId'; event?: string; auditedBy?: 'service' };

const PUBLIC: RouteAccess = { kind: 'public' };
const TASK: RouteAccess = { kind: 'task' };
const can = (resource: Resource, action: Action, event?: string): RouteAccess => ({ kind: 'permission', resource, action, ...(event ? { event } : {}) });

/** `METHOD /path/:param` → access. Paths are the full paths the server answers. */
export const ROUTE_PERMISSIONS: Readonly<Record<string, RouteAccess>> = {
  'GET /health': PUBLIC,
  // The web UI's files (api/ui): the login page must load signed out; its data comes from the API.
  'GET /': PUBLIC,
  'GET /login': PUBLIC,
  'GET /account': PUBLIC,
  'GET /dags/*': PUBLIC,
  'GET /runs': PUBLIC,
  'GET /task-instances': PUBLIC,
  'GET /browse/*': PUBLIC,
  'GET /admin/*': PUBLIC,
  'GET /assets/:file': PUBLIC,
  'GET /metrics': can('metrics', 'read'),

  'POST /auth/token': PUBLIC,
  'POST /auth/login': PUBLIC,
  'GET /auth/providers': PUBLIC,
  'GET /auth/oidc/login': PUBLIC,
  'GET /auth/oidc/callback': PUBLIC,
  'POST /auth/logout': { kind: 'signedIn', event: 'auth.logout' },
  'GET /auth/me': { kind: 'signedIn' },
  'GET /auth/tokens': can('api_token', 'read'),
  'POST /auth/tokens': can('api_token', 'create', 'api_token.create'),
  'DELETE /auth/tokens/:tokenId': can('api_token', 'delete', 'api_token.revoke'),

  // /api/v1 was removed: every method answers 410 Gone with its v2 successor, signed in or not.
  ...v1RemovedRoutePermissions(),

  // Every /api/v2 route, from the permission each route declares beside its definition (src/api/public/v2/routes).
  ...v2RoutePermissions(),

  'POST /execution/v1/task-instances/:id/start': TASK,
  'POST /execution/v1/task-instances/:id/heartbeat': TASK,
  'POST /execution/v1/task-instances/:id/finish': TASK,
  'PUT /execution/v1/task-instances/:id/xcom/:key': TASK,
  'PUT /execution/v1/task-instances/:id/rendered-fields': TASK,
  'GET /execution/v1/task-instances/:id/xcom/:taskId/:key': TASK,
  'GET /execution/v1/task-instances/:id/logs/size': TASK,
  'PUT /execution/v1/task-instances/:id/logs': TASK,
  'GET /execution/v1/variables/:key': TASK,
  'GET /execution/v1/connections/:connId': TASK,
};

/** A matched table entry with the route's path parameters. */
export interface RouteMatch {
  route: string;
  access: RouteAccess;
  params: Record<string, string>;
}

/** Looks requests up in a permission table; built once per app. */
export class RoutePermissionIndex {
  readonly #router = new TrieRouter<{ route: string; access: RouteAccess }>();
  readonly #paths = new TrieRouter<true>();

  constructor(table: Readonly<Record<string, RouteAccess>> = ROUTE_PERMISSIONS) {
    for (const [route, access] of Object.entries(table)) {
      const [method, path] = splitRoute(route);
      this.#router.add(method, path, { route, access });
      this.#paths.add('ALL', path, true);
    }
  }

  /** The entry for this method and path, or undefined (no such route, or not with this method). */
  match(method: string, path: string): RouteMatch | undefined {
    // HEAD is answered by the GET route.
    const m = method === 'HEAD' ? 'GET' : method;
    const [found] = this.#router.match(m, path)[0] as Array<[{ route: string; access: RouteAccess }, Record<string, string>]>;
    if (!found) return undefined;
    return { route: found[0].route, access: found[0].access, params: found[1] };
  }

  /** True when some method is routed at this path (so a wrong method is a 405, not a 404). */
  knowsPath(path: string): boolean {
    return (this.#paths.match('GET', path)[0] as unknown[]).length > 0;
  }
}

export function splitRoute(route: string): [string, string] {
  const space = route.indexOf(' ');
  return [route.slice(0, space), route.slice(space + 1)];
}
