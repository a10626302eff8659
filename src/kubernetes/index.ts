/**
 * The Kubernetes provider: cluster connections, the API client (rate limit, timeouts, retries, clear errors) and
 * pod building. See ARCHITECTURE.md in this folder.
 */
export type { KubeClients } from './clients.ts';
export { CLIENT_DEFAULTS, backoffMs, createKubeClients, isRetryable } from './client.ts';
export type { KubeClientOptions, RetryEvent } from './client.ts';
export {
  KUBERNETES_CONN_TYPE,
  ReloadableKubeConfig,
  SERVICE_ACCOUNT_DIR,
  parseKubernetesConnection,
  resolveKubeConfig,
  resolveNamespace,
} from './connection.ts';
export type { KubeConfigSource, KubeEnvironment, KubernetesConnection } from './connection.ts';
export { KubernetesApiError, apiErrorFromResponse, describeRequest } from './errors.ts';
export type { ApiStatusBody, KubernetesErrorKind, RequestDescription, StatusCause } from './errors.ts';
export { TokenBucket } from './rateLimiter.ts';
export type { LimiterClock } from './rateLimiter.ts';
export * from './pod/index.ts';
export * from './job/index.ts';
export * from './spark/index.ts';
export * from './resources/index.ts';
