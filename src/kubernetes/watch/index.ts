/**
 * List-then-watch for any kind of object, the way informers do it (resume from the last version, re-list on
 * 410 Gone, retry with capped backoff), and {@link ObjectWatcher}: the latest state of one named object, awaited
 * without polling. Used by the pod, Job, Spark and resource lifecycles and the KubernetesExecutor's pod watch.
 *
 * @example
 * ```ts
 * import { ObjectWatcher } from './watch/index.ts';
 * const job = ObjectWatcher.start<V1Job>({
 *   watch: clients.watch, path: `/apis/batch/v1/namespaces/${namespace}/jobs`, name,
 *   list: (fieldSelector) => clients.batch.listNamespacedJob({ namespace, fieldSelector }),
 * });
 * const finished = await job.until((s) => s.object?.status?.completionTime, { signal });
 * await job.stop();
 * ```
 */
export { runListWatch } from './listWatch.ts';
export type { ListWatchOptions, Watched } from './listWatch.ts';
export { ObjectWatcher } from './objectWatcher.ts';
export type { KubeObject, ObjectSnapshot, ObjectWatcherOptions } from './objectWatcher.ts';
