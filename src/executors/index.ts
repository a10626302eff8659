/**
 * Executors: the Executor interface the scheduler queues tries to, the LocalExecutor (worker processes), the
 * LocalKubernetesExecutor (routes by queue) and the task environment allow-list. Other folders import them
 * through this module, or through two declared entries (lint: eslint-rules/noDeepImports.js):
 * kubernetes/index.ts, the KubernetesExecutor, imported lazily when `core.executor` names it (it loads
 * @kubernetes/client-node), and kubernetes/workerPods.ts, the worker-pod readers and YAML without the executor.
 *
 * @example
 * import { LocalExecutor, taskEnvironment, type Executor } from '../executors/index.ts';
 * const executor: Executor = new LocalExecutor(options);
 */
export * from './local/index.ts';
export * from './localKubernetesExecutor.ts';
export * from './taskEnv.ts';
export type * from './types.ts';
