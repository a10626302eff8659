/**
 * Create the task's pod, or find the one an earlier try (or a crashed worker) left behind and reattach to
 * it, so a retry never runs the workload twice. A pod labelled `capstan.dev/already-checked=true` had its
 * result consumed and is never adopted; a pod being deleted is ignored.
 */
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { ALREADY_CHECKED_LABEL } from './cleanup.ts';

/** Labels the pod builder puts on a task's pod; the try number is left out of the search on purpose. */
export const TASK_IDENTITY_LABELS = ['capstan.dev/dag-id', 'capstan.dev/task-id', 'capstan.dev/run-id', 'capstan.dev/map-index'] as const;

/** The pod builder leaves the map-index label off unmapped tasks; the selector then requires it absent. */
const MAP_INDEX_LABEL = 'capstan.dev/map-index';

/**
 * Label selector finding earlier pods of the same task instance (any try), excluding checked ones.
 * Throws when `labels` lacks one of {@link TASK_IDENTITY_LABELS} (other than the map index, whose
 * absence marks an unmapped task).
 */
export function taskPodSelector(labels: Readonly<Record<string, string>>): string {
  const parts = TASK_IDENTITY_LABELS.map((key) => {
    const value = labels[key];
    if (value === undefined && key === MAP_INDEX_LABEL) return `!${key}`;
    if (value === undefined) throw new Error(`cannot search for the task's pod: label ${key} is missing`);
    return `${key}=${value}`;
  });
  return [...parts, `${ALREADY_CHECKED_LABEL}!=true`].join(',');
}

/** What to do given the pods found by {@link taskPodSelector}. Pure. */
export type ReattachChoice<T = V1Pod> =
  | { kind: 'create' }
  | { kind: 'reattach'; pod: T }
  | { kind: 'ambiguous'; names: string[] };

/** An object `choosePod` can choose among (pods, Jobs, custom resources: only the metadata is read). */
export interface ReattachCandidate {
  metadata?: { name?: string; deletionTimestamp?: Date | string; labels?: Record<string, string> };
}

/**
 * Reattach to the single live (not being deleted, not checked) candidate; none → create; several →
 * ambiguous. Works for any object carrying the task's labels (the Job operator chooses Jobs with it).
 */
export function choosePod<T extends ReattachCandidate = V1Pod>(found: readonly T[]): ReattachChoice<T> {
  const live = found.filter((p) => p.metadata?.deletionTimestamp === undefined && p.metadata?.labels?.[ALREADY_CHECKED_LABEL] !== 'true');
  if (live.length === 0) return { kind: 'create' };
  if (live.length === 1) return { kind: 'reattach', pod: live[0] as T };
  return { kind: 'ambiguous', names: live.map((p) => p.metadata?.name ?? '?') };
}

/** The pod to follow and how it was obtained. */
export interface CreatedPod {
  pod: V1Pod;
  reattached: boolean;
}

/** Thrown when the task's pod cannot be created or chosen; the message says what to do. */
export class PodConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PodConflictError';
  }
}

function sameLabels(a: V1Pod, b: V1Pod): boolean {
  return TASK_IDENTITY_LABELS.every((k) => a.metadata?.labels?.[k] === b.metadata?.labels?.[k]);
}

function code(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

/**
 * With `reattachSelector`, reattaches to an existing pod of the task when there is exactly one;
 * otherwise creates `pod`. A 409 on create (a fixed pod name reused) reattaches only to a pod of the same
 * task that was not checked.
 */
export async function createOrReattach(core: CoreV1Api, namespace: string, pod: V1Pod, reattachSelector?: string): Promise<CreatedPod> {
  if (reattachSelector !== undefined) {
    const found = await core.listNamespacedPod({ namespace, labelSelector: reattachSelector });
    const choice = choosePod(found.items);
    if (choice.kind === 'reattach') return { pod: choice.pod, reattached: true };
    if (choice.kind === 'ambiguous') {
      throw new PodConflictError(`found ${choice.names.length} unchecked pods of this task (${choice.names.join(', ')}); ` +
        `delete the stale ones or label them ${ALREADY_CHECKED_LABEL}=true`);
    }
  }
  const name = pod.metadata?.name ?? '';
  try {
    return { pod: await core.createNamespacedPod({ namespace, body: pod }), reattached: false };
  } catch (error) {
    if (code(error) !== 409) {
      // A create whose connection broke after sending may have happened: look before failing.
      const made = name === '' ? undefined : await core.readNamespacedPod({ namespace, name }).catch(() => undefined);
      if (made !== undefined && sameLabels(made, pod) && made.metadata?.labels?.[ALREADY_CHECKED_LABEL] !== 'true') {
        return { pod: made, reattached: false };
      }
      throw error;
    }
    const existing = await core.readNamespacedPod({ namespace, name });
    const sameTask = sameLabels(existing, pod);
    if (sameTask && choosePod([existing]).kind === 'reattach') return { pod: existing, reattached: true };
    throw new PodConflictError(`a pod named ${name} already exists in ${namespace}` +
      (sameTask ? ' and its result was already consumed' : ' and belongs to another task') +
      '; delete it, or let the pod name get a random suffix');
  }
}
