/**
 * Housekeeping of task pods left in a namespace (`capstan kubernetes cleanup-pods`, Airflow's
 * `airflow kubernetes cleanup-pods`, which also covers both the executor's and the KubernetesPodOperator's pods):
 *
 * - KubernetesExecutor worker pods (`capstan.dev/kind=worker`): kept for debugging (`deleteWorkerPodsOnFailure:
 *   false`), left by an executor that died before deleting them — Succeeded, Failed, Evicted — or stuck Pending;
 * - KubernetesPodOperator pods (`capstan.dev/kind=pod-operator`): those the task let go of — kept by
 *   `onFinishAction` (`keep_pod`, a failed `delete_succeeded_pod`, a finished `delete_active_pod`) or left when a
 *   deletion failed, all labelled `capstan.dev/already-checked=true` — once finished, and any stuck Pending. A
 *   finished operator pod without that label is left alone: its task may still be reading its log or XCom, or a
 *   retry will reattach to it and consume its result instead of running the workload again.
 *
 * Only this system's pods are considered (`app.kubernetes.io/managed-by=capstan`); a Running pod belongs to a
 * try in progress and is never touched; Job and SparkApplication pods belong to their controllers.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from '../../kubernetes/index.ts';
import { KubernetesApiError, ALREADY_CHECKED_LABEL } from '../../kubernetes/index.ts';
import { POD_LABELS } from '../../kubernetes/pods.ts';
import { WORKER_KIND } from './workerPodLogs.ts';

/** `capstan.dev/kind` of KubernetesPodOperator pods. */
export const POD_OPERATOR_KIND = 'pod-operator';

/** The kinds of pod the cleanup considers. */
export type CleanupKind = typeof WORKER_KIND | typeof POD_OPERATOR_KIND;

/** Label selector of every pod the cleanup considers: worker and pod-operator pods Capstan made. */
export const CLEANUP_POD_SELECTOR = `${POD_LABELS.kind} in (${WORKER_KIND},${POD_OPERATOR_KIND}),${POD_LABELS.managedBy}=capstan`;

/** Why a pod is deleted. */
export type CleanupReason = 'succeeded' | 'failed' | 'evicted' | 'pending-too-long';

/** One pod the cleanup deletes (or would, in a dry run). */
export interface CleanupVictim {
  namespace: string;
  name: string;
  kind: CleanupKind;
  reason: CleanupReason;
  phase: string;
}

function isCleanupKind(kind: string | undefined): kind is CleanupKind {
  return kind === WORKER_KIND || kind === POD_OPERATOR_KIND;
}

function finishedReason(pod: V1Pod, phase: string): CleanupReason | undefined {
  if (phase === 'Succeeded') return 'succeeded';
  if (phase === 'Failed') return pod.status?.reason === 'Evicted' ? 'evicted' : 'failed';
  return undefined;
}

/**
 * The pods to delete among `pods`: worker pods that Succeeded or Failed (Evicted named apart), operator pods that
 * did so and are labelled already-checked, and either kind Pending since more than `minPendingMs` before `now`.
 * Pods of other kinds are ignored. Pure.
 *
 * @example
 * planPodCleanup(pods, Date.now(), 30 * 60_000) // [{ name: 'etl-load-x1y2z3w4', kind: 'worker', reason: 'failed', ... }]
 */
export function planPodCleanup(pods: readonly V1Pod[], now: number, minPendingMs: number): CleanupVictim[] {
  const victims: CleanupVictim[] = [];
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp != null) continue; // already going
    const kind = pod.metadata?.labels?.[POD_LABELS.kind];
    if (!isCleanupKind(kind)) continue;
    const phase = pod.status?.phase ?? 'Unknown';
    const base = { namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', kind, phase };
    const finished = finishedReason(pod, phase);
    if (finished !== undefined) {
      if (kind === WORKER_KIND || pod.metadata?.labels?.[ALREADY_CHECKED_LABEL] === 'true') victims.push({ ...base, reason: finished });
    } else if (phase === 'Pending') {
      const created = pod.metadata?.creationTimestamp === undefined ? now : new Date(pod.metadata.creationTimestamp).getTime();
      if (now - created > minPendingMs) victims.push({ ...base, reason: 'pending-too-long' });
    }
  }
  return victims;
}

/** Options of {@link cleanupPods}. */
export interface CleanupOptions {
  namespace: string;
  /** A Pending pod older than this is deleted. */
  minPendingMs: number;
  now: number;
  /** List only; delete nothing. */
  dryRun?: boolean;
}

/**
 * Lists the namespace's worker and pod-operator pods (page by page) and deletes those {@link planPodCleanup}
 * picks. A pod already gone (404) counts as deleted. Returns what was (or, dry, would be) deleted.
 */
export async function cleanupPods(clients: KubeClients, o: CleanupOptions): Promise<CleanupVictim[]> {
  const pods: V1Pod[] = [];
  let _continue: string | undefined;
  do {
    const page = await clients.core.listNamespacedPod({ namespace: o.namespace, labelSelector: CLEANUP_POD_SELECTOR, limit: 500, ...(_continue ? { _continue } : {}) });
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
