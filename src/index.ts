/**
 * Capstan's public API: everything a DAG author imports from `capstan`.
 */
export * from './sdk/index.ts';
export { TaskSkipped, TaskFailFast, CapstanError, DagDefinitionError } from './core/errors.ts';
export type { JsonValue, JsonObject } from './core/serialized.ts';
export { systemClock, type Clock, type SleepOptions } from './core/clock.ts';
export type { TriggerRule } from './core/triggerRules.ts';
export { KubernetesPodOperator, type KubernetesPodOperatorOptions } from './kubernetes/operators/podOperator.ts';
export {
  KubernetesDeleteJobOperator,
  KubernetesJobOperator,
  KubernetesPatchJobOperator,
  type KubernetesDeleteJobOperatorOptions,
  type KubernetesJobOperatorOptions,
  type KubernetesPatchJobOperatorOptions,
} from './kubernetes/operators/jobOperator.ts';
export { SparkKubernetesOperator, type SparkKubernetesOperatorOptions } from './kubernetes/operators/sparkOperator.ts';
export {
  KubernetesCreateResourceOperator,
  KubernetesDeleteResourceOperator,
  type KubernetesCreateResourceOperatorOptions,
  type KubernetesDeleteResourceOperatorOptions,
} from './kubernetes/operators/resourceOperator.ts';
export { Secret } from './kubernetes/pod/secret.ts';
