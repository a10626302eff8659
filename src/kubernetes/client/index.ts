/**
 * Cluster access and the API client: from a Capstan connection of type `kubernetes` to a {@link KubeClients} whose
 * every request is rate-limited, timed out, retried when safe, and fails as a {@link KubernetesApiError}.
 *
 * @example
 * ```ts
 * import { createKubeClients, parseKubernetesConnection, resolveKubeConfig } from './client/index.ts';
 * const kubeConfig = resolveKubeConfig(parseKubernetesConnection(connection));
 * const clients = createKubeClients(kubeConfig, { qps: 10, burst: 20, defaultNamespace: 'etl' });
 * await clients.core.createNamespacedPod({ namespace: clients.defaultNamespace, body: pod });
 * ```
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
