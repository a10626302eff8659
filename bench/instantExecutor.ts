/**
 * An executor that completes every try the moment the scheduler syncs with it, through the same
 * TaskLifecycle verbs the Execution API uses. With it, a benchmark measures the scheduler and the store,
 * not task processes.
 */
import { hostname } from 'node:os';
import type { TaskLifecycle } from '../src/services/taskLifecycle.ts';
import type { Executor, ExecutorEvent, TaskWorkload } from '../src/executors/types.ts';
import type { TaskInstanceRow } from '../src/store/schema.ts';

export class InstantExecutor implements Executor {
  readonly name = 'InstantExecutor';
  readonly #lifecycle: TaskLifecycle;
  readonly #slots: number;
  #pending: TaskWorkload[] = [];
  completed = 0;
  /** Tries whose start was refused (must stay empty: each try is queued once). */
  readonly refused: string[] = [];

  constructor(lifecycle: TaskLifecycle, slots: number) {
    this.#lifecycle = lifecycle;
    this.#slots = slots;
  }

  async start(): Promise<void> {}

  openSlots(): number {
    return this.#slots - this.#pending.length;
  }

  queueWorkloads(workloads: TaskWorkload[]): void {
    this.#pending.push(...workloads);
  }

  async sync(): Promise<ExecutorEvent[]> {
    const batch = this.#pending;
    this.#pending = [];
    const host = hostname();
    for (const w of batch) {
      const key = { tiId: w.tiId, tryNumber: w.tryNumber };
      const started = await this.#lifecycle.start(key, { hostname: host, pid: process.pid });
      if (!started.ok) {
        this.refused.push(`${w.taskId}#${w.tryNumber}: ${started.reason}`);
        continue;
      }
      await this.#lifecycle.finish(key, { kind: 'success' });
      this.completed++;
    }
    return [];
  }

  async terminate(): Promise<void> {}

  async tryAdopt(tis: TaskInstanceRow[]): Promise<TaskInstanceRow[]> {
    return tis;
  }

  async end(): Promise<void> {}
}
