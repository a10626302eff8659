/**
 * LocalKubernetesExecutor (Airflow's executor of the same name): tries of tasks on one queue
 * (`localKubernetesExecutor.kubernetesQueue`, default `kubernetes`) run in worker pods through the
 * KubernetesExecutor, every other try in a local task process through the LocalExecutor. Light tasks keep the
 * start-up speed of a local process; heavy or isolated ones get a pod of their own, chosen per task with
 * `queue: 'kubernetes'`.
 *
 * Each side is offered only what it has room for: a try routed to a side without an open slot waits here
 * (it is already `queued` for the scheduler) and is handed over on a later `sync`, so neither side runs more
 * than its own limit while the other idles.
 */
import type { TaskInstanceRow } from '../store/index.ts';
import type { Executor, ExecutorEvent, ExecutorStartContext, TaskWorkload } from './types.ts';

/** The executor's name, as `core.executor`. */
export const LOCAL_KUBERNETES_EXECUTOR_NAME = 'LocalKubernetesExecutor';

/** Options of {@link LocalKubernetesExecutor}. */
export interface LocalKubernetesExecutorOptions {
  local: Executor;
  kubernetes: Executor;
  /** Queue whose tasks run in pods. Default `kubernetes`. */
  kubernetesQueue?: string;
}

interface Side {
  executor: Executor;
  waiting: TaskWorkload[];
}

/**
 * @example
 * const executor = new LocalKubernetesExecutor({ local: new LocalExecutor({...}), kubernetes: createKubernetesExecutor({...}) });
 */
export class LocalKubernetesExecutor implements Executor {
  readonly name = LOCAL_KUBERNETES_EXECUTOR_NAME;
  readonly kubernetesQueue: string;
  readonly #local: Side;
  readonly #kubernetes: Side;
  readonly #events: ExecutorEvent[] = [];

  constructor(options: LocalKubernetesExecutorOptions) {
    this.kubernetesQueue = options.kubernetesQueue ?? 'kubernetes';
    this.#local = { executor: options.local, waiting: [] };
    this.#kubernetes = { executor: options.kubernetes, waiting: [] };
  }

  /** The executor that runs tries of `queue`. */
  executorFor(queue: string): Executor {
    return this.#sideFor(queue).executor;
  }

  async start(context?: ExecutorStartContext): Promise<void> {
    await this.#local.executor.start(context);
    await this.#kubernetes.executor.start(context);
  }

  openSlots(): number {
    return this.#room(this.#local) + this.#room(this.#kubernetes);
  }

  queueWorkloads(workloads: TaskWorkload[]): void {
    for (const w of workloads) this.#sideFor(w.queue).waiting.push(w);
    this.#handOver();
  }

  async sync(): Promise<ExecutorEvent[]> {
    const [local, kubernetes] = await Promise.all([this.#local.executor.sync(), this.#kubernetes.executor.sync()]);
    this.#handOver();
    return [...this.#events.splice(0), ...local, ...kubernetes];
  }

  async terminate(tiId: string, tryNumber: number, reason: string): Promise<void> {
    for (const side of [this.#local, this.#kubernetes]) {
      const i = side.waiting.findIndex((w) => w.tiId === tiId && w.tryNumber === tryNumber);
      if (i >= 0) {
        side.waiting.splice(i, 1);
        this.#events.push({ kind: 'exited', tiId, tryNumber, exitCode: null, signal: null, detail: `stopped before it started: ${reason}` });
        return;
      }
    }
    // Each side ignores tries it does not run.
    await Promise.all([this.#local.executor.terminate(tiId, tryNumber, reason), this.#kubernetes.executor.terminate(tiId, tryNumber, reason)]);
  }

  async tryAdopt(tis: TaskInstanceRow[]): Promise<TaskInstanceRow[]> {
    const toPods = tis.filter((ti) => ti.queue === this.kubernetesQueue);
    const toLocal = tis.filter((ti) => ti.queue !== this.kubernetesQueue);
    const [local, kubernetes] = await Promise.all([
      toLocal.length === 0 ? [] : this.#local.executor.tryAdopt(toLocal),
      toPods.length === 0 ? [] : this.#kubernetes.executor.tryAdopt(toPods),
    ]);
    return [...local, ...kubernetes];
  }

  async end(): Promise<void> {
    await Promise.all([this.#local.executor.end(), this.#kubernetes.executor.end()]);
  }

  #sideFor(queue: string): Side {
    return queue === this.kubernetesQueue ? this.#kubernetes : this.#local;
  }

  #room(side: Side): number {
    return Math.max(0, side.executor.openSlots() - side.waiting.length);
  }

  #handOver(): void {
    for (const side of [this.#local, this.#kubernetes]) {
      const n = Math.min(side.waiting.length, side.executor.openSlots());
      if (n > 0) side.executor.queueWorkloads(side.waiting.splice(0, n));
    }
  }
}
