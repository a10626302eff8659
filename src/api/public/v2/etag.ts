/**
 * Conditional GETs for the heavy reads (grid, graph, DAG details): a strong ETag over the answer's JSON,
 * and 304 with no body when `If-None-Match` holds it. `Cache-Control: private, no-cache` lets a browser
 * keep the answer but revalidate it every time (the default for API answers is `no-store`).
 */
import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export function jsonWithEtag(c: Context, body: unknown, status: number): Response {
  const text = JSON.stringify(body);
  const tag = `"${createHash('sha256').update(text).digest('base64url').slice(0, 32)}"`;
  const headers = { etag: tag, 'cache-control': 'private, no-cache' };
  if (matches(c.req.header('if-none-match'), tag)) return c.body(null, 304, headers);
  return c.body(text, status as ContentfulStatusCode, { ...headers, 'content-type': 'application/json' });
}

function matches(header: string | undefined, tag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || v === tag || v === `W/${tag}`;
  });
}
