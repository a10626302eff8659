/**
 * The running task's context, reachable from anywhere in its call tree (Airflow's
 * `get_current_context()`), so TaskFlow functions keep plain typed parameters.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { CapstanError } from '../core/index.ts';
import type { TaskContext } from './taskContext.ts';

const storage = new AsyncLocalStorage<TaskContext>();

export function runWithTaskContext<T>(ctx: TaskContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

/** The context of the task being executed; throws outside a task. */
export function getCurrentContext(): TaskContext {
  const ctx = storage.getStore();
  if (!ctx) throw new CapstanError('invalid_argument', 'getCurrentContext() called outside a running task');
  return ctx;
}
