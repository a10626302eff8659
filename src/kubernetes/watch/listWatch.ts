/**
 * List-then-watch for one kind of object, the way informers do it: list to get the current state and a
 * resourceVersion, then watch from that version; a watch that ends cleanly is resumed from the last
 * version seen (bookmarks included), a 410 Gone / Expired re-lists, any other failure retries with capped
 * exponential backoff. Never polls; never gives up until its signal aborts.
 */
import type { Watch } from '@kubernetes/client-node';
import { abortableDelay } from '../../core/index.ts';

/** A listed or watched Kubernetes object (only the metadata is read here). */
export interface Watched {
  metadata?: { resourceVersion?: string; uid?: string; name?: string };
}

/** Options of {@link runListWatch}. */
export interface ListWatchOptions<T extends Watched> {
  watch: Watch;
  /** Collection path, e.g. `/api/v1/namespaces/ns/pods`. */
  path: string;
  fieldSelector?: string;
  /** Label selector of the watch (the list must use the same). */
  labelSelector?: string;
  /** Lists the collection with the same selector. */
  list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  /** Called with the full list after every (re-)list. */
  onList: (items: T[]) => void;
  /** Called for each ADDED / MODIFIED / DELETED event. */
  onEvent: (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T) => void;
  /** Told about each failed attempt before the retry (for logging); never fatal. */
  onRetry?: (error: unknown, attempt: number) => void;
  signal: AbortSignal;
  /** Server-side watch timeout; below the client's 30 s inactivity limit so quiet watches end cleanly (default 25). */
  watchTimeoutSeconds?: number;
  /** Backoff bounds in ms (defaults 200 and 5000). */
  backoff?: { initialMs: number; maxMs: number };
}

type WatchEnd = { kind: 'closed' } | { kind: 'expired' } | { kind: 'failed'; error: unknown };

/** Capped exponential backoff with full jitter. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}

function statusCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { statusCode?: unknown; code?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  return typeof e.code === 'number' ? e.code : undefined;
}

/** Runs until `signal` aborts; resolves then. */
export async function runListWatch<T extends Watched>(options: ListWatchOptions<T>): Promise<void> {
  const { signal } = options;
  const { initialMs, maxMs } = options.backoff ?? { initialMs: 200, maxMs: 5000 };
  let resourceVersion: string | undefined;
  let attempt = 0;
  while (!signal.aborted) {
    try {
      if (resourceVersion === undefined) {
        const listed = await options.list();
        if (signal.aborted) return;
        resourceVersion = listed.metadata?.resourceVersion ?? '0';
        options.onList(listed.items);
      }
      let sawEvent = false;
      const startedAt = Date.now();
      const end = await watchOnce(options, resourceVersion, (rv) => {
        resourceVersion = rv;
        sawEvent = true;
      });
      // A watch that delivered something or lived a while was healthy; only watches that keep closing
      // at once (a misbehaving proxy) count towards the backoff, so a quiet pod's reconnects never delay
      // the event that ends it.
      const healthy = sawEvent || Date.now() - startedAt >= 1000;
      if (healthy) attempt = 0;
      if (end.kind === 'expired') {
        resourceVersion = undefined;
        continue;
      }
      if (end.kind === 'failed') throw end.error;
      if (!healthy) attempt += 1;
      if (attempt > 3) await abortableDelay(backoffMs(attempt - 3, initialMs, maxMs), signal);
    } catch (error) {
      if (signal.aborted) return;
      if (statusCode(error) === 410) resourceVersion = undefined;
      attempt += 1;
      options.onRetry?.(error, attempt);
      await abortableDelay(backoffMs(attempt, initialMs, maxMs), signal);
    }
  }
}

function watchOnce<T extends Watched>(
  options: ListWatchOptions<T>,
  resourceVersion: string,
  seen: (rv: string) => void,
): Promise<WatchEnd> {
  return new Promise<WatchEnd>((resolve) => {
    let end: WatchEnd | undefined;
    let controller: AbortController | undefined;
    // Stopping does not wait for the watch's done callback.
    const onAbort = (): void => {
      controller?.abort();
      finish({ kind: 'closed' });
    };
    const finish = (result: WatchEnd): void => {
      options.signal.removeEventListener('abort', onAbort);
      resolve(end ?? result);
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    const query: Record<string, string | number | boolean> = {
      resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: options.watchTimeoutSeconds ?? 25,
    };
    if (options.fieldSelector !== undefined) query.fieldSelector = options.fieldSelector;
    if (options.labelSelector !== undefined) query.labelSelector = options.labelSelector;
    options.watch
      .watch(options.path, query, (type: string, object: T & { code?: number }) => {
        if (end !== undefined) return;
        if (type === 'ERROR') {
          end = object.code === 410 ? { kind: 'expired' } : { kind: 'failed', error: object };
          controller?.abort();
          return;
        }
        const rv = object.metadata?.resourceVersion;
        if (rv !== undefined) seen(rv);
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') options.onEvent(type, object);
      }, (error: unknown) => {
        finish(error === null || error === undefined || options.signal.aborted ? { kind: 'closed' } : { kind: 'failed', error });
      })
      .then((c) => {
        controller = c;
        if (options.signal.aborted) c.abort();
      }, (error: unknown) => finish({ kind: 'failed', error }));
  });
}
