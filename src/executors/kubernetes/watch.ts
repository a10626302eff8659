/**
 * Watching worker pods: one list-then-watch per watched namespace (or one for all), selecting this executor's
 * pods that are not done; 410 re-lists, and a re-list reconciles (a tracked pod missing from it is gone).
 */
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { errorMessage } from '../../core/index.ts';
import { runListWatch } from '../../kubernetes/index.ts';
import { POD_LABELS } from '../../kubernetes/pods.ts';
import { onSnapshot } from './judging.ts';
import type { ExecutorState } from './state.ts';
import { WORKER_LABELS } from './workerPod.ts';

function selector(s: ExecutorState): string {
  return `${POD_LABELS.kind}=${WORKER_LABELS.kindValue},${WORKER_LABELS.executorId}=${s.ownerLabel},${WORKER_LABELS.done}!=true`;
}

/** Lists then watches this executor's pods in `namespace` ('' = all) until the executor stops. */
export function watchPods(s: ExecutorState, namespace: string): Promise<void> {
  const core: CoreV1Api = s.clients.core;
  const labelSelector = selector(s);
  return runListWatch<V1Pod>({
    watch: s.clients.watch,
    path: namespace === '' ? '/api/v1/pods' : `/api/v1/namespaces/${namespace}/pods`,
    labelSelector,
    list: async () => {
      s.listStarted.set(namespace, performance.now());
      return namespace === '' ? core.listPodForAllNamespaces({ labelSelector }) : core.listNamespacedPod({ namespace, labelSelector });
    },
    onList: (pods) => reconcile(s, namespace, pods),
    onEvent: (type, pod) => onSnapshot(s, pod, type === 'DELETED'),
    onRetry: (error, attempt) => {
      s.metrics?.watchRestarts.inc({ namespace: namespace || '(all)' });
      s.o.logger.warn({ namespace: namespace || '(all)', attempt, err: errorMessage(error) }, 'worker pod watch failed; reconnecting');
    },
    signal: s.stop.signal,
  });
}

/** After a (re-)list: every listed pod is a snapshot; a tracked pod the list should contain but lacks is gone. */
function reconcile(s: ExecutorState, namespace: string, pods: V1Pod[]): void {
  const listed = new Set<string>();
  for (const pod of pods) {
    listed.add(`${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`);
    onSnapshot(s, pod, false);
  }
  const listStarted = s.listStarted.get(namespace) ?? 0;
  for (const t of [...s.tracked.values()]) {
    if (t.stage !== 'created' || t.pod === undefined || (namespace !== '' && t.pod.namespace !== namespace)) continue;
    if (t.createdAt > listStarted || listed.has(`${t.pod.namespace}/${t.pod.name}`)) continue;
    const last: V1Pod = t.last ?? { metadata: { name: t.pod.name, namespace: t.pod.namespace } };
    onSnapshot(s, last, true, true);
  }
}
