/**
 * A small typed client of `/api/v2`, its types generated from the OpenAPI document (`schema.d.ts`): the
 * path, method, parameters, body and answer of every call are checked by the compiler. The tests and the
 * remote CLI use it; the web UI uses openapi-fetch over the same generated types.
 *
 * @example
 * const api = apiV2Client({ baseUrl: 'http://127.0.0.1:8080', token });
 * const { data } = await api.call('get', '/dags/{dagId}', { path: { dagId: 'example_bash' } });
 * data?.isPaused; // boolean
 */
import type { paths } from './schema.d.ts';

export type { components, operations, paths } from './schema.d.ts';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
/** The paths that answer `M`. */
export type PathsWith<M extends Method> = { [P in keyof paths]: paths[P][M] extends { parameters: unknown } ? P : never }[keyof paths];
type Op<P extends keyof paths, M extends Method> = paths[P][M];
type Params<O> = O extends { parameters: infer X } ? X : never;
type PathOf<O> = Params<O> extends { path: infer X } ? X : never;
type QueryOf<O> = Params<O> extends { query?: infer X } ? X : never;
type BodyOf<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
type Json<R> = R extends { content: { 'application/json': infer J } } ? J : undefined;
type SuccessOf<O> = O extends { responses: infer R } ? (200 extends keyof R ? Json<R[200]> : 201 extends keyof R ? Json<R[201]> : undefined) : never;
/** The request options of one operation: path parameters, query and body, each when it has them. */
export type CallOptions<O> = ([PathOf<O>] extends [never] ? { path?: undefined } : { path: PathOf<O> }) & { query?: QueryOf<O>; body?: BodyOf<O>; headers?: Record<string, string> };

/** An answer: `data` on success (2xx), `error` (the API's error body) otherwise. */
export interface CallResult<T> {
  status: number;
  data: T | undefined;
  error: { error: { code: string; message: string; hint?: string; field?: string } } | undefined;
  response: Response;
}

export interface ApiV2ClientOptions {
  /** The server's origin (`http://host:port`); `/api/v2` is appended (to all but the `/auth` operations). */
  baseUrl: string;
  token?: string;
  fetch?: typeof fetch;
}

/** A client bound to one server and token (see the module example). */
export function apiV2Client(o: ApiV2ClientOptions) {
  const doFetch = o.fetch ?? fetch;
  return {
    /** The URL a call would use (for SSE and downloads). */
    url<M extends Method, P extends PathsWith<M>>(_method: M, path: P, opts: Omit<CallOptions<Op<P, M>>, 'body'>): string {
      return buildUrl(o.baseUrl, path as string, opts.path as Record<string, string | number> | undefined, opts.query as Record<string, unknown> | undefined);
    },
    async call<M extends Method, P extends PathsWith<M>>(method: M, path: P, opts: CallOptions<Op<P, M>>): Promise<CallResult<SuccessOf<Op<P, M>>>> {
      const url = buildUrl(o.baseUrl, path as string, opts.path as Record<string, string | number> | undefined, opts.query as Record<string, unknown> | undefined);
      const headers: Record<string, string> = { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }), ...opts.headers };
      const response = await doFetch(url, { method: method.toUpperCase(), headers, ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }) });
      const text = response.status === 204 || response.status === 304 ? '' : await response.text();
      const parsed: unknown = text === '' ? undefined : JSON.parse(text);
      return response.ok
        ? { status: response.status, data: parsed as SuccessOf<Op<P, M>>, error: undefined, response }
        : { status: response.status, data: undefined, error: parsed as CallResult<never>['error'], response };
    },
  };
}

export type ApiV2Client = ReturnType<typeof apiV2Client>;

function buildUrl(base: string, template: string, path: Record<string, string | number> | undefined, query: Record<string, unknown> | undefined): string {
  const p = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(path?.[name] ?? '')));
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) qs.append(k, String(item));
  }
  const s = qs.toString();
  // The document's /auth operations are served at the server root (their path item's own `servers`).
  const prefix = p.startsWith('/auth/') ? '' : '/api/v2';
  return `${base.replace(/\/$/, '')}${prefix}${p}${s === '' ? '' : `?${s}`}`;
}
