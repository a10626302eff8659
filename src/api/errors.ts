/**
 * Errors rendered as `{ error: { code, message, hint?, field? } }` with a status that matches the code. An
 * error Capstan did not raise on purpose is a 500 that says only `internal error`: its message may hold a
 * file path or a driver's text. The server logs it (see `src/api/http/fallback.ts`, which reads `c.error`).
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { CapstanError, type ErrorCode } from '../core/index.ts';
import { InvalidField } from './http/input.ts';

const STATUS: Partial<Record<ErrorCode, ContentfulStatusCode>> = {
  unauthorized: 401,
  forbidden: 403,
  rate_limited: 429,
  not_found: 404,
  dag_not_found: 404,
  task_not_found: 404,
  run_not_found: 404,
  method_not_allowed: 405,
  gone: 410,
  conflict: 409,
  invalid_argument: 400,
  dag_invalid: 400,
  xcom_too_large: 413,
  upstream_unavailable: 502,
  payload_too_large: 413,
  unsupported_media_type: 415,
  host_not_allowed: 421,
};

/** The body of every 500: nothing about the cause. */
export const INTERNAL_ERROR = { error: { code: 'internal', message: 'internal error' } } as const;

export function errorResponse(c: Context, err: unknown): Response {
  if (err instanceof CapstanError) {
    const status = STATUS[err.code];
    if (status !== undefined) return c.json({ error: err instanceof InvalidField ? { ...err.toDiagnostic(), field: err.field } : err.toDiagnostic() }, status);
  }
  if (err instanceof SyntaxError) return c.json({ error: { code: 'invalid_argument', message: 'the request body is not valid JSON' } }, 400);
  return c.json(INTERNAL_ERROR, 500);
}
