/**
 * The web UI's files, served by the API server on its own origin: `ui/dist` as Vite builds it.
 *
 * - `/assets/<name>`: hashed, immutable build output (`Cache-Control: public, max-age=31536000, immutable`).
 * - The UI's pages (`/`, `/login`, `/dags/…`, …; {@link UI_PAGE_ROUTES}): `index.html`, which the client-side
 *   router turns into the page the URL names, with `Cache-Control: no-cache` so a new build is picked up.
 *
 * All of it is public (the login page must load before anyone signs in); the data comes from the
 * authenticated API. HTML gets the UI's Content-Security-Policy ({@link UI_CSP}): scripts, styles, workers
 * and connections from this origin only, no inline scripts. When `ui/dist` is missing (a checkout that
 * skipped `npm ci`'s build), the pages answer a JSON 404 saying how to build it.
 *
 * @example
 * mountWebUi(app, { distDir: WEB_UI_DIST });
 */
import { readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, Env, Hono } from 'hono';
import { CapstanError } from '../../core/index.ts';
import { errorResponse } from '../errors.ts';
import { answerUnknownPagesWith } from '../http/fallback.ts';

/** Where `npm run build:ui` (run by `npm ci`'s prepare step) writes the UI. */
export const WEB_UI_DIST = fileURLToPath(new URL('../../../ui/dist/', import.meta.url));

/**
 * The client-side routes, as Hono patterns (`/x/*` also answers `/x`). The UI's router (ui/src/routes.tsx)
 * uses only these prefixes; a page outside them would 404 on reload (the browser tests reload every page).
 */
export const UI_PAGE_ROUTES = ['/', '/login', '/account', '/dags/*', '/runs', '/task-instances', '/browse/*', '/admin/*'] as const;

/** The route of the hashed build output. */
export const UI_ASSET_ROUTE = '/assets/:file';

/** The UI document's policy: nothing from elsewhere, no inline script, never framed. */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
};

export interface WebUiOptions {
  /** The built UI (default {@link WEB_UI_DIST}). */
  distDir?: string;
}

/** Register the UI's page and asset routes on `app` (they are public in the permission table). */
export function mountWebUi<E extends Env>(app: Hono<E>, o: WebUiOptions = {}): void {
  const dist = o.distDir ?? WEB_UI_DIST;
  const document = (c: Context, status: 200 | 404, html: Uint8Array<ArrayBuffer>) => c.body(html, status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', 'content-security-policy': UI_CSP });
  const page = async (c: Context<E>) => {
    const html = await readIfExists(join(dist, 'index.html'));
    if (html === undefined) return errorResponse(c, notBuilt());
    return document(c, 200, html);
  };
  for (const route of UI_PAGE_ROUTES) app.get(route, page);
  // A mistyped or stale link opened in a browser shows the UI's "page not found", with its navigation, still a 404.
  answerUnknownPagesWith(app, async (c) => {
    const html = await readIfExists(join(dist, 'index.html'));
    return html === undefined ? undefined : document(c, 404, html);
  });
  app.get(UI_ASSET_ROUTE, async (c) => {
    const name = c.req.param('file') ?? '';
    const type = ASSET_NAME.test(name) && !name.includes('..') ? CONTENT_TYPES[extension(name)] : undefined;
    const body = type === undefined ? undefined : await readIfExists(join(dist, 'assets', name));
    if (body === undefined) return errorResponse(c, existsSync(dist) ? new CapstanError('not_found', 'no such UI file') : notBuilt());
    return c.body(body, 200, { 'content-type': type ?? 'application/octet-stream', 'cache-control': IMMUTABLE });
  });
}

function notBuilt(): CapstanError {
  return new CapstanError('not_found', 'the web UI is not built', { hint: 'run `npm run build:ui` (npm ci runs it) and reload' });
}

function extension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot).toLowerCase();
}

async function readIfExists(path: string): Promise<Uint8Array<ArrayBuffer> | undefined> {
  try {
    if (!(await stat(path)).isFile()) return undefined;
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
  } catch {
    return undefined;
  }
}
