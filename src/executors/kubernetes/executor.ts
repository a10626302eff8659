/**
 * KubernetesExecutor: every task try runs in its own worker pod (see ARCHITECTURE.md in this folder). This
 * class is the `Executor` face; its parts are functions over one {@link ExecutorState} (state.ts):
 *
 * - **Launching** (launch.ts): tries wait in a queue; a bounded number of creates are in flight, retryable
 *   refusals back off and retry, the rest fail the try with the API's message.
 * - **Watching** (watch.ts): one list-then-watch per watched namespace (or one for all), selecting this
 *   executor's pods; 410 re-lists, and a re-list reconciles (a tracked pod missing from it is gone).
 * - **Judging** (judging.ts): a pod's end is reported as an `exited` event; the scheduler fails the try only if
 *   the task never reported its own outcome (the Execution API is the truth). A pod that ended before its task
 *   claimed the try, for a cluster reason (eviction, node drain, deletion), is relaunched without costing a retry.
 * - **Adoption** (adoption.ts): pods of dead schedulers are found by their labels and relabelled to this executor.
 */
import type { KubeClients } from '../../kubernetes/index.ts';
import type { TaskInstanceRow } from '../../store/index.ts';
import type { Executor, ExecutorEvent, ExecutorStartContext, TaskWorkload } from '../types.ts';
import { adoptPods, sweepOrphans } from './adoption.ts';
import { checkPending, onSnapshot } from './judging.ts';
import { pump } from './launch.ts';
import { KUBERNETES_EXECUTOR_NAME, type KubernetesExecutorOptions } from './options.ts';
import { ExecutorState, key } from './state.ts';
import { watchPods } from './watch.ts';

export class KubernetesExecutor implements Executor {
  readonly name = KUBERNETES_EXECUTOR_NAME;
  readonly #s: ExecutorState;

  constructor(options: KubernetesExecutorOptions) {
    const s: ExecutorState = new ExecutorState(options, (pod, deleted, force) => onSnapshot(s, pod, deleted, force));
    this.#s = s;
  }

  /** This executor's id (the scheduler's job id); its pods' owner label is `executorIdLabel` of it. */
  get executorId(): string {
    return this.#s.executorId;
  }

  /** The client set (after start). */
  get clients(): KubeClients {
    return this.#s.clients;
  }

  async start(context: ExecutorStartContext = {}): Promise<void> {
    const s = this.#s;
    s.executorId = context.jobId ?? `capstan-${crypto.randomUUID()}`;
    s.connection = await s.o.connect();
    const namespaces = s.watched.kind === 'all' ? [''] : s.watched.namespaces;
    for (const ns of namespaces) s.watches.push(watchPods(s, ns));
    s.checkTimer = setInterval(() => {
      void checkPending(s);
      void sweepOrphans(s);
    }, s.o.settings.podCheckIntervalMs);
    s.checkTimer.unref();
    s.o.logger.info({ executorId: s.executorId, namespaces: namespaces.map((n) => n || '(all)') }, 'KubernetesExecutor started');
  }

  openSlots(): number {
    return Math.max(0, this.#s.o.parallelism - this.#s.tracked.size);
  }

  queueWorkloads(workloads: TaskWorkload[]): void {
    const now = performance.now();
    for (const w of workloads) {
      const k = key(w.tiId, w.tryNumber);
      if (this.#s.tracked.has(k)) continue;
      this.#s.tracked.set(k, {
        workload: w, stage: 'waiting', pod: undefined, createRetries: 0, relaunches: 0, notBefore: 0, handedAt: now,
        createdAt: 0, createdAtMs: 0, started: false, last: undefined, lastDeleted: false, busy: false,
      });
    }
    pump(this.#s);
  }

  async sync(): Promise<ExecutorEvent[]> {
    this.#updateGauges();
    return this.#s.events.splice(0, this.#s.events.length);
  }

  async terminate(tiId: string, tryNumber: number, reason: string): Promise<void> {
    const t = this.#s.tracked.get(key(tiId, tryNumber));
    if (t === undefined) return;
    this.#s.o.logger.info({ tiId, tryNumber, reason, pod: t.pod?.name }, 'stopping worker pod');
    const wasCreated = t.stage === 'created';
    t.stage = 'killed';
    this.#s.tracked.delete(key(tiId, tryNumber));
    // A create still in flight deletes its pod when it returns (see launch.ts).
    if (wasCreated && t.pod !== undefined) await this.#s.deletePod(t.pod.namespace, t.pod.name);
  }

  tryAdopt(tis: TaskInstanceRow[]): Promise<TaskInstanceRow[]> {
    return adoptPods(this.#s, tis);
  }

  async end(): Promise<void> {
    const s = this.#s;
    s.stop.abort();
    if (s.pumpTimer) clearTimeout(s.pumpTimer);
    if (s.checkTimer) clearInterval(s.checkTimer);
    await Promise.all(s.watches);
    const waiting = [...s.tracked.values()].filter((t) => t.stage === 'waiting').length;
    // Pods keep running and report through the Execution API; tries not yet launched stay queued and are
    // re-queued by whichever scheduler adopts this one's work.
    if (waiting > 0) s.o.logger.warn({ waiting }, 'KubernetesExecutor stopped with tries not yet launched');
  }

  #updateGauges(): void {
    const metrics = this.#s.metrics;
    if (metrics === undefined) return;
    let pending = 0;
    let running = 0;
    for (const t of this.#s.tracked.values()) {
      if (t.stage !== 'created') continue;
      if (t.last?.status?.phase === 'Running') running++;
      else pending++;
    }
    metrics.pods.set({ state: 'pending' }, pending);
    metrics.pods.set({ state: 'running' }, running);
  }
}
