/** Reading a JSON request body against a zod schema: a clear 400 naming the field, never a 5xx. */
import type { Context } from 'hono';
import type { z } from 'zod';
import { InvalidArgument } from '../../core/index.ts';

/** The body parsed and validated, or `invalid_argument` naming the first bad field. */
export async function readBody<T>(c: Context, schema: z.ZodType<T>, what: string): Promise<T> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new InvalidArgument(`${what}: the request body is not valid JSON`, 'send a JSON object with Content-Type: application/json');
  }
  return parseInput(schema, raw, what);
}

/** `raw` validated by `schema`, or `invalid_argument` naming the first bad field. */
export function parseInput<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') || 'body';
  throw new InvalidArgument(`${what}: ${field}: ${issue?.message ?? 'invalid'}`);
}
