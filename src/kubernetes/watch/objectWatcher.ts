/**
 * The latest state of one named object of any kind (a Job, a SparkApplication, any custom resource), fed by a
 * list-then-watch on `metadata.name=<name>` (listWatch.ts: resumes from the last version, re-lists
 * on 410, retries with backoff). Callers await conditions on it with {@link ObjectWatcher.until} — no polling.
 * The pod lifecycle's `PodWatcher` is the same idea specialised to pods.
 */
import type { Watch } from '@kubernetes/client-node';
import { runListWatch } from './listWatch.ts';

/** Any Kubernetes object (only the metadata is read here). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; deletionTimestamp?: Date | string; creationTimestamp?: Date | string };
}

/** The object as last seen; `deleted` once it is gone (then `object` is its last snapshot). */
export interface ObjectSnapshot<T> {
  readonly object: T | undefined;
  readonly deleted: boolean;
}

/** Options of {@link ObjectWatcher.start}. */
export interface ObjectWatcherOptions<T> {
  watch: Watch;
  /** Collection path, e.g. `/apis/batch/v1/namespaces/ns/jobs`. */
  path: string;
  name: string;
  /** Lists the collection with `fieldSelector` (the watcher passes `metadata.name=<name>`). */
  list: (fieldSelector: string) => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  /** Only this incarnation counts: another uid means ours was deleted. Default: the initial object's. */
  uid?: string | undefined;
  initial?: T | undefined;
  onRetry?: ((error: unknown, attempt: number) => void) | undefined;
}

/** Watches one object until stopped. */
export class ObjectWatcher<T extends KubeObject> {
  #snapshot: ObjectSnapshot<T>;
  readonly #uid: string | undefined;
  readonly #waiters = new Set<() => void>();
  readonly #stop = new AbortController();
  #done: Promise<void> = Promise.resolve();

  private constructor(initial: T | undefined, uid: string | undefined) {
    this.#snapshot = { object: initial, deleted: false };
    this.#uid = uid ?? initial?.metadata?.uid;
  }

  /** Starts watching; call {@link stop} when done. */
  static start<T extends KubeObject>(options: ObjectWatcherOptions<T>): ObjectWatcher<T> {
    const w = new ObjectWatcher<T>(options.initial, options.uid);
    const fieldSelector = `metadata.name=${options.name}`;
    w.#done = runListWatch<T>({
      watch: options.watch,
      path: options.path,
      fieldSelector,
      list: () => options.list(fieldSelector),
      onList: (items) => {
        const mine = items.find((o) => w.#mine(o));
        w.#update(mine === undefined
          ? { object: w.#snapshot.object, deleted: w.#snapshot.object !== undefined || w.#uid !== undefined }
          : { object: mine, deleted: false });
      },
      onEvent: (type, object) => {
        if (!w.#mine(object)) {
          if (type !== 'DELETED' && w.#snapshot.object !== undefined) w.#update({ object: w.#snapshot.object, deleted: true });
          return;
        }
        w.#update({ object, deleted: type === 'DELETED' });
      },
      onRetry: options.onRetry,
      signal: w.#stop.signal,
    });
    return w;
  }

  /** The latest snapshot. */
  get snapshot(): ObjectSnapshot<T> {
    return this.#snapshot;
  }

  /**
   * Resolves with the first non-undefined value of `check` on the current or a later snapshot, or `undefined`
   * when `timeoutMs` passes or `signal` aborts first.
   */
  until<R>(check: (s: ObjectSnapshot<T>) => R | undefined, options: { timeoutMs?: number | undefined; signal?: AbortSignal | undefined } = {}): Promise<R | undefined> {
    const first = check(this.#snapshot);
    if (first !== undefined) return Promise.resolve(first);
    return new Promise<R | undefined>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (value: R | undefined): void => {
        this.#waiters.delete(waiter);
        if (timer !== undefined) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const waiter = (): void => {
        const value = check(this.#snapshot);
        if (value !== undefined) settle(value);
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

  #mine(object: T): boolean {
    return this.#uid === undefined || object.metadata?.uid === this.#uid;
  }

  #update(next: ObjectSnapshot<T>): void {
    if (this.#snapshot.deleted && !next.deleted && next.object?.metadata?.uid === this.#snapshot.object?.metadata?.uid) return;
    this.#snapshot = next;
    for (const waiter of [...this.#waiters]) waiter();
  }
}
