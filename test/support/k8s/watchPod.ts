// Awaiting pod states through a real watch (no polling, no sleeps).
import { CoreV1Api, Watch } from '@kubernetes/client-node';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';

/**
 * Resolves with the pod once `predicate` holds for it, watching from the
 * current state; rejects after `timeoutMs` with the last state seen.
 *
 * @example
 * const done = await waitForPod(kc, ns, 'p', (p) => p.status?.phase === 'Succeeded');
 */
export async function waitForPod(
  kc: KubeConfig,
  namespace: string,
  name: string,
  predicate: (pod: V1Pod) => boolean,
  timeoutMs = 30_000,
): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  const list = await core.listNamespacedPod({ namespace, fieldSelector: `metadata.name=${name}` });
  let last: V1Pod | undefined = list.items[0];
  if (last !== undefined && predicate(last)) return last;
  const watch = new Watch(kc);
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<V1Pod>((resolve, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`pod ${namespace}/${name} did not reach the expected state in ${timeoutMs} ms; ` +
          `last status: ${JSON.stringify(last?.status ?? null)}`));
      }, timeoutMs);
      watch
        .watch(
          `/api/v1/namespaces/${namespace}/pods`,
          { fieldSelector: `metadata.name=${name}`, resourceVersion: list.metadata?.resourceVersion },
          (type: string, pod: V1Pod) => {
            if (type === 'ERROR') return;
            last = pod;
            if (predicate(pod)) resolve(pod);
          },
          (err: unknown) => {
            if (err) reject(err instanceof Error ? err : new Error(String(err)));
            else reject(new Error(`watch on pod ${namespace}/${name} closed before the expected state`));
          },
        )
        .then((c) => (controller = c), reject);
    });
  } finally {
    clearTimeout(timer);
    controller?.abort();
  }
}

/** Phase predicate: the pod has reached `phase`. */
export const inPhase = (phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed') =>
  (pod: V1Pod): boolean => pod.status?.phase === phase;
