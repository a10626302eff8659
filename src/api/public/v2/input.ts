/**
 * Reading a v2 request against its route's schemas, and the query vocabulary every route shares:
 * pagination (`limit`/`offset`), `orderBy` (`field` or `-field`), whole numbers, booleans, date-times and
 * repeatable filters. A rejection is the API's one 400 (`invalid_argument` with `field`), never echoing the value.
 *
 * @example
 * query: { ...pageQuery(), orderBy: orderByQuery(['dagId', 'owner'], 'dagId'), paused: boolQuery(), tags: listQuery(TagName) }
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { DEFAULT_PAGE_LIMIT, InvalidField, MAX_PAGE_LIMIT, parseInput, readJsonBody } from '../../http/index.ts';

export { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT };

/** The path parameters, checked by the route's strict object. */
export function readParams<T>(c: Context, schema: z.ZodType<T>): T {
  return parseInput(schema, c.req.param(), 'path');
}

/**
 * The query string against the route's strict object. A parameter declared as a list may repeat
 * (`tags=a&tags=b`); any other given twice is an error.
 */
export function readQuery<T>(c: Context, schema: z.ZodObject & z.ZodType<T>): T {
  const raw: Record<string, string | string[]> = {};
  for (const [key, values] of Object.entries(c.req.queries())) {
    // Own keys only: `?valueOf=` or `?constructor=` must not reach Object.prototype.
    const field = Object.hasOwn(schema.shape, key) ? schema.shape[key] : undefined;
    if (field !== undefined && isList(field)) raw[key] = values;
    else if (values.length > 1) throw new InvalidField(clip(key), `query: ${clip(key)}: given more than once`);
    else raw[key] = values[0] ?? '';
  }
  return parseInput(schema, raw, 'query');
}

/**
 * The JSON body; an absent (empty) body is `{}` when not required (so defaults apply), else a 400 naming
 * `body`. A body of JSON `null` is not absent: it is checked like any other value (and refused).
 */
export async function readBody<T>(c: Context, schema: z.ZodType<T>, required: boolean): Promise<T> {
  const raw = await readJsonBody(c);
  if (raw === undefined && required) throw new InvalidField('body', 'body: a JSON body is required', 'send a JSON object with Content-Type: application/json');
  return parseInput(schema, raw === undefined ? {} : raw, 'body');
}

function isList(s: z.ZodType): boolean {
  let cur: z.core.$ZodType = s;
  for (;;) {
    const def = cur._zod.def as { type: string; innerType?: z.core.$ZodType };
    if (def.type === 'array') return true;
    if ((def.type === 'optional' || def.type === 'default' || def.type === 'nullable') && def.innerType) cur = def.innerType;
    else return false;
  }
}

function clip(s: string): string {
  const clean = s.replace(/\p{Cc}/gu, '?');
  return clean.length > 60 ? `${clean.slice(0, 60)}…` : clean;
}

/** A whole number in the query (digits only: `1e3`, ` 1`, `0x10` are refused), described as an integer. */
export function intQuery(o: { min: number; max: number; description?: string }) {
  return z
    .string()
    .regex(/^-?\d{1,15}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(o.min, `must be at least ${o.min}`).max(o.max, `must be at most ${o.max}`))
    .openapi({ type: 'integer', minimum: o.min, maximum: o.max, ...(o.description ? { description: o.description } : {}) });
}

/** `limit` (1..{@link MAX_PAGE_LIMIT}, default {@link DEFAULT_PAGE_LIMIT}; above the maximum is a 400) and `offset` (≥ 0). */
export function pageQuery() {
  return {
    limit: intQuery({ min: 1, max: MAX_PAGE_LIMIT, description: `page size (default ${DEFAULT_PAGE_LIMIT}, at most ${MAX_PAGE_LIMIT})` })
      .optional()
      .transform((v) => v ?? DEFAULT_PAGE_LIMIT)
      .openapi({ type: 'integer', minimum: 1, maximum: MAX_PAGE_LIMIT, default: DEFAULT_PAGE_LIMIT }),
    offset: intQuery({ min: 0, max: Number.MAX_SAFE_INTEGER })
      .optional()
      .transform((v) => v ?? 0)
      .openapi({ type: 'integer', minimum: 0, default: 0, description: 'entries to skip' }),
  };
}

/** How a list is ordered: a field and its direction. */
export interface OrderBy<F extends string> {
  field: F;
  descending: boolean;
}

/**
 * `orderBy=field` (ascending) or `orderBy=-field` (descending), one of `fields`; default `fallback`.
 * Handlers map the field to a column themselves (no client text reaches SQL).
 */
export function orderByQuery<const F extends string>(fields: readonly [F, ...F[]], fallback: F | `-${F}`) {
  const values = fields.flatMap((f) => [f, `-${f}`]) as [string, ...string[]];
  return z
    .enum(values)
    .optional()
    .transform((v): OrderBy<F> => {
      const s = v ?? fallback;
      return s.startsWith('-') ? { field: s.slice(1) as F, descending: true } : { field: s as F, descending: false };
    })
    .openapi({ type: 'string', enum: values, default: fallback, description: 'sort field; a leading `-` sorts descending' });
}

/** `true` or `false`. */
export function boolQuery(description?: string) {
  return z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .openapi({ type: 'boolean', ...(description ? { description } : {}) });
}

/** An ISO 8601 date-time with a zone, as epoch milliseconds. */
export function dateQuery(description?: string) {
  return z.iso
    .datetime({ offset: true })
    .transform((t) => Date.parse(t))
    .optional()
    .openapi({ type: 'string', format: 'date-time', ...(description ? { description } : {}) });
}

/** A filter that may repeat (`state=failed&state=running`), matching any of its values; at most 100. */
export function listQuery<T extends z.ZodType>(item: T, description?: string) {
  return z
    .array(item)
    .max(100)
    .optional()
    .openapi(description ? { description } : {});
}

/** A substring search (SQL `LIKE %…%` with `%`/`_` taken literally), at most 250 characters. */
export function searchQuery(description: string) {
  return z.string().min(1).max(250).optional().openapi({ description });
}
