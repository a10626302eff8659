/** The DAG authoring API. */
export { dag, Dag, type DagOptions, type ParamSpec, type DagRunCallback, type DagRunCallbackContext } from './dag.ts';
export { BaseOperator, chain, type TaskOptions, type TaskCallback, type DependencyTarget, type ExecutorConfig } from './baseOperator.ts';
export { BashOperator, type BashOperatorOptions } from './bash.ts';
export { EmptyOperator } from './empty.ts';
export { task, TaskFlowOperator, type TaskFunction, type MappableTaskFunction, type TaskFlowOptions } from './taskflow.ts';
export { MappedOperator } from './mapping.ts';
export type { TaskMapping, TaskExpandInputs, TaskPartialInputs, TaskKwargsInput } from './taskflowMapping.ts';
export type { OperatorPartial, PartialOptions, ExpandInputs, MapInput } from './baseOperator.ts';
export { XComArg, type Resolvable } from './xcomArg.ts';
export { getCurrentContext } from './currentContext.ts';
export type { TaskContext, TaskConnection, TaskLogger } from './taskContext.ts';
export {
  BranchOperator,
  branchTask,
  LatestOnlyOperator,
  ShortCircuitOperator,
  shortCircuitTask,
  SkipDownstream,
  type BranchChoice,
  type BranchOperatorOptions,
  type LatestOnlyOperatorOptions,
  type ShortCircuitOperatorOptions,
  type ShortCircuitOptions,
} from './skipping.ts';
export type { DeferOptions, DeferralFailure } from './baseOperator.ts';
export * from './sensors/index.ts';
