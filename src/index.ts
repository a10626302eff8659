/**
 * Capstan's public API: everything a DAG author imports from `capstan`.
 */
export * from './sdk/index.ts';
export {
  CapstanError,
  type Clock,
  DagDefinitionError,
  type SleepOptions,
  systemClock,
  TaskFailFast,
  TaskSkipped,
} from './core/index.ts';
export type { JsonObject, JsonValue, TriggerRule } from './core/index.ts';
export type { SerializedTrigger, Trigger, TriggerEnv, TriggerEvent, TriggerLogger } from './triggers/types.ts';
export { triggerClasspath } from './triggers/classpath.ts';
export { DateTimeTrigger, TimeDeltaTrigger } from './triggers/dateTime.ts';
export { FileTrigger } from './triggers/file.ts';
export { HttpTrigger, type HttpResponseInfo } from './triggers/http.ts';
export { TaskDeferralTimeout, TaskDeferralError } from './triggers/signals.ts';
export {
  KubernetesPodOperator,
  type KubernetesPodOperatorOptions,
  KubernetesDeleteJobOperator,
  KubernetesJobOperator,
  KubernetesPatchJobOperator,
  type KubernetesDeleteJobOperatorOptions,
  type KubernetesJobOperatorOptions,
  type KubernetesPatchJobOperatorOptions,
  SparkKubernetesOperator,
  type SparkKubernetesOperatorOptions,
  KubernetesCreateResourceOperator,
  KubernetesDeleteResourceOperator,
  type KubernetesCreateResourceOperatorOptions,
  type KubernetesDeleteResourceOperatorOptions,
} from './kubernetes/operators.ts';
export { Secret } from './kubernetes/pods.ts';
