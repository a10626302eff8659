/**
 * The answers no route gives: JSON 404 for a path no route has (a browser's page navigation outside the API
 * gets the web UI's own "page not found" instead, when a UI is mounted), 405 with `Allow` for a known path asked
 * with another method, and the logging of unexpected errors — their 500 says only `internal error`
 * (`errors.ts`), the cause goes to the server log with the route, never to the client.
 */
import type { Context, Env, Hono, MiddlewareHandler } from 'hono';
import { TrieRouter } from 'hono/router/trie-router';
import type { Logger } from 'pino';
import { CapstanError } from '../../core/index.ts';
import { errorResponse } from '../errors.ts';

/** Methods routed per path pattern, built from `app.routes` once every route is registered. */
class RouteMethods {
  readonly #router = new TrieRouter<string>();
  constructor(routes: ReadonlyArray<{ method: string; path: string }>) {
    for (const r of routes) if (r.method !== 'ALL') this.#router.add('ALL', r.path, r.method);
  }
  /** Methods some route answers at `path` (HEAD with GET), sorted. */
  allowed(path: string): string[] {
    const found = new Set((this.#router.match('GET', path)[0] as Array<[string, unknown]>).map(([m]) => m));
    if (found.has('GET')) found.add('HEAD');
    return [...found].sort();
  }
}

/** The web UI's document answered (with 404) to a browser navigating to a path no route has; set by the UI's mount. */
type BrowserNotFoundPage = (c: Context) => Promise<Response | undefined>;
const browserPages = new WeakMap<object, BrowserNotFoundPage>();

/** Paths that are never UI pages: their unknown sub-paths stay JSON 404s for any client. */
const NOT_UI = /^\/(api|auth|execution|health|metrics|assets)(\/|$)/;

/** Let `app` answer a browser's navigation to an unknown page with `page` (the UI shows its own "not found"). */
export function answerUnknownPagesWith<E extends Env>(app: Hono<E>, page: BrowserNotFoundPage): void {
  browserPages.set(app, page);
}

/** A GET from a browser asking for a document (not a fetch of data) outside the API's prefixes. */
function isPageNavigation(c: Context): boolean {
  return c.req.method === 'GET' && (c.req.header('accept') ?? '').includes('text/html') && !NOT_UI.test(c.req.path);
}

/**
 * Install the JSON 404/405, the 500 of the last resort and the logging of unexpected errors on `app`. Call it
 * before mounting routes (the logging is a middleware); the 405's table is read from `app.routes` on first use.
 */
export function installFallbacks<E extends Env>(app: Hono<E>, logger: Logger | undefined): void {
  let methods: RouteMethods | undefined;
  app.notFound(async (c) => {
    const page = browserPages.get(app);
    if (page !== undefined && isPageNavigation(c)) {
      const html = await page(c);
      if (html !== undefined) return html;
    }
    methods ??= new RouteMethods(app.routes);
    const allowed = methods.allowed(c.req.path);
    if (allowed.length > 0) {
      const res = errorResponse(c, new CapstanError('method_not_allowed', `${c.req.method.slice(0, 20)} is not allowed here`, { hint: `allowed: ${allowed.join(', ')}` }));
      res.headers.set('allow', allowed.join(', '));
      return res;
    }
    return errorResponse(c, new CapstanError('not_found', 'no such route', { hint: 'the REST API is under /api/v2 (its reference: /api/v2/docs)' }));
  });
  app.onError((err, c) => errorResponse(c, err));
  app.use('*', logInternalErrors(logger));
}

/** After the response: a 5xx whose cause Hono kept in `c.error` is logged with the route (not the raw path). */
function logInternalErrors(logger: Logger | undefined): MiddlewareHandler {
  return async (c: Context, next) => {
    await next();
    if (c.res.status >= 500 && c.error !== undefined) {
      const err = c.error;
      logger?.error({ err, method: c.req.method, route: c.req.routePath, status: c.res.status }, 'API request failed with an unexpected error');
    }
  };
}
