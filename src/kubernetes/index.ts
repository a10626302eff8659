/**
 * The Kubernetes provider: cluster connections and the API client (rate limit, timeouts, retries, clear errors) in
 * client/, the generic list-watch in watch/, pod building and the pod lifecycle, Jobs, SparkApplications, any object
 * and the operators. Importing it loads `@kubernetes/client-node`; light callers import the light entry points
 * it re-exports, pods.ts and operators.ts (ARCHITECTURE.md in this folder, "Entry points").
 */
export * from './client/index.ts';
export * from './watch/index.ts';
export * from './pod/index.ts';
export * from './pods.ts';
export * from './lifecycle/index.ts';
export { KubernetesPodTrigger } from './lifecycle/podTrigger.ts';
export type { KubernetesPodTriggerKwargs, KubernetesPodTriggerPayload } from './lifecycle/podTrigger.ts';
export * from './job/index.ts';
export * from './spark/index.ts';
export * from './resources/index.ts';
export * from './operators.ts';
