/**
 * Reading a request's input — JSON body, path parameters, query string — against strict zod schemas. Every
 * rejection is a 400 `invalid_argument` whose message and `field` name the first bad field and never echo
 * the value (a 5,000-character id or a control character stays out of the answer and the logs).
 *
 * @example
 * const { dagId } = parseInput(z.object({ dagId: DagIdParam }).strict(), c.req.param(), 'path');
 * const body = parseInput(TriggerBody, await readJsonBody(c), 'dagRun');
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { InvalidArgument } from '../../core/index.ts';

/** A bad input, naming its field (`conf.x`, `runId`, `limit`, or `body` for the whole body). */
export class InvalidField extends InvalidArgument {
  readonly field: string;
  constructor(field: string, message: string, hint?: string) {
    super(message, hint);
    this.name = 'InvalidField';
    this.field = field;
  }
}

/** Deepest nesting of any JSON request body (objects and arrays); conf has its own, smaller limit. */
export const MAX_BODY_DEPTH = 64;

/** Pagination of list endpoints: `limit` 1..1000 (default 100) and `offset` ≥ 0 (default 0). */
export const MAX_PAGE_LIMIT = 1000;
export const DEFAULT_PAGE_LIMIT = 100;

/** A DAG id as the SDK accepts it (`dag()`): 1-250 of `[A-Za-z0-9_.-]`. */
export const DagIdParam = z.string().regex(/^[A-Za-z0-9_.-]{1,250}$/, 'must be 1-250 characters of A-Z a-z 0-9 _ . -');
/** A task id as the SDK accepts it (`taskId`): 1-250 of `[A-Za-z0-9_.-]`. */
export const TaskIdParam = DagIdParam;
/**
 * A run id to look up: 1-250 characters without control characters. Looser than the pattern new run ids
 * must match (`core.allowedRunIdPattern`), so runs stored under an older or looser rule stay reachable.
 */
export const RunIdParam = z.string().regex(/^[^\p{Cc}]{1,250}$/u, 'must be 1-250 characters without control characters');

/**
 * The JSON body of a request, or `undefined` when it has none. Bodies are bounded in size before this
 * runs (the body-limit middleware) and their content type is checked (JSON only); here a body that does
 * not parse, or nests deeper than {@link MAX_BODY_DEPTH}, is a 400.
 */
export async function readJsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InvalidField('body', 'the request body is not valid JSON', 'send a JSON object with Content-Type: application/json');
  }
  if (jsonDepth(raw, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) throw new InvalidField('body', `the request body nests deeper than ${MAX_BODY_DEPTH} levels`);
  return raw;
}

/** `raw` validated by `schema`, or an {@link InvalidField} naming the first bad field under `what`. */
export function parseInput<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  const keys = issue?.code === 'unrecognized_keys' ? issue.keys.map((k) => clip(k)).join(', ') : '';
  const field = keys !== '' ? (path === '' ? keys : `${path}.${keys}`) : path || (what === 'query' || what === 'path' ? what : 'body');
  const message = keys !== '' ? `unknown field${issue?.code === 'unrecognized_keys' && issue.keys.length > 1 ? 's' : ''} ${keys}` : (issue?.message ?? 'invalid');
  throw new InvalidField(field, `${what}: ${field}: ${message}`);
}

/**
 * A run's conf: a JSON object at most `maxBytes` long serialized and nested at most `maxDepth` levels
 * (the object itself is level 1). Checked before zod walks it, so a deep value cannot exhaust the stack.
 */
export function confSchema(limits: { maxBytes: number; maxDepth: number }): z.ZodType<Record<string, z.core.util.JSONType>> {
  return z
    .unknown()
    .superRefine((v, ctx) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
        return;
      }
      if (jsonDepth(v, limits.maxDepth) > limits.maxDepth) ctx.addIssue({ code: 'custom', message: `nests deeper than ${limits.maxDepth} levels` });
      else if (Buffer.byteLength(JSON.stringify(v)) > limits.maxBytes) ctx.addIssue({ code: 'custom', message: `is larger than ${limits.maxBytes} bytes serialized` });
    })
    .pipe(z.record(z.string(), z.json())) as z.ZodType<Record<string, z.core.util.JSONType>>;
}

/** Nesting depth of a parsed JSON value (a scalar is 0), counted without recursion and up to `stopAbove` + 1. */
export function jsonDepth(value: unknown, stopAbove: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    const d = depth + 1;
    if (d > deepest) deepest = d;
    if (deepest > stopAbove) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, d]);
  }
  return deepest;
}

/** A name from the request, shortened and stripped of control characters for a message. */
function clip(s: string): string {
  const clean = s.replace(/\p{Cc}/gu, '?');
  return clean.length > 60 ? `${clean.slice(0, 60)}…` : clean;
}
