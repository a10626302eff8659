/**
 * What a request body may be: JSON only on the public API's POST, PUT and PATCH (a form or `text/plain`
 * POST is what a cross-site page can send without a CORS preflight, so it is refused before anything parses
 * it), and at most `api.maxBodyBytes` long, counted while it streams in (a `Content-Length` above the
 * limit is refused unread). The Execution API is left to its own rules: its log upload takes raw bytes and
 * it bounds each body itself.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { CapstanError } from '../../core/index.ts';
import { errorResponse } from '../errors.ts';

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/** `application/json` or `application/<x>+json`, with any parameters (`; charset=utf-8`). */
export function isJsonContentType(header: string): boolean {
  return /^application\/(?:[\w.-]+\+)?json\s*(?:;.*)?$/i.test(header.trim());
}

/** True when the request carries a body: a non-zero Content-Length, chunked transfer, or (in-process) a body stream without a length. */
function hasBody(headers: Headers, stream: ReadableStream | null): boolean {
  if (headers.has('transfer-encoding')) return true;
  const length = headers.get('content-length');
  if (length !== null) return length.trim() !== '0';
  return stream !== null && headers.has('content-type');
}

/** 415 unless a POST/PUT/PATCH body is JSON; a bodiless request passes (the route decides whether it needs one). */
export function jsonBodiesOnly(): MiddlewareHandler {
  return async (c, next) => {
    if (!WITH_BODY.has(c.req.method)) return next();
    const type = c.req.header('content-type');
    // Without a Content-Type only a bodiless request passes: a typeless body (a Blob a cross-site page can send) is refused too.
    if (type === undefined ? hasBody(c.req.raw.headers, c.req.raw.body) : !isJsonContentType(type)) {
      return errorResponse(c, new CapstanError('unsupported_media_type', `a ${c.req.method} body must be JSON`, { hint: 'send Content-Type: application/json' }));
    }
    return next();
  };
}

/** 413 `payload_too_large` for a body longer than `maxBytes`. */
export function bodySizeLimit(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => errorResponse(c, new CapstanError('payload_too_large', `the request body is larger than ${maxBytes} bytes`, { hint: 'api.maxBodyBytes sets the limit' })),
  });
}
