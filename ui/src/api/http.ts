/**
 * How the UI talks to its server: same origin, the session cookie, and the CSRF secret echoed in
 * `X-CSRF-Token` on every unsafe request (the server refuses a cookie-authenticated POST/PUT/PATCH/DELETE
 * without it). Errors arrive as `{ error: { code, message, hint?, field? } }` and become {@link ApiError}.
 */

/** Header the server wants on a session's unsafe requests. */
export const CSRF_HEADER = 'X-CSRF-Token';
const CSRF_COOKIE = 'capstan_csrf';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The session's CSRF secret from its script-readable cookie, or undefined when signed out. */
export function csrfToken(): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

/** Add the CSRF header to `headers` when `method` is unsafe and a session exists. */
export function withCsrf(method: string, headers: Headers): Headers {
  const token = csrfToken();
  if (UNSAFE.has(method.toUpperCase()) && token) headers.set(CSRF_HEADER, token);
  return headers;
}

/** The server's error answer, thrown by every API call that fails. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly hint: string | undefined;
  /** The request field the server named (a 400's culprit), when it named one. */
  readonly field: string | undefined;

  constructor(status: number, body: unknown) {
    const e = errorBody(body);
    super(e.message ?? `request failed with HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = e.code ?? 'http_' + status;
    this.hint = e.hint;
    this.field = e.field;
  }
}

interface ErrorFields {
  code?: string;
  message?: string;
  hint?: string;
  field?: string;
}

function errorBody(body: unknown): ErrorFields {
  if (typeof body !== 'object' || body === null || !('error' in body)) return {};
  const e = (body as { error: unknown }).error;
  if (typeof e !== 'object' || e === null) return {};
  const pick = (k: string): string | undefined => {
    const v = (e as Record<string, unknown>)[k];
    return typeof v === 'string' ? v : undefined;
  };
  const out: ErrorFields = {};
  for (const k of ['code', 'message', 'hint', 'field'] as const) {
    const v = pick(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** True for the answer of a request made without (or with an expired) session. */
export function isUnauthorized(err: unknown): boolean {
  return err instanceof ApiError && err.status === 401;
}

/**
 * `fetch` a JSON route of this server. The body is sent as JSON; the answer's JSON is returned (undefined
 * for 204); a non-2xx answer throws {@link ApiError}.
 */
export async function requestJson<T>(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const method = init.method ?? 'GET';
  const headers = withCsrf(method, new Headers({ accept: 'application/json' }));
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  if (res.status === 204) return undefined as T;
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) throw new ApiError(res.status, body);
  return body as T;
}
