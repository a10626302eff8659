/**
 * The LocalExecutor: every task try in a local task process (reused warm processes, at most `parallelism`
 * at once). The composition root builds it; the scheduler drives it through the `Executor` face.
 *
 * @example
 * ```ts
 * import { LocalExecutor } from '../executors/local/index.ts';
 * const executor = new LocalExecutor({
 *   parallelism: 4, warmProcesses: 0, executionApiUrl, baseLogFolder, tokens, killGraceMs: 5000, now: Date.now, logger,
 * });
 * ```
 */
export { LocalExecutor } from './localExecutor.ts';
export type { LocalExecutorOptions } from './localExecutor.ts';
