/**
 * Keeps the latest state of one pod, fed by a list-then-watch on `metadata.name=<pod>`, and lets callers
 * await conditions on it (scheduled, started, finished…) without polling.
 */
import type { CoreV1Api, V1Pod, Watch } from '@kubernetes/client-node';
import { runListWatch } from '../watch/listWatch.ts';

/** The pod as last seen; `deleted` once the object is gone (then `pod` is its last snapshot). */
export interface PodSnapshot {
  readonly pod: V1Pod | undefined;
  readonly deleted: boolean;
}

/** Options of {@link PodWatcher.start}. */
export interface PodWatcherOptions {
  core: CoreV1Api;
  watch: Watch;
  namespace: string;
  name: string;
  /** Only this incarnation of the name counts; another uid means ours was deleted. */
  uid?: string;
  /** A snapshot to start from (e.g. the pod returned by create), so waits can be answered at once. */
  initial?: V1Pod;
  /** Told about watch retries, for the task log. */
  onRetry?: (error: unknown, attempt: number) => void;
  watchTimeoutSeconds?: number;
}

type Waiter = () => boolean;

/** Watches one pod until stopped. */
export class PodWatcher {
  #snapshot: PodSnapshot;
  readonly #uid: string | undefined;
  readonly #waiters = new Set<Waiter>();
  readonly #listeners = new Set<(s: PodSnapshot) => void>();
  readonly #stop = new AbortController();
  #done: Promise<void> = Promise.resolve();

  private constructor(initial: V1Pod | undefined, uid: string | undefined) {
    this.#snapshot = { pod: initial, deleted: false };
    this.#uid = uid ?? initial?.metadata?.uid;
  }

  /** Starts watching; call {@link stop} when done. */
  static start(options: PodWatcherOptions): PodWatcher {
    const w = new PodWatcher(options.initial, options.uid);
    const { namespace, name } = options;
    const fieldSelector = `metadata.name=${name}`;
    w.#done = runListWatch<V1Pod>({
      watch: options.watch,
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      fieldSelector,
      list: () => options.core.listNamespacedPod({ namespace, fieldSelector }),
      onList: (items) => {
        const mine = items.find((p) => w.#mine(p));
        w.#update(mine === undefined ? { pod: w.#snapshot.pod, deleted: w.#snapshot.pod !== undefined || w.#uid !== undefined } : { pod: mine, deleted: false });
      },
      onEvent: (type, pod) => {
        if (!w.#mine(pod)) {
          if (type !== 'DELETED' && w.#snapshot.pod !== undefined) w.#update({ pod: w.#snapshot.pod, deleted: true });
          return;
        }
        w.#update(type === 'DELETED' ? { pod, deleted: true } : { pod, deleted: false });
      },
      onRetry: options.onRetry,
      signal: w.#stop.signal,
      watchTimeoutSeconds: options.watchTimeoutSeconds,
    });
    return w;
  }

  /** The latest snapshot. */
  get snapshot(): PodSnapshot {
    return this.#snapshot;
  }

  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: (s: PodSnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves with the first non-undefined value of `check` on the current or a later snapshot, or with
   * `undefined` when `timeoutMs` passes or `signal` aborts first.
   */
  until<T>(check: (s: PodSnapshot) => T | undefined, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T | undefined> {
    const first = check(this.#snapshot);
    if (first !== undefined) return Promise.resolve(first);
    return new Promise<T | undefined>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (value: T | undefined): void => {
        this.#waiters.delete(waiter);
        if (timer !== undefined) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const waiter: Waiter = () => {
        const value = check(this.#snapshot);
        if (value === undefined) return false;
        settle(value);
        return true;
      };
      const onAbort = (): void => settle(undefined);
      if (options.signal?.aborted) return settle(undefined);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) timer = setTimeout(() => settle(undefined), Math.max(0, options.timeoutMs));
      this.#waiters.add(waiter);
    });
  }

  /** Stops the watch and waits for it to wind down. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#done;
  }

  #mine(pod: V1Pod): boolean {
    return this.#uid === undefined || pod.metadata?.uid === this.#uid;
  }

  #update(next: PodSnapshot): void {
    if (this.#snapshot.deleted && !next.deleted && next.pod?.metadata?.uid === this.#snapshot.pod?.metadata?.uid) return;
    this.#snapshot = next;
    for (const waiter of [...this.#waiters]) waiter();
    for (const listener of [...this.#listeners]) {
      try {
        listener(next);
      } catch {
        // A listener's failure must not stop the watch; listeners report their own errors.
      }
    }
  }
}
