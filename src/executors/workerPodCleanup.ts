/**
 * Housekeeping of worker pods left in a namespace (`capstan kubernetes cleanup-pods`, Airflow's
 * `airflow kubernetes cleanup-pods`): pods kept for debugging (`deleteWorkerPodsOnFailure: false`), pods of
 * an executor that died before deleting them, and pods stuck Pending. Only this system's worker pods are
 * considered (`capstan.dev/kind=worker`, `app.kubernetes.io/managed-by=capstan`); a pod still Running belongs
 * to a try in progress and is never touched.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from '../kubernetes/clients.ts';
import { KubernetesApiError } from '../kubernetes/errors.ts';
import { POD_LABELS } from '../kubernetes/pod/names.ts';
import { WORKER_KIND } from './workerPodLogs.ts';

/** Label selector of every worker pod Capstan made. */
export const WORKER_POD_SELECTOR = `${POD_LABELS.kind}=${WORKER_KIND},${POD_LABELS.managedBy}=capstan`;

/** Why a pod is deleted. */
export type CleanupReason = 'succeeded' | 'failed' | 'evicted' | 'pending-too-long';

/** One pod the cleanup deletes (or would, in a dry run). */
export interface CleanupVictim {
  namespace: string;
  name: string;
  reason: CleanupReason;
  phase: string;
}

/**
 * The pods to delete among `pods`: Succeeded, Failed (Evicted named apart), and Pending since more than
 * `minPendingMs` before `now`. Pure.
 *
 * @example
 * planPodCleanup(pods, Date.now(), 30 * 60_000) // [{ name: 'etl-load-x1y2z3w4', reason: 'failed', ... }]
 */
export function planPodCleanup(pods: readonly V1Pod[], now: number, minPendingMs: number): CleanupVictim[] {
  const victims: CleanupVictim[] = [];
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp != null) continue; // already going
    const phase = pod.status?.phase ?? 'Unknown';
    const base = { namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', phase };
    if (phase === 'Succeeded') victims.push({ ...base, reason: 'succeeded' });
    else if (phase === 'Failed') victims.push({ ...base, reason: pod.status?.reason === 'Evicted' ? 'evicted' : 'failed' });
    else if (phase === 'Pending') {
      const created = pod.metadata?.creationTimestamp === undefined ? now : new Date(pod.metadata.creationTimestamp).getTime();
      if (now - created > minPendingMs) victims.push({ ...base, reason: 'pending-too-long' });
    }
  }
  return victims;
}

/** Options of {@link cleanupWorkerPods}. */
export interface CleanupOptions {
  namespace: string;
  /** A Pending pod older than this is deleted. */
  minPendingMs: number;
  now: number;
  /** List only; delete nothing. */
  dryRun?: boolean;
}

/**
 * Lists the namespace's worker pods (page by page) and deletes those {@link planPodCleanup} picks. A pod
 * already gone (404) counts as deleted. Returns what was (or, dry, would be) deleted.
 */
export async function cleanupWorkerPods(clients: KubeClients, o: CleanupOptions): Promise<CleanupVictim[]> {
  const pods: V1Pod[] = [];
  let _continue: string | undefined;
  do {
    const page = await clients.core.listNamespacedPod({ namespace: o.namespace, labelSelector: WORKER_POD_SELECTOR, limit: 500, ...(_continue ? { _continue } : {}) });
    pods.push(...page.items);
    _continue = page.metadata?._continue || undefined;
  } while (_continue !== undefined);
  const victims = planPodCleanup(pods, o.now, o.minPendingMs);
  if (o.dryRun) return victims;
  for (const v of victims) {
    try {
      await clients.core.deleteNamespacedPod({ namespace: v.namespace, name: v.name });
    } catch (err) {
      if (!(err instanceof KubernetesApiError && err.kind === 'not_found')) throw err;
    }
  }
  return victims;
}
