/**
 * Light entry of the executors folder: the worker-pod pieces the API, the roles and the CLI need without the
 * KubernetesExecutor — a try's pods and their logs (tryPods.ts, workerPodLogs.ts) and the worker-pod YAML of
 * `kubernetes generate-dag-yaml`. It loads no @kubernetes/client-node (those modules import it lazily, only
 * when they talk to a cluster).
 *
 * @example
 * import { tryPodReaderFor, usesWorkerPods } from '../executors/kubernetes/workerPods.ts';
 * const pods = usesWorkerPods(config) ? tryPodReaderFor(config, secrets) : undefined;
 */
export * from './tryPods.ts';
export * from './workerPodLogs.ts';
export * from './workerPodYaml.ts';
