/**
 * The Kubernetes side of task logs and pod housekeeping outside the executor: the cluster named by the
 * `kubernetesExecutor` config section, and the worker pod's `pods/log` as a live source of a try's log while
 * the pod runs and before its first shipped chunk lands in the log store.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { CapstanConfig } from '../../config/index.ts';
import type { SecretsLookup } from '../../secrets/index.ts';
import type { KubeClients } from '../../kubernetes/index.ts';
import { identityLabels, POD_LABELS } from '../../kubernetes/pods.ts';
import type { LiveTaskLogSource, TaskLogKey } from '../../logging/taskLogs.ts';

/** `capstan.dev/kind` of worker pods (the KubernetesExecutor's). */
export const WORKER_KIND = 'worker';
/** Container of a worker pod that runs the task. */
export const WORKER_CONTAINER = 'base';

/**
 * Clients for the executor's cluster: `kubernetesExecutor.kubernetesConnId` (a `kubernetes` connection), else
 * KUBECONFIG → ~/.kube/config → in-cluster; rate-limited like the executor's own client.
 */
export async function executorClusterClients(config: CapstanConfig, secrets: SecretsLookup): Promise<KubeClients> {
  // The client library is large: loaded only by readers that reach a cluster.
  const { createKubeClients, parseKubernetesConnection, resolveKubeConfig } = await import('../../kubernetes/index.ts');
  const s = config.kubernetesExecutor;
  const connection = s.kubernetesConnId === '' ? undefined : parseKubernetesConnection(await secrets.requireConnection(s.kubernetesConnId));
  return createKubeClients(resolveKubeConfig(connection), { qps: s.kubeClientQps, burst: s.kubeClientBurst, defaultNamespace: s.namespace });
}

/** Namespaces worker pods may be in, per the config: one list, or every namespace. */
export function workerNamespaces(s: CapstanConfig['kubernetesExecutor']): { all: true } | { all: false; namespaces: string[] } {
  if (!s.multiNamespaceMode) return { all: false, namespaces: [s.namespace] };
  const list = s.multiNamespaceModeNamespaceList.split(',').map((n) => n.trim()).filter((n) => n !== '');
  return list.length === 0 ? { all: true } : { all: false, namespaces: [...new Set([s.namespace, ...list])] };
}

/** Label selector of the worker pods of one try (the label values are sanitized; annotations carry exact ids). */
export function workerPodSelector(key: TaskLogKey): string {
  const mapIndex = key.mapIndex ?? -1;
  const labels = identityLabels({ dagId: key.dagId, taskId: key.taskId, runId: key.runId, tryNumber: key.tryNumber, mapIndex, kind: WORKER_KIND });
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  if (mapIndex < 0) parts.push(`!${POD_LABELS.mapIndex}`);
  return parts.join(',');
}

function isPodOf(pod: V1Pod, key: TaskLogKey): boolean {
  const a = pod.metadata?.annotations ?? {};
  return a[POD_LABELS.dagId] === key.dagId && a[POD_LABELS.taskId] === key.taskId && a[POD_LABELS.runId] === key.runId
    && a[POD_LABELS.tryNumber] === String(key.tryNumber) && (a[POD_LABELS.mapIndex] ?? '-1') === String(Math.max(-1, key.mapIndex ?? -1));
}

/**
 * A try's log read from its worker pod's `pods/log` (what `capstan tasks run` prints with
 * `logging.taskLogToStdout`). Finds the pod by the try's labels; a pod whose container has not started, or no
 * pod, gives `undefined`.
 *
 * @example
 * const live = new WorkerPodLogSource(clients, workerNamespaces(config.kubernetesExecutor));
 * const { text, source } = await readTryLog(key, { handler, live: [live] });
 */
export class WorkerPodLogSource implements LiveTaskLogSource {
  readonly #clients: KubeClients;
  readonly #namespaces: ReturnType<typeof workerNamespaces>;

  constructor(clients: KubeClients, namespaces: ReturnType<typeof workerNamespaces>) {
    this.#clients = clients;
    this.#namespaces = namespaces;
  }

  async read(key: TaskLogKey): Promise<string | undefined> {
    const pod = await this.findPod(key);
    if (pod === undefined) return undefined;
    const started = pod.status?.containerStatuses?.find((c) => c.name === WORKER_CONTAINER)?.state;
    if (started?.running === undefined && started?.terminated === undefined) return undefined;
    return this.#clients.core.readNamespacedPodLog({ namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', container: WORKER_CONTAINER });
  }

  /** The worker pod of the try, newest first if there are several (a relaunched pod). */
  async findPod(key: TaskLogKey): Promise<V1Pod | undefined> {
    const labelSelector = workerPodSelector(key);
    const pods = this.#namespaces.all
      ? (await this.#clients.core.listPodForAllNamespaces({ labelSelector })).items
      : (await Promise.all(this.#namespaces.namespaces.map((namespace) => this.#clients.core.listNamespacedPod({ namespace, labelSelector })))).flatMap((l) => l.items);
    const mine = pods.filter((p) => isPodOf(p, key) && p.metadata?.deletionTimestamp == null);
    mine.sort((a, b) => new Date(b.metadata?.creationTimestamp ?? 0).getTime() - new Date(a.metadata?.creationTimestamp ?? 0).getTime());
    return mine[0];
  }
}

/** True when `core.executor` runs tries in worker pods, so their logs may be read from the pods. */
export function usesWorkerPods(config: CapstanConfig): boolean {
  return config.core.executor === 'KubernetesExecutor' || config.core.executor === 'LocalKubernetesExecutor';
}

/**
 * The worker pod log source for this config, connecting on first use (readers that never need it never reach
 * the cluster); none when the executor runs no pods.
 */
export function workerPodLogSources(config: CapstanConfig, secrets: SecretsLookup): LiveTaskLogSource[] {
  if (!usesWorkerPods(config)) return [];
  let source: Promise<WorkerPodLogSource> | undefined;
  return [{
    read: async (key) => {
      source ??= executorClusterClients(config, secrets).then((clients) => new WorkerPodLogSource(clients, workerNamespaces(config.kubernetesExecutor)));
      return (await source).read(key);
    },
  }];
}
