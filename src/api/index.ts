/**
 * API server: the Hono app (`/api/v2`, the Execution API, auth, the web UI), its HTTP hygiene, the health
 * reports, the error answers and the API's views of store rows and tries. Other folders import it through this
 * module or the light entry client.ts (the v2 client and the row views, no server code; lint:
 * eslint-rules/noDeepImports.js).
 *
 * @example
 * import { createApiApp, listen } from '../api/index.ts';
 * const server = await listen(createApiApp(deps), '127.0.0.1', 8080);
 * await server.close();
 */
export * from './client.ts';
export * from './errors.ts';
export * from './health.ts';
export * from './http/index.ts';
export { tryView } from './public/v2/schemas/runs.ts';
export * from './server.ts';
export * from './ui/index.ts';
