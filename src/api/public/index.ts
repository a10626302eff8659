/**
 * The public REST API: `/api/v2` (v2/: every operation, its OpenAPI document and reference page, and the typed
 * client in v2/client/) and the removed `/api/v1`, which answers 410 Gone with the v2 successor. The folder is
 * named for its audience; the URL paths carry the version.
 *
 * @example
 * ```ts
 * app.route(V2_PREFIX, v2Api(deps));
 * app.route(V1_PREFIX, v1RemovedApi());
 * ```
 */
export { defineRoute, V2_PREFIX, V2_ROUTES, v2Api, v2OpenApiDocument, v2RoutePermissions } from './v2/index.ts';
export type { AnyRoute, V2Deps, V2Limits } from './v2/index.ts';
export { V1_PREFIX, v1RemovedApi, v1RemovedRoutePermissions, v2Successor } from './v1Removed.ts';
