/**
 * What happens to a pod once its task is done (`onFinishAction`, Airflow's semantics), and the two
 * writes it needs: delete with a grace period, or label the pod as checked so no later try adopts it.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { isPodTerminal } from './podState.ts';
import type { PodEnd } from './podEnd.ts';

/** Label set on a pod whose result was consumed; such a pod is never reattached to. */
export const ALREADY_CHECKED_LABEL = 'capstan.dev/already-checked';

/**
 * - `delete_pod` (default): always delete.
 * - `delete_succeeded_pod`: delete when the base container succeeded, else keep (marked checked).
 * - `keep_pod`: never delete (marked checked).
 * - `delete_active_pod`: delete only a pod still Pending or Running (e.g. a sidecar kept it alive, or
 *   it never started), keep a finished one (marked checked).
 */
export type OnFinishAction = 'delete_pod' | 'delete_succeeded_pod' | 'keep_pod' | 'delete_active_pod';

/** All values, for config validation. */
export const ON_FINISH_ACTIONS: readonly OnFinishAction[] = ['delete_pod', 'delete_succeeded_pod', 'keep_pod', 'delete_active_pod'];

/** What to do with the pod. */
export interface FinishPlan {
  delete: boolean;
  markChecked: boolean;
}

/** Decides the finish action's effect; pure. */
export function finishPlan(action: OnFinishAction, pod: V1Pod | undefined, end: PodEnd): FinishPlan {
  if (end.kind === 'deleted') return { delete: false, markChecked: false };
  switch (action) {
    case 'delete_pod':
      return { delete: true, markChecked: false };
    case 'delete_succeeded_pod':
      return end.kind === 'succeeded' ? { delete: true, markChecked: false } : { delete: false, markChecked: true };
    case 'keep_pod':
      return { delete: false, markChecked: true };
    case 'delete_active_pod': {
      const active = pod !== undefined && !isPodTerminal(pod);
      return active ? { delete: true, markChecked: false } : { delete: false, markChecked: true };
    }
  }
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 404;
}

/** Deletes the pod (404 ignored). `gracePeriodSeconds` undefined uses the pod's own. */
export async function deletePod(core: CoreV1Api, namespace: string, name: string, gracePeriodSeconds?: number): Promise<void> {
  try {
    await core.deleteNamespacedPod({ namespace, name, ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }) });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** Labels the pod `capstan.dev/already-checked=true` (404 ignored). */
export async function markPodChecked(core: CoreV1Api, namespace: string, name: string): Promise<void> {
  try {
    await core.patchNamespacedPod(
      { namespace, name, body: { metadata: { labels: { [ALREADY_CHECKED_LABEL]: 'true' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
