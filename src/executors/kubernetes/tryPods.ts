/**
 * The pods a try ran in — its KubernetesExecutor worker pod and the pods its KubernetesPodOperator created —
 * read from the cluster named by the `kubernetesExecutor` config section, for the API's pod summary, events
 * and logs. Pods are found by the try's identity labels and checked against its exact-id annotations, so a
 * caller can reach only the pods of a try it may read.
 */
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import type { CapstanConfig } from '../../config/index.ts';
import type { KubeClients } from '../../kubernetes/index.ts';
import { requestLog, type LogRequestEnd, POD_LABELS, labelValue } from '../../kubernetes/pods.ts';
import type { TaskLogKey } from '../../logging/taskLogs.ts';
import type { SecretsLookup } from '../../secrets/index.ts';
import { executorClusterClients, usesWorkerPods, workerNamespaces } from './workerPodLogs.ts';

/** Label selector of every pod of one try, whatever its kind (worker, pod-operator, …). */
export function tryPodsSelector(key: TaskLogKey): string {
  const mapIndex = key.mapIndex ?? -1;
  const parts = [
    `${POD_LABELS.dagId}=${labelValue(key.dagId)}`,
    `${POD_LABELS.taskId}=${labelValue(key.taskId)}`,
    `${POD_LABELS.runId}=${labelValue(key.runId)}`,
    `${POD_LABELS.tryNumber}=${key.tryNumber}`,
    `${POD_LABELS.managedBy}=capstan`,
    mapIndex < 0 ? `!${POD_LABELS.mapIndex}` : `${POD_LABELS.mapIndex}=${mapIndex}`,
  ];
  return parts.join(',');
}

/** True when the pod's exact-id annotations name this try (labels are sanitized and may collide). */
export function isPodOfTry(pod: V1Pod, key: TaskLogKey): boolean {
  const a = pod.metadata?.annotations ?? {};
  return a[POD_LABELS.dagId] === key.dagId && a[POD_LABELS.taskId] === key.taskId && a[POD_LABELS.runId] === key.runId
    && a[POD_LABELS.tryNumber] === String(key.tryNumber) && (a[POD_LABELS.mapIndex] ?? '-1') === String(Math.max(-1, key.mapIndex ?? -1));
}

/** Options of {@link TryPodReader.log}. */
export interface PodLogOptions {
  container: string;
  /** Only the last N lines. */
  tailLines?: number | undefined;
  /** At most this many bytes (the kubelet cuts there). */
  limitBytes?: number | undefined;
}

/**
 * Reads a try's pods, their events and logs.
 *
 * @example
 * const reader = new TryPodReader(clients, workerNamespaces(config.kubernetesExecutor));
 * const [pod] = await reader.pods({ dagId: 'etl', runId: 'r1', taskId: 'load', mapIndex: -1, tryNumber: 1 });
 */
export class TryPodReader {
  readonly #clients: KubeClients;
  readonly #namespaces: ReturnType<typeof workerNamespaces>;

  constructor(clients: KubeClients, namespaces: ReturnType<typeof workerNamespaces>) {
    this.#clients = clients;
    this.#namespaces = namespaces;
  }

