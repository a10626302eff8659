/**
 * The OpenAPI 3.1 document of `/api/v2`, generated from the route definitions alone (no engine), so the
 * committed copy (`docs/api/openapi.json`) can be regenerated and compared by a test:
 * `node scripts/api-schema.ts` rewrites it and the typed client. It also describes `/auth` (sign-in, who am
 * I, own tokens), which is served at the server root: those paths carry their own `servers` entry.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { AUTH_OPERATIONS } from '../../auth/authSchemas.ts';
import type { AnyRoute } from './route.ts';

/** The document's `info` and servers. */
const INFO = {
  openapi: '3.1.0',
  info: {
    title: 'Capstan REST API',
    version: '2',
    description:
      'The public API of Capstan: everything the web UI and the remote CLI use. JSON in camelCase; lists take `limit`/`offset` and answer `totalEntries`; errors are `{ error: { code, message, hint?, field? } }`. Authenticate with `Authorization: Bearer <token>` (POST /auth/token or a personal API token) or the browser session cookie with `X-CSRF-Token` on unsafe requests. The /auth operations are at the server root, not under /api/v2. The removed /api/v1 answers 410 Gone.',
  },
  servers: [{ url: '/api/v2' }],
  security: [{ bearer: [] }],
};

export type OpenApiDocument = ReturnType<OpenAPIHono['getOpenAPI31Document']>;

/** Where the `/auth` operations are served: the server root (their paths are full paths). */
export const AUTH_SERVERS = [{ url: '/', description: 'the server root: /auth is not under /api/v2' }];

/** The document for `routes` (paths relative to `/api/v2`) and the `/auth` operations. */
export function openApiDocument(routes: readonly AnyRoute[]): OpenApiDocument {
  const app = new OpenAPIHono();
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'a JWT from POST /auth/token or a personal API token (cap_…)' });
  for (const r of routes) app.openAPIRegistry.registerPath(r.openApi);
  for (const op of AUTH_OPERATIONS) app.openAPIRegistry.registerPath(op);
  const doc = app.getOpenAPI31Document(INFO);
  for (const path of new Set(AUTH_OPERATIONS.map((op) => op.path))) {
    const item = doc.paths?.[path];
    if (item) item.servers = AUTH_SERVERS;
  }
  return doc;
}
