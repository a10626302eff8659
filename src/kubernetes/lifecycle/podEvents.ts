/**
 * Streams the Kubernetes Events of one pod (list-then-watch on `involvedObject.name`/`uid`) into a
 * callback, each occurrence once: an event object repeated by the server (count bumped, or re-listed
 * after a reconnect) is delivered again only when its count grew.
 */
import type { CoreV1Api, CoreV1Event, Watch } from '@kubernetes/client-node';
import { runListWatch } from '../watch/listWatch.ts';

/** A pod event as delivered to the task log. */
export interface PodEvent {
  type: string;
  reason: string;
  message: string;
  /** Component that reported it (scheduler, kubelet…). */
  source: string;
  count: number;
}

/** Options of {@link streamPodEvents}. */
export interface PodEventsOptions {
  core: CoreV1Api;
  watch: Watch;
  namespace: string;
  pod: string;
  uid?: string;
  onEvent: (event: PodEvent) => void;
  onRetry?: (error: unknown, attempt: number) => void;
  signal: AbortSignal;
}

/** Renders an event as one task-log line. */
export function formatPodEvent(e: PodEvent): string {
  const times = e.count > 1 ? ` (x${e.count})` : '';
  return `${e.type} ${e.reason}${e.source ? ` from ${e.source}` : ''}: ${e.message}${times}`;
}

/** Decides which event occurrences are new; pure. */
export class EventDeduper {
  readonly #seen = new Map<string, number>();

  /** The event to deliver, or undefined when this occurrence was already delivered. */
  admit(e: CoreV1Event): PodEvent | undefined {
    const key = e.metadata?.uid ?? `${e.reason}|${e.message}|${e.firstTimestamp?.toString() ?? ''}`;
    const count = e.series?.count ?? e.count ?? 1;
    const before = this.#seen.get(key);
    if (before !== undefined && count <= before) return undefined;
    this.#seen.set(key, count);
    return {
      type: e.type ?? 'Normal',
      reason: e.reason ?? '',
      message: e.message ?? '',
      source: e.reportingComponent || e.source?.component || '',
      count,
    };
  }
}

/** Runs until `signal` aborts. */
export async function streamPodEvents(options: PodEventsOptions): Promise<void> {
  const { namespace, pod } = options;
  const fieldSelector = [`involvedObject.name=${pod}`, ...(options.uid ? [`involvedObject.uid=${options.uid}`] : [])].join(',');
  const deduper = new EventDeduper();
  const deliver = (e: CoreV1Event): void => {
    const event = deduper.admit(e);
    if (event !== undefined) options.onEvent(event);
  };
  const sorted = (items: CoreV1Event[]): CoreV1Event[] => [...items].sort((a, b) =>
    time(a) - time(b));
  await runListWatch<CoreV1Event>({
    watch: options.watch,
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
    fieldSelector,
    list: () => options.core.listNamespacedEvent({ namespace, fieldSelector }),
    onList: (items) => sorted(items).forEach(deliver),
    onEvent: (type, e) => {
      if (type !== 'DELETED') deliver(e);
    },
    onRetry: options.onRetry,
    signal: options.signal,
  });
}

function time(e: CoreV1Event): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t === undefined ? 0 : new Date(t).getTime();
}
