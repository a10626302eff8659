/**
 * The executor's few writes and reads on worker pods, as small functions over a `CoreV1Api`: delete, keep
 * (label done), take over (relabel), list, read the Warning events. 404 on a delete or a label means the pod is
 * already gone, which is what the caller wanted.
 */
import { PatchStrategy, setHeaderOptions, type CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { errorMessage } from '../../core/index.ts';
import { KubernetesApiError } from '../../kubernetes/index.ts';
import { executorIdLabel, WORKER_LABELS, type WatchedNamespaces } from './workerPod.ts';

/** Request options that send a JSON merge patch (client-node defaults to JSON Patch). */
function mergePatch(): ReturnType<typeof setHeaderOptions> {
  return setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
}

function isNotFound(err: unknown): boolean {
  return err instanceof KubernetesApiError && err.kind === 'not_found';
}

/** Deletes a pod (its own grace period); failures other than 404 are logged, not thrown. */
export async function deleteWorkerPod(core: CoreV1Api, namespace: string, name: string, logger: Logger): Promise<void> {
  try {
    await core.deleteNamespacedPod({ namespace, name });
  } catch (err) {
    if (!isNotFound(err)) logger.warn({ pod: name, err: errorMessage(err) }, 'could not delete a worker pod');
  }
}

/**
 * A finished pod: deleted when `deleteWorkerPods` (and, for a failed try, `deleteWorkerPodsOnFailure`), otherwise
 * kept and labelled `capstan.dev/done=true`, which takes it out of the watch and of adoption.
 */
export async function finishWorkerPod(
  core: CoreV1Api,
  policy: { deleteWorkerPods: boolean; deleteWorkerPodsOnFailure: boolean },
  pod: { namespace: string; name: string; failed: boolean },
  logger: Logger,
): Promise<void> {
  if (pod.namespace === '' || pod.name === '') return;
  if (policy.deleteWorkerPods && (!pod.failed || policy.deleteWorkerPodsOnFailure)) {
    await deleteWorkerPod(core, pod.namespace, pod.name, logger);
    return;
  }
  try {
    await core.patchNamespacedPod({ namespace: pod.namespace, name: pod.name, body: { metadata: { labels: { [WORKER_LABELS.done]: 'true' } } } }, mergePatch());
  } catch (err) {
    if (!isNotFound(err)) logger.warn({ pod: pod.name, err: errorMessage(err) }, 'could not label a kept worker pod done');
  }
}

/**
 * Takes a pod over: its owner label becomes `executorId`'s label value and its owner annotation the exact id.
 * The patch carries the pod's resourceVersion, so of two
 * schedulers adopting the same pod only one succeeds (the other gets 409). Undefined when it could not.
 */
export async function adoptWorkerPod(core: CoreV1Api, pod: V1Pod, executorId: string, logger: Logger): Promise<V1Pod | undefined> {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? '';
  try {
    return await core.patchNamespacedPod(
      { namespace, name, body: { metadata: {
        resourceVersion: pod.metadata?.resourceVersion,
        labels: { [WORKER_LABELS.executorId]: executorIdLabel(executorId) },
        annotations: { [WORKER_LABELS.executorId]: executorId },
      } } },
      mergePatch(),
    );
  } catch (err) {
    logger.warn({ pod: name, err: errorMessage(err) }, 'could not adopt a worker pod');
    return undefined;
  }
}

/** Pods matching `labelSelector` in the watched namespaces. */
export async function listWorkerPods(core: CoreV1Api, watched: WatchedNamespaces, labelSelector: string): Promise<V1Pod[]> {
  if (watched.kind === 'all') return (await core.listPodForAllNamespaces({ labelSelector })).items;
  const out: V1Pod[] = [];
  for (const namespace of watched.namespaces) out.push(...(await core.listNamespacedPod({ namespace, labelSelector })).items);
  return out;
}

/** The pod's last Warning events as failure-message lines (best effort: an error leaves them out). */
export async function warningEventLines(core: CoreV1Api, namespace: string, name: string): Promise<string[]> {
  try {
    const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
    const lines = list.items.filter((e) => e.type === 'Warning').map((e) => `  ${e.type} ${e.reason ?? ''}: ${e.message ?? ''}`);
    return lines.length > 0 ? ['events:', ...lines.slice(-10)] : [];
  } catch {
    return [];
  }
}