  /** The try's pods, oldest first (a relaunched worker pod or a retried operator pod comes later). */
  async pods(key: TaskLogKey): Promise<V1Pod[]> {
    const labelSelector = tryPodsSelector(key);
    const core = this.#clients.core;
    const pods = this.#namespaces.all
      ? (await core.listPodForAllNamespaces({ labelSelector })).items
      : (await Promise.all(this.#namespaces.namespaces.map((namespace) => core.listNamespacedPod({ namespace, labelSelector })))).flatMap((l) => l.items);
    const mine = pods.filter((p) => isPodOfTry(p, key));
    return mine.sort((a, b) => new Date(a.metadata?.creationTimestamp ?? 0).getTime() - new Date(b.metadata?.creationTimestamp ?? 0).getTime());
  }

  /** Events about the pod (scheduling, image pulls, kills…), oldest first. */
  async events(pod: V1Pod): Promise<CoreV1Event[]> {
    const namespace = pod.metadata?.namespace ?? '';
    const fieldSelector = [`involvedObject.kind=Pod`, `involvedObject.name=${pod.metadata?.name ?? ''}`, ...(pod.metadata?.uid ? [`involvedObject.uid=${pod.metadata.uid}`] : [])].join(',');
    const { items } = await this.#clients.core.listNamespacedEvent({ namespace, fieldSelector });
    const time = (e: CoreV1Event) => new Date(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? 0).getTime();
    return items.sort((a, b) => time(a) - time(b));
  }

  /** A container's log as it is now. */
  async log(pod: V1Pod, options: PodLogOptions): Promise<string> {
    return this.#clients.core.readNamespacedPodLog({
      namespace: pod.metadata?.namespace ?? '',
      name: pod.metadata?.name ?? '',
      container: options.container,
      ...(options.tailLines === undefined ? {} : { tailLines: options.tailLines }),
      ...(options.limitBytes === undefined ? {} : { limitBytes: options.limitBytes }),
    });
  }

  /** Streams a container's log as it is written until the container ends or `signal` aborts; never rejects. */
  follow(pod: V1Pod, options: PodLogOptions, onChunk: (chunk: Uint8Array) => void, signal: AbortSignal): Promise<LogRequestEnd> {
    return requestLog({
      kubeConfig: this.#clients.kubeConfig,
      namespace: pod.metadata?.namespace ?? '',
      pod: pod.metadata?.name ?? '',
      query: { container: options.container, follow: true, timestamps: false, ...(options.tailLines === undefined ? {} : { tailLines: options.tailLines }) },
      onChunk,
      idleTimeoutMs: 10 * 60_000,
      signal,
      permit: this.#clients.streamPermit,
    });
  }
}

/**
 * The try-pod reader for this config, connecting on first use; undefined when no cluster is configured
 * (the executor runs no pods and `kubernetesExecutor.kubernetesConnId` is empty).
 */
export function tryPodReaderFor(config: CapstanConfig, secrets: SecretsLookup): (() => Promise<TryPodReader>) | undefined {
  if (!usesWorkerPods(config) && config.kubernetesExecutor.kubernetesConnId === '') return undefined;
  let reader: Promise<TryPodReader> | undefined;
  return () => {
    reader ??= executorClusterClients(config, secrets).then((clients) => new TryPodReader(clients, workerNamespaces(config.kubernetesExecutor)));
    // A failed connection (a missing connection id) is tried again on the next request.
    reader.catch(() => (reader = undefined));
    return reader;
  };
}

/** The cluster a pod operator's try ran in, from the task's fields: its Kubernetes connection and namespace. */
export interface OperatorCluster {
  kubernetesConnId: string;
  /** The operator's `namespace` (rendered when the try stored its rendered fields); else the connection's. */
  namespace: string | undefined;
}

/**
 * A reader for the cluster a pod operator reached through its own `kubernetesConnId` — often not the
 * executor's — looking in the namespace the operator used, resolved as the operator resolves it (operator →
 * connection → in-cluster file → `default`). A new client per call: the connection may have changed since.
 */
export async function operatorTryPodReader(secrets: SecretsLookup, target: OperatorCluster): Promise<TryPodReader> {
  const { createKubeClients, parseKubernetesConnection, resolveKubeConfig, resolveNamespace } = await import('../../kubernetes/index.ts');
  const connection = parseKubernetesConnection(await secrets.requireConnection(target.kubernetesConnId));
  const namespace = resolveNamespace({ operatorNamespace: target.namespace, connection });
  const clients = createKubeClients(resolveKubeConfig(connection), {
    ...(connection.qps === undefined ? {} : { qps: connection.qps }),
    ...(connection.burst === undefined ? {} : { burst: connection.burst }),
    ...(connection.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: connection.requestTimeoutMs }),
    defaultNamespace: namespace,
  });
  return new TryPodReader(clients, { all: false, namespaces: [namespace] });
}
