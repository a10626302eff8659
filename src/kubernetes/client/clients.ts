/**
 * The Kubernetes API handles every Kubernetes component receives. Built by `createKubeClients`
 * (client.ts) from a KubeConfig, with the rate limiting, timeouts and retries configured there; consumers
 * only see the official `@kubernetes/client-node` APIs.
 */
import type { BatchV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, KubernetesObjectApi, Log, VersionApi, Watch } from '@kubernetes/client-node';

export interface KubeClients {
  readonly kubeConfig: KubeConfig;
  readonly core: CoreV1Api;
  readonly batch: BatchV1Api;
  readonly custom: CustomObjectsApi;
  /** `GET /version`: the server's Kubernetes version (features such as native sidecars depend on it). */
  readonly version: VersionApi;
  /** Any object by apiVersion/kind (resolved through API discovery): the generic resource operators use it. */
  readonly objects: KubernetesObjectApi;
  /** Streams watch events (list-then-watch is the caller's job). */
  readonly watch: Watch;
  /** Streams container logs (`pods/log`). */
  readonly log: Log;
  /**
   * Takes a token from the client's rate limiter. Streams opened outside the generated APIs (our own
   * `pods/log` requests) await it before each (re)connection, so reconnect loops count against the
   * same QPS as every other request. Absent on hand-made client sets: then streams are not limited.
   */
  readonly streamPermit?: () => Promise<void>;
  /** Namespace used when an operator names none (connection → in-cluster file → `default`). */
  readonly defaultNamespace: string;
}
