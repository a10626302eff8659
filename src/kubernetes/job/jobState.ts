/**
 * Readings of a Job's status, pure: its end from the conditions, the label selector of its pods, the XCom
 * list in completion-index order, and the failure message. No I/O.
 */
import type { V1Job, V1JobCondition, V1LabelSelector, V1Pod } from '@kubernetes/client-node';
import { assertNever } from '../../core/index.ts';

/** How a Job ended, or why the task stopped waiting for it. */
export type JobEnd =
  /** `Complete`, or `SuccessCriteriaMet` (the controller then terminates the remaining pods and sets Complete). */
  | { kind: 'complete'; condition: 'Complete' | 'SuccessCriteriaMet' }
  /** `Failed`, or `FailureTarget` (set as soon as the failure is decided, before the pods are terminated). */
  | { kind: 'failed'; condition: 'Failed' | 'FailureTarget'; reason: string; message: string }
  /** A pod of the Job can never start (image pull, container config): the Job controller would wait forever. */
  | { kind: 'podCannotStart'; pod: string; container: string; reason: string; message: string }
  | { kind: 'deleted' }
  | { kind: 'killed'; reason: string };

function isTrue(c: V1JobCondition): boolean {
  return c.status === 'True';
}

/** The Job's end from its conditions, or `undefined` while it runs. Failure conditions win over success ones. */
export function jobEnd(job: V1Job | undefined, deleted = false): JobEnd | undefined {
  const conditions = (job?.status?.conditions ?? []).filter(isTrue);
  for (const type of ['Failed', 'FailureTarget'] as const) {
    const c = conditions.find((x) => x.type === type);
    if (c !== undefined) return { kind: 'failed', condition: type, reason: c.reason ?? type, message: c.message ?? '' };
  }
  for (const type of ['Complete', 'SuccessCriteriaMet'] as const) {
    if (conditions.some((x) => x.type === type)) return { kind: 'complete', condition: type };
  }
  return deleted ? { kind: 'deleted' } : undefined;
}

/**
 * A label selector string for `selector` (what the API server stored in `spec.selector`: generated from the
 * Job's uid, or the user's with manualSelector).
 */
export function selectorString(selector: V1LabelSelector | undefined): string {
  if (selector === undefined) throw new Error('the Job has no spec.selector (the API server sets one on create)');
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    switch (e.operator) {
      case 'In': parts.push(`${e.key} in (${values})`); break;
      case 'NotIn': parts.push(`${e.key} notin (${values})`); break;
      case 'Exists': parts.push(e.key); break;
      case 'DoesNotExist': parts.push(`!${e.key}`); break;
      default: throw new Error(`unknown label selector operator '${e.operator}' in spec.selector`);
    }
  }
  if (parts.length === 0) throw new Error('the Job selects every pod (empty spec.selector); give it matchLabels');
  return parts.join(',');
}

/** Annotation the Job controller puts on the pods of an Indexed Job. */
export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';

/** The completion index of a pod of an Indexed Job, else undefined. */
export function completionIndex(pod: V1Pod): number | undefined {
  const raw = pod.metadata?.annotations?.[COMPLETION_INDEX_ANNOTATION] ?? pod.metadata?.labels?.[COMPLETION_INDEX_ANNOTATION];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** One successful pod's XCom. */
export interface PodXcom {
  pod: string;
  index: number | undefined;
  /** When the base container finished (ms since epoch), for NonIndexed ordering. */
  finishedAt: number;
  value: unknown;
}

/**
 * The task's return value from the pods' XComs: the single value when the Job needs one completion,
 * otherwise a list in completion-index order (Indexed; the last success of an index wins) or in finishing
 * order (NonIndexed).
 */
export function collectXcom(job: V1Job, xcoms: readonly PodXcom[]): unknown {
  const completions = job.spec?.completions;
  const indexed = job.spec?.completionMode === 'Indexed';
  let ordered: unknown[];
  if (indexed) {
    const byIndex = new Map<number, PodXcom>();
    for (const x of xcoms) {
      if (x.index === undefined) continue;
      const seen = byIndex.get(x.index);
      if (seen === undefined || seen.finishedAt <= x.finishedAt) byIndex.set(x.index, x);
    }
    ordered = [...byIndex.entries()].sort(([a], [b]) => a - b).map(([, x]) => x.value);
  } else {
    ordered = [...xcoms].sort((a, b) => a.finishedAt - b.finishedAt || (a.pod < b.pod ? -1 : 1)).map((x) => x.value);
  }
  if (completions === 1 && ordered.length <= 1) return ordered[0] ?? null;
  return ordered;
}

/** A one-line description of the end, for the task log and failure messages. */
export function describeJobEnd(name: string, end: JobEnd): string {
  switch (end.kind) {
    case 'complete':
      return `job ${name} completed (${end.condition})`;
    case 'failed':
      return `job ${name} failed (${end.reason})${end.message ? `: ${end.message}` : ''}`;
    case 'podCannotStart':
      return `job ${name}: pod ${end.pod} cannot start, container ${end.container} ${end.reason}: ${end.message}`;
    case 'deleted':
      return `job ${name} was deleted before it finished`;
    case 'killed':
      return `job ${name} was deleted because the task was killed: ${end.reason}`;
    default:
      return assertNever(end, 'job end');
  }
}

/** The Job's status as a JSON value (the `job` XCom): dates as ISO strings. */
export function jobStatusValue(job: V1Job | undefined): unknown {
  if (job === undefined) return null;
  return JSON.parse(JSON.stringify({
    name: job.metadata?.name,
    namespace: job.metadata?.namespace,
    uid: job.metadata?.uid,
    spec: { completions: job.spec?.completions, parallelism: job.spec?.parallelism, completionMode: job.spec?.completionMode, backoffLimit: job.spec?.backoffLimit },
    status: job.status ?? {},
  })) as unknown;
}
