/**
 * Input and transport hygiene of the API server, mounted by `createApiApp` in front of every route (and
 * of authentication): which Host and Origin a request may carry, what its body may be, the headers every
 * response gets, and the JSON answers for unknown routes, wrong methods and unexpected errors. The input
 * helpers (`input.ts`) check each route's body, path and query against strict schemas.
 *
 * @example
 * const app = new Hono();
 * mountHttpHygiene(app, httpHygieneOptions(config.api), logger);
 * app.route('/api/v2', v2Api(deps));
 */
import type { Env, Hono } from 'hono';
import { cors } from 'hono/cors';
import type { Logger } from 'pino';
import { bodySizeLimit, jsonBodiesOnly } from './body.ts';
import { installFallbacks } from './fallback.ts';
import { securityHeaders } from './headers.ts';
import { hostAndOriginCheck, parseAllowList, type AllowList } from './hostOrigin.ts';

export { isJsonContentType } from './body.ts';
export { hostAllowed, hostName, parseAllowList, type AllowList } from './hostOrigin.ts';
export { confSchema, DagIdParam, InvalidField, jsonDepth, parseInput, readJsonBody, RunIdParam, TaskIdParam, MAX_PAGE_LIMIT, DEFAULT_PAGE_LIMIT } from './input.ts';

/** Prefix of the Execution API, whose bodies follow its own rules. */
const EXECUTION_PREFIX = '/execution/';

export interface HttpHygieneOptions {
  /** Host names served besides IP addresses (`api.allowedHosts`). */
  allowedHosts: AllowList;
  /** Origins allowed to send unsafe requests besides the server's own (`api.allowedOrigins`). */
  allowedOrigins: AllowList;
  /** Largest request body outside the Execution API (`api.maxBodyBytes`). */
  maxBodyBytes: number;
}

/** The options from the `api` config section. */
export function httpHygieneOptions(api: { allowedHosts: string; allowedOrigins: string; maxBodyBytes: number }): HttpHygieneOptions {
  const origins = parseAllowList(api.allowedOrigins);
  return {
    allowedHosts: parseAllowList(api.allowedHosts),
    // `https://UI.example.com/` and `https://ui.example.com` are the same origin.
    allowedOrigins: origins.kind === 'any' ? origins : { kind: 'list', entries: origins.entries.map((e) => (URL.canParse(e) ? new URL(e).origin : e)) },
    maxBodyBytes: api.maxBodyBytes,
  };
}

/** Install the middleware on `app`, before any route. */
export function mountHttpHygiene<E extends Env>(app: Hono<E>, o: HttpHygieneOptions, logger?: Logger): void {
  installFallbacks(app, logger);
  app.use('*', securityHeaders());
  app.use('*', hostAndOriginCheck(o));
  // A listed origin (a UI served elsewhere) also gets CORS answers, preflights included; others get none.
  if (o.allowedOrigins.kind === 'any' || o.allowedOrigins.entries.length > 0) {
    const list = o.allowedOrigins;
    app.use('*', cors({ origin: (origin) => (list.kind === 'any' || list.entries.includes(origin.toLowerCase()) ? origin : null), allowHeaders: ['Authorization', 'Content-Type', 'X-CSRF-Token'], allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'], maxAge: 600 }));
  }
  const jsonOnly = jsonBodiesOnly();
  const limit = bodySizeLimit(o.maxBodyBytes);
  app.use('*', async (c, next) => (c.req.path.startsWith(EXECUTION_PREFIX) ? next() : jsonOnly(c, next)));
  app.use('*', async (c, next) => (c.req.path.startsWith(EXECUTION_PREFIX) ? next() : limit(c, next)));
}
