/**
 * The KubernetesExecutor: every task try in its own worker pod. See ARCHITECTURE.md in this folder and
 * docs/kubernetes/executor.md.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { TaskTokenIssuer } from '../../auth/index.ts';
import type { CapstanConfig } from '../../config/index.ts';
import { InvalidArgument } from '../../core/index.ts';
import { POD_MUTATION_HOOK_ENV } from '../../kubernetes/pods.ts';
import type { SerializedDagCache } from '../../services/index.ts';
import type { SecretsLookup } from '../../secrets/index.ts';
import type { MetadataDb } from '../../store/index.ts';
import { KubernetesExecutor } from './executor.ts';
import type { KubernetesExecutorConnection } from './options.ts';

export { KubernetesExecutor } from './executor.ts';
export { KUBERNETES_EXECUTOR_NAME } from './options.ts';
export type { KubernetesExecutorConnection, KubernetesExecutorOptions } from './options.ts';
export { kubernetesExecutorMetrics } from './metrics.ts';
export type { KubernetesExecutorMetrics } from './metrics.ts';
export { describeEnd, isRelaunchable, judgePod } from './podVerdict.ts';
export type { PodVerdict } from './podVerdict.ts';
export { watchedNamespaces } from './settings.ts';
export type { KubernetesExecutorSettings } from './settings.ts';
export { buildWorkerPod, executorIdLabel, isWatched, podOwner, TASK_TOKEN_ENV, TI_ID_ANNOTATION, WORKER_LABELS, WORKER_POD_ENV, workerCommand } from './workerPod.ts';
export type { WatchedNamespaces, WorkerPodInput } from './workerPod.ts';

/** What {@link createKubernetesExecutor} takes from the composition root. */
export interface KubernetesExecutorDeps {
  config: CapstanConfig;
  db: MetadataDb;
  dags: SerializedDagCache;
  tokens: TaskTokenIssuer;
  secrets: SecretsLookup;
  registry: Registry;
  now: () => number;
  logger: Logger;
  executionApiUrl: string;
}

/**
 * The executor as `core.executor = KubernetesExecutor` configures it. Connecting (the `kubernetesConnId`
 * connection or the default kubeconfig lookup, the pod template, the mutation hook) happens in `start()`, so a
 * bad setting stops the scheduler at start with the key to fix.
 */
export function createKubernetesExecutor(d: KubernetesExecutorDeps): KubernetesExecutor {
  const s = d.config.kubernetesExecutor;
  return new KubernetesExecutor({
    settings: s,
    executionApiUrl: d.executionApiUrl,
    tokens: d.tokens,
    db: d.db,
    dags: d.dags,
    parallelism: d.config.core.parallelism,
    now: d.now,
    logger: d.logger,
    registry: d.registry,
    healthCheckThresholdMs: d.config.scheduler.healthCheckThresholdMs,
    // Operators in the worker (a KubernetesPodOperator run by a worker pod) apply the same hook.
    workerEnv: d.config.kubernetes.podMutationHook === '' ? undefined : { [POD_MUTATION_HOOK_ENV]: d.config.kubernetes.podMutationHook },
    connect: async (): Promise<KubernetesExecutorConnection> => {
      // The client library is large: load it only when this executor is used.
      const { createKubeClients, parseKubernetesConnection, resolveKubeConfig, loadPodTemplate, loadPodMutationHook } = await import('../../kubernetes/index.ts');
      const connection = s.kubernetesConnId === '' ? undefined : parseKubernetesConnection(await d.secrets.requireConnection(s.kubernetesConnId));
      const clients = createKubeClients(resolveKubeConfig(connection), { qps: s.kubeClientQps, burst: s.kubeClientBurst, defaultNamespace: s.namespace });
      const baseTemplate = s.podTemplateFile === '' ? undefined : loadPodTemplate(s.podTemplateFile);
      if (baseTemplate === undefined && s.workerContainerImage === '') {
        throw new InvalidArgument('kubernetesExecutor: worker pods have no image', 'set kubernetesExecutor.workerContainerImage, or a podTemplateFile whose base container has an image');
      }
      return { clients, baseTemplate, podMutationHook: await loadPodMutationHook(d.config.kubernetes.podMutationHook) };
    },
  });
}
export * from './workerPodCleanup.ts';
