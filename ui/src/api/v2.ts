/**
 * The typed client of `/api/v2` (openapi-fetch over the types generated from the server's OpenAPI document,
 * `schema.d.ts`): same origin, the session cookie, and the CSRF header on unsafe requests. {@link data}
 * turns an answer into its body or throws the server's error as {@link ApiError}.
 *
 * @example
 * const dags = await data(api.GET('/dags', { params: { query: { limit: 25 } } }));
 */
import createClient from 'openapi-fetch';
import { ApiError, withCsrf } from './http.ts';
import type { components, paths } from './schema.d.ts';

export type Schemas = components['schemas'];

export const api = createClient<paths>({ baseUrl: '/api/v2', credentials: 'same-origin' });
api.use({
  onRequest({ request }) {
    withCsrf(request.method, request.headers);
    return request;
  },
});

/** The body of a successful answer; anything else throws {@link ApiError} with the server's code and field. */
export async function data<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const r = await call;
  if (!r.response.ok) throw new ApiError(r.response.status, r.error);
  // A 204 has no body: the caller's T is then undefined.
  return r.data as T;
}
