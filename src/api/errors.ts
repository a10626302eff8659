/** Errors rendered as `{ error: { code, message, hint } }` with a status that matches the code. */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { CapstanError, type ErrorCode } from '../core/errors.ts';

const STATUS: Partial<Record<ErrorCode, ContentfulStatusCode>> = {
  unauthorized: 401,
  forbidden: 403,
  rate_limited: 429,
  not_found: 404,
  dag_not_found: 404,
  task_not_found: 404,
  run_not_found: 404,
  conflict: 409,
  invalid_argument: 400,
  dag_invalid: 400,
  xcom_too_large: 413,
};

export function errorResponse(c: Context, err: unknown): Response {
  if (err instanceof CapstanError) return c.json({ error: err.toDiagnostic() }, STATUS[err.code] ?? 500);
  if (err instanceof SyntaxError) return c.json({ error: { code: 'invalid_argument', message: `request body is not valid JSON: ${err.message}` } }, 400);
  return c.json({ error: { code: 'internal', message: err instanceof Error ? err.message : String(err) } }, 500);
}
