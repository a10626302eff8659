/**
 * The Execution API (`/execution/v1`): the only way a task process, local or in a pod, talks to Capstan. Each
 * route is scoped by the bearer token to one task try. The API server mounts it; task processes call it
 * through src/runtime/.
 *
 * @example
 * ```ts
 * app.route('/execution/v1', executionApi({ db, lifecycle, dags, tokens, secrets, xcomMaxBytes, now }));
 * ```
 */
export { DEFAULT_MAX_JSON_BODY_BYTES, executionApi, MAX_LOG_CHUNK_BYTES } from './executionApi.ts';
export type { ExecutionApiDeps } from './executionApi.ts';
export type { TaskRunContext } from './executionTypes.ts';
