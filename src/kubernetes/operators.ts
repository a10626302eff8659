/**
 * The provider's light entry point for DAG authors: the operator classes. Every DAG file imports `capstan`
 * (src/index.ts), so these load no `@kubernetes/client-node`: each operator imports its runtime (client,
 * lifecycle) on its first execute or dry run. index.ts re-exports them; see ARCHITECTURE.md, "Entry points".
 *
 * @example
 * ```ts
 * import { KubernetesPodOperator } from '../kubernetes/operators.ts';
 * new KubernetesPodOperator({ taskId: 'hello', image: 'busybox:1.36', cmds: ['echo', 'hello'] });
 * ```
 */
export { KubernetesPodOperator, TASK_OPTION_KEYS } from './operators/podOperator.ts';
export type { KubernetesPodOperatorOptions } from './operators/podOperator.ts';
export { KubernetesDeleteJobOperator, KubernetesJobOperator, KubernetesPatchJobOperator } from './operators/jobOperator.ts';
export type { KubernetesDeleteJobOperatorOptions, KubernetesJobOperatorOptions, KubernetesPatchJobOperatorOptions } from './operators/jobOperator.ts';
export { SparkKubernetesOperator } from './operators/sparkOperator.ts';
export type { SparkKubernetesOperatorOptions } from './operators/sparkOperator.ts';
export { KubernetesCreateResourceOperator, KubernetesDeleteResourceOperator } from './operators/resourceOperator.ts';
export type { KubernetesCreateResourceOperatorOptions, KubernetesDeleteResourceOperatorOptions } from './operators/resourceOperator.ts';
