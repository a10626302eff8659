/** What the KubernetesExecutor is given: its name, its options, and what its `connect` returns. */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { TaskTokenIssuer } from '../../auth/index.ts';
import type { SerializedDagCache } from '../../services/index.ts';
import type { KubeClients } from '../../kubernetes/index.ts';
import type { Manifest, PodMutationHook } from '../../kubernetes/pods.ts';
import type { MetadataDb } from '../../store/index.ts';
import type { KubernetesExecutorSettings } from './settings.ts';

/** The executor's name, stored on the task instances it runs and used as `core.executor`. */
export const KUBERNETES_EXECUTOR_NAME = 'KubernetesExecutor';

/** Everything the executor needs; built by the composition root (src/app/roles.ts). */
export interface KubernetesExecutorOptions {
  settings: KubernetesExecutorSettings;
  /**
   * Called once by start(): connects to the cluster (resolves the connection, builds the rate-limited client)
   * and loads what the config names (pod template, mutation hook), so bad settings fail the start.
   */
  connect: () => Promise<KubernetesExecutorConnection>;
  executionApiUrl: string;
  tokens: TaskTokenIssuer;
  /** Read to learn whether a try was claimed and how it ended (the executor never writes task state). */
  db: MetadataDb;
  /** Source of each task's `executorConfig`. */
  dags: SerializedDagCache;
  /** `core.parallelism`: tries queued or running in pods at once. */
  parallelism: number;
  now: () => number;
  logger: Logger;
  /** Registry for the executor's metrics (the scheduler's /metrics). */
  registry?: Registry | undefined;
  /**
   * A scheduler whose heartbeat is older than this is dead (`scheduler.healthCheckThresholdMs`): the pods it
   * left whose tries are over are cleaned up by the orphan sweep — a live one only once its try has been over this
   * long (before, it is taken to be finishing: shipping the rest of its log and exiting). Default 30 s.
   */
  healthCheckThresholdMs?: number | undefined;
  /** Env added to every worker pod's base container (the factory passes the mutation hook setting). */
  workerEnv?: Readonly<Record<string, string>> | undefined;
  /** Pins pod name suffixes (tests). */
  randomSuffix?: (() => string) | undefined;
  /** First create-retry backoff; doubles up to `createBackoffMaxMs`. Defaults 500 ms and 30 s. */
  createBackoffMs?: number;
  createBackoffMaxMs?: number;
}

/** What start() obtains from {@link KubernetesExecutorOptions.connect}. */
export interface KubernetesExecutorConnection {
  clients: KubeClients;
  /** The parsed `kubernetesExecutor.podTemplateFile` (undefined: none). */
  baseTemplate?: Manifest | undefined;
  podMutationHook?: PodMutationHook | undefined;
}
