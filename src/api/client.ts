/**
 * Light entry of the API folder for the CLI: the typed `/api/v2` client (remote commands) and the JSON views
 * of store rows (local `--output json`), without the server, its routes, Hono or the zod schemas.
 *
 * @example
 * import { apiV2Client, dagJson } from '../api/client.ts';
 * const api = apiV2Client({ baseUrl: 'http://127.0.0.1:8080', token });
 * const { data } = await api.call('get', '/dags/{dagId}', { path: { dagId: 'etl' } });
 */
export * from './public/v2/client/index.ts';
export * from './views.ts';
