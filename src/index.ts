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
export type { SerializedTrigger, Trigger, TriggerEnv, TriggerEvent, TriggerLogger } from './triggers/index.ts';
export {
  DateTimeTrigger,
  FileTrigger,
  HttpTrigger,
  TaskDeferralError,
  TaskDeferralTimeout,
  TimeDeltaTrigger,
  triggerClasspath,
  type HttpResponseInfo,
} from './triggers/index.ts';
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
