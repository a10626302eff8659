/**
 * What the KubernetesExecutor's parts share: the tries it tracks (one {@link Tracked} per try, keyed by
 * {@link key}), the events waiting for `sync()`, its identity and connection, and the few pod actions every
 * part uses. The parts (launch.ts, watch.ts, judging.ts, adoption.ts) are functions over one
 * {@link ExecutorState}; executor.ts owns it.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { FailureReason } from '../../core/index.ts';
import type { KubeClients } from '../../kubernetes/index.ts';
import { POD_LABELS } from '../../kubernetes/pods.ts';
import type { ExecutorEvent, TaskWorkload } from '../types.ts';
import { kubernetesExecutorMetrics, type KubernetesExecutorMetrics } from './metrics.ts';
import type { KubernetesExecutorConnection, KubernetesExecutorOptions } from './options.ts';
import { deleteWorkerPod, finishWorkerPod, warningEventLines } from './podActions.ts';
import { watchedNamespaces } from './settings.ts';
import { executorIdLabel, TI_ID_ANNOTATION, type WatchedNamespaces } from './workerPod.ts';

export type Stage =
  /** In the create queue (first launch, retry after a refusal, or relaunch). */
  | 'waiting'
  /** The create request is in flight. */
  | 'creating'
  /** The pod exists; the watch follows it. */
  | 'created'
  /** Stopped by terminate(); events are ignored, the pod is being deleted. */
  | 'killed';

/** One try the executor is responsible for, from `queueWorkloads` (or adoption) until it is reported. */
export interface Tracked {
  workload: TaskWorkload;
  stage: Stage;
  /** Name and namespace of the current pod (set before the create, so watch events can match it). */
  pod: { name: string; namespace: string } | undefined;
  createRetries: number;
  relaunches: number;
  /** Not created again before this (epoch ms). */
  notBefore: number;
  /** performance.now() when the try was handed over (latency metric). */
  handedAt: number;
  /** performance.now() when the create returned (a re-list started before it cannot know the pod). */
  createdAt: number;
  /** Epoch ms of the create (pending timeout when no creationTimestamp is known). */
  createdAtMs: number;
  started: boolean;
  last: V1Pod | undefined;
  /** `last` came from a DELETED event (kept for a snapshot that arrived while the create was in flight). */
  lastDeleted: boolean;
  /** A relaunch or report is being decided (async DB read): further snapshots wait for it. */
  busy: boolean;
}

/** The key of a try in {@link ExecutorState.tracked}. */
export function key(tiId: string, tryNumber: number): string {
  return `${tiId}#${tryNumber}`;
}

/** The key of the try a worker pod runs (from its annotations), or undefined for a pod without them. */
export function keyOfPod(pod: V1Pod): string | undefined {
  const a = pod.metadata?.annotations ?? {};
  const tiId = a[TI_ID_ANNOTATION];
  const tryNumber = a[POD_LABELS.tryNumber];
  return tiId === undefined || tryNumber === undefined ? undefined : key(tiId, Number(tryNumber));
}

/** Handles one snapshot of a pod: `deleted`, the pod is gone; `force`, it is a tracked pod's last known state. */
export type OnSnapshot = (pod: V1Pod, deleted: boolean, force?: boolean) => void;

/** The state of one KubernetesExecutor, shared by its parts. */
export class ExecutorState {
  readonly o: KubernetesExecutorOptions;
  readonly tracked = new Map<string, Tracked>();
  readonly events: ExecutorEvent[] = [];
  readonly watched: WatchedNamespaces;
  readonly metrics: KubernetesExecutorMetrics | undefined;
  readonly stop = new AbortController();
  /**
   * Where a snapshot goes (judging.ts's `onSnapshot`); launch.ts replays through it a pod the watch
   * delivered while its create was in flight.
   */
  readonly onSnapshot: OnSnapshot;
  connection: KubernetesExecutorConnection | undefined;
  executorId = '';
  inFlight = 0;
  pumpTimer: NodeJS.Timeout | undefined;
  checkTimer: NodeJS.Timeout | undefined;
  sweeping = false;
  watches: Promise<void>[] = [];
  /** Per watched namespace ('' = all): performance.now() when its latest list started. */
  readonly listStarted = new Map<string, number>();

  constructor(options: KubernetesExecutorOptions, onSnapshot: OnSnapshot) {
    this.o = options;
    this.onSnapshot = onSnapshot;
    this.watched = watchedNamespaces(options.settings);
    this.metrics = options.registry === undefined ? undefined : kubernetesExecutorMetrics(options.registry);
  }

  /** The `capstan.dev/executor-id` label value of this executor's pods. */
  get ownerLabel(): string {
    return executorIdLabel(this.executorId);
  }

  /** The client set (after start). */
  get clients(): KubeClients {
    if (this.connection === undefined) throw new Error('KubernetesExecutor: start() first');
    return this.connection.clients;
  }

  /** The try could not get a pod that runs: stop tracking it and report `launchFailed`. */
  launchFailed(t: Tracked, reason: string, retryable: boolean, failure?: FailureReason): void {
    this.tracked.delete(key(t.workload.tiId, t.workload.tryNumber));
    this.o.logger.warn({ tiId: t.workload.tiId, tryNumber: t.workload.tryNumber, reason, failureKind: failure?.kind }, 'worker pod launch failed');
    this.events.push({ kind: 'launchFailed', tiId: t.workload.tiId, tryNumber: t.workload.tryNumber, reason, retryable, ...(failure ? { failure } : {}) });
  }

  // ---- pod I/O (podActions.ts) -------------------------------------------------------------------

  podEvents(t: Tracked): Promise<string[]> {
    return t.pod === undefined ? Promise.resolve([]) : warningEventLines(this.clients.core, t.pod.namespace, t.pod.name);
  }

  cleanup(namespace: string, name: string, failed: boolean): Promise<void> {
    return finishWorkerPod(this.clients.core, this.o.settings, { namespace, name, failed }, this.o.logger);
  }

  deletePod(namespace: string, name: string): Promise<void> {
    return deleteWorkerPod(this.clients.core, namespace, name, this.o.logger);
  }
}
