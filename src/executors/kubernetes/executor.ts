/**
 * KubernetesExecutor: every task try runs in its own worker pod (see ARCHITECTURE.md in this folder).
 *
 * - **Launching**: tries wait in a queue; up to `podCreationConcurrency` creates are in flight at once, each
 *   through the client's token-bucket rate limiter. Retryable refusals (quota exceeded, 409, 429, 5xx, no
 *   answer) go back to the queue with capped exponential backoff, up to `podCreationMaxRetries`; the rest (422,
 *   RBAC, a missing namespace, a bad template) fail the try with the API's message.
 * - **Watching**: one list-then-watch per watched namespace (or one for all), selecting this executor's
 *   pods; 410 re-lists, and a re-list reconciles (a tracked pod missing from it is gone).
 * - **Judging**: a pod's end is reported as an `exited` event; the scheduler fails the try only if the task
 *   never reported its own outcome (the Execution API is the truth). A pod that ended before its task claimed
 *   the try, for a cluster reason (eviction, node drain, deletion), is relaunched without costing a retry.
 * - **Adoption**: pods of dead schedulers are found by their labels and relabelled to this executor.
 */
import type { FailureReason } from '../../core/failureReason.ts';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { TaskTokenIssuer } from '../../auth/taskToken.ts';
import { errorMessage } from '../../core/errors.ts';
import type { JsonObject } from '../../core/serialized.ts';
import type { SerializedDagCache } from '../../engine/dagCache.ts';
import type { KubeClients } from '../../kubernetes/clients.ts';
import { KubernetesApiError } from '../../kubernetes/errors.ts';
import { runListWatch } from '../../kubernetes/lifecycle/listWatch.ts';
import { isImageWaitingReason, isPodTerminal } from '../../kubernetes/lifecycle/podState.ts';
import type { Manifest } from '../../kubernetes/pod/merge.ts';
import type { PodMutationHook } from '../../kubernetes/pod/mutationHook.ts';
import { POD_LABELS } from '../../kubernetes/pod/names.ts';
import { JobRegistry, tiPosition, tryRowState, type MetadataDb, type TaskInstanceRow } from '../../store/index.ts';
import type { Executor, ExecutorEvent, ExecutorStartContext, TaskWorkload } from '../types.ts';
import { kubernetesExecutorMetrics, type KubernetesExecutorMetrics } from './metrics.ts';
import { adoptWorkerPod, deleteWorkerPod, finishWorkerPod, listWorkerPods, warningEventLines } from './podActions.ts';
import { describeEnd, describePending, isRelaunchable, judgePod } from './podVerdict.ts';
import { failureOfPodEnd } from '../../kubernetes/lifecycle/podEnd.ts';
import type { KubernetesExecutorSettings } from './settings.ts';
import { watchedNamespaces } from './settings.ts';
import { buildWorkerPod, executorIdLabel, podOwner, TI_ID_ANNOTATION, WORKER_LABELS, type WatchedNamespaces } from './workerPod.ts';

/** The executor's name, stored on the task instances it runs and used as `core.executor`. */
export const KUBERNETES_EXECUTOR_NAME = 'KubernetesExecutor';

/** Everything the executor needs; built by the composition root (src/app/roles.ts). */
export interface KubernetesExecutorOptions {
  settings: KubernetesExecutorSettings;
  /**
   * Called once by start(): connects to the cluster (resolves the connection, builds the rate-limited client)
   * and loads what the config names (pod template, mutation hook), so bad settings fail the start.
   */
  connect: () => Promise<KubernetesExecutorConnection>;
  executionApiUrl: string;
  tokens: TaskTokenIssuer;
  /** Read to learn whether a try was claimed and how it ended (the executor never writes task state). */
  db: MetadataDb;
  /** Source of each task's `executorConfig`. */
  dags: SerializedDagCache;
  /** `core.parallelism`: tries queued or running in pods at once. */
  parallelism: number;
  now: () => number;
  logger: Logger;
  /** Registry for the executor's metrics (the scheduler's /metrics). */
  registry?: Registry | undefined;
  /**
   * A scheduler whose heartbeat is older than this is dead (`scheduler.healthCheckThresholdMs`): the pods it
   * left whose tries are over are cleaned up by the orphan sweep — a live one only once its try has been over this
   * long (before, it is taken to be finishing: shipping the rest of its log and exiting). Default 30 s.
   */
  healthCheckThresholdMs?: number | undefined;
  /** Env added to every worker pod's base container (the factory passes the mutation hook setting). */
  workerEnv?: Readonly<Record<string, string>> | undefined;
  /** Pins pod name suffixes (tests). */
  randomSuffix?: (() => string) | undefined;
  /** First create-retry backoff; doubles up to `createBackoffMaxMs`. Defaults 500 ms and 30 s. */
  createBackoffMs?: number;
  createBackoffMaxMs?: number;
}

/** What start() obtains from {@link KubernetesExecutorOptions.connect}. */
export interface KubernetesExecutorConnection {
  clients: KubeClients;
  /** The parsed `kubernetesExecutor.podTemplateFile` (undefined: none). */
  baseTemplate?: Manifest | undefined;
  podMutationHook?: PodMutationHook | undefined;
}

type Stage =
  /** In the create queue (first launch, retry after a refusal, or relaunch). */
  | 'waiting'
  /** The create request is in flight. */
  | 'creating'
  /** The pod exists; the watch follows it. */
  | 'created'
  /** Stopped by terminate(); events are ignored, the pod is being deleted. */
  | 'killed';

interface Tracked {
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

function key(tiId: string, tryNumber: number): string {
  return `${tiId}#${tryNumber}`;
}

function keyOfPod(pod: V1Pod): string | undefined {
  const a = pod.metadata?.annotations ?? {};
  const tiId = a[TI_ID_ANNOTATION];
  const tryNumber = a[POD_LABELS.tryNumber];
  return tiId === undefined || tryNumber === undefined ? undefined : key(tiId, Number(tryNumber));
}

/** Extra lifetime of a worker pod's token beyond its pending and execution timeouts. */
const TOKEN_MARGIN_MS = 15 * 60_000;

/** Create refusals worth another attempt: capacity, contention or a server that did not answer properly. */
const RETRYABLE_CREATE = new Set(['quota_exceeded', 'conflict', 'too_many_requests', 'server_error', 'network']);

export class KubernetesExecutor implements Executor {
  readonly name = KUBERNETES_EXECUTOR_NAME;
  readonly #o: KubernetesExecutorOptions;
  readonly #tracked = new Map<string, Tracked>();
  readonly #events: ExecutorEvent[] = [];
  readonly #watched: WatchedNamespaces;
  readonly #metrics: KubernetesExecutorMetrics | undefined;
  readonly #stop = new AbortController();
  #connection: KubernetesExecutorConnection | undefined;
  #executorId = '';
  #inFlight = 0;
  #pumpTimer: NodeJS.Timeout | undefined;
  #checkTimer: NodeJS.Timeout | undefined;
  #sweeping = false;
  #watches: Promise<void>[] = [];
  /** Per watched namespace ('' = all): performance.now() when its latest list started. */
  readonly #listStarted = new Map<string, number>();

  constructor(options: KubernetesExecutorOptions) {
    this.#o = options;
    this.#watched = watchedNamespaces(options.settings);
    this.#metrics = options.registry === undefined ? undefined : kubernetesExecutorMetrics(options.registry);
  }

  /** This executor's id (the scheduler's job id); its pods' owner label is {@link executorIdLabel} of it. */
  get executorId(): string {
    return this.#executorId;
  }

  /** The `capstan.dev/executor-id` label value of this executor's pods. */
  get #ownerLabel(): string {
    return executorIdLabel(this.#executorId);
  }

  /** The client set (after start). */
  get clients(): KubeClients {
    if (this.#connection === undefined) throw new Error('KubernetesExecutor: start() first');
    return this.#connection.clients;
  }

  async start(context: ExecutorStartContext = {}): Promise<void> {
    this.#executorId = context.jobId ?? `capstan-${crypto.randomUUID()}`;
    this.#connection = await this.#o.connect();
    const namespaces = this.#watched.kind === 'all' ? [''] : this.#watched.namespaces;
    for (const ns of namespaces) this.#watches.push(this.#watch(ns));
    this.#checkTimer = setInterval(() => {
      void this.#checkPending();
      void this.#sweepOrphans();
    }, this.#o.settings.podCheckIntervalMs);
    this.#checkTimer.unref();
    this.#o.logger.info({ executorId: this.#executorId, namespaces: namespaces.map((n) => n || '(all)') }, 'KubernetesExecutor started');
  }

  openSlots(): number {
    return Math.max(0, this.#o.parallelism - this.#tracked.size);
  }

  queueWorkloads(workloads: TaskWorkload[]): void {
    const now = performance.now();
    for (const w of workloads) {
      const k = key(w.tiId, w.tryNumber);
      if (this.#tracked.has(k)) continue;
      this.#tracked.set(k, {
        workload: w, stage: 'waiting', pod: undefined, createRetries: 0, relaunches: 0, notBefore: 0, handedAt: now,
        createdAt: 0, createdAtMs: 0, started: false, last: undefined, lastDeleted: false, busy: false,
      });
    }
    this.#pump();
  }

  async sync(): Promise<ExecutorEvent[]> {
    this.#updateGauges();
    return this.#events.splice(0, this.#events.length);
  }

  async terminate(tiId: string, tryNumber: number, reason: string): Promise<void> {
    const t = this.#tracked.get(key(tiId, tryNumber));
    if (t === undefined) return;
    this.#o.logger.info({ tiId, tryNumber, reason, pod: t.pod?.name }, 'stopping worker pod');
    const wasCreated = t.stage === 'created';
    t.stage = 'killed';
    this.#tracked.delete(key(tiId, tryNumber));
    // A create still in flight deletes its pod when it returns (see #create).
    if (wasCreated && t.pod !== undefined) await this.#deletePod(t.pod.namespace, t.pod.name);
  }

  async tryAdopt(tis: TaskInstanceRow[]): Promise<TaskInstanceRow[]> {
    const byKey = new Map<string, V1Pod>();
    for (const pod of await listWorkerPods(this.clients.core, this.#watched, `${POD_LABELS.kind}=${WORKER_LABELS.kindValue},${WORKER_LABELS.done}!=true`)) {
      const k = keyOfPod(pod);
      if (k !== undefined && pod.metadata?.deletionTimestamp === undefined) byKey.set(k, pod);
    }
    const notAdopted: TaskInstanceRow[] = [];
    const deadOwners = new Set(tis.map((t) => t.queued_by_job_id).filter((id): id is string => id !== null));
    const adoptedKeys = new Set<string>();
    for (const ti of tis) {
      const k = key(ti.id, ti.try_number);
      if (this.#tracked.has(k)) continue;
      const pod = byKey.get(k);
      if (pod === undefined) {
        notAdopted.push(ti);
        continue;
      }
      const relabelled = await adoptWorkerPod(this.clients.core, pod, this.#executorId, this.#o.logger);
      if (relabelled === undefined) {
        notAdopted.push(ti);
        continue;
      }
      adoptedKeys.add(k);
      const w: TaskWorkload = {
        tiId: ti.id, tryNumber: ti.try_number, dagId: ti.dag_id, runId: ti.run_id, taskId: ti.task_id, mapIndex: ti.map_index,
        queue: ti.queue, priorityWeight: ti.priority_weight, fileloc: '', executionTimeoutMs: null,
      };
      const name = relabelled.metadata?.name ?? '';
      const namespace = relabelled.metadata?.namespace ?? '';
      const now = performance.now();
      this.#tracked.set(k, {
        workload: w, stage: 'created', pod: { name, namespace }, createRetries: 0, relaunches: 0, notBefore: 0, handedAt: now,
        createdAt: now, createdAtMs: this.#o.now(), started: false, last: undefined, lastDeleted: false, busy: false,
      });
      this.#metrics?.adoptions.inc();
      this.#onSnapshot(relabelled, false);
    }
    // Pods the dead schedulers left for tries that are no longer theirs (finished, or re-queued as a new try):
    // nobody will ever report them, so clean them up by the deletion policy.
    for (const [k, pod] of byKey) {
      const owner = podOwner(pod);
      if (owner === undefined || !deadOwners.has(owner) || adoptedKeys.has(k) || this.#tracked.has(k)) continue;
      const [ns, name] = [pod.metadata?.namespace ?? '', pod.metadata?.name ?? ''];
      // A live one runs a try that is no longer current (it cannot report): stop it.
      if (isPodTerminal(pod)) await this.#cleanup(ns, name, pod.status?.phase !== 'Succeeded');
      else await this.#deletePod(ns, name);
    }
    if (adoptedKeys.size > 0) this.#o.logger.info({ adopted: adoptedKeys.size }, 'adopted worker pods of dead schedulers');
    return notAdopted;
  }

  async end(): Promise<void> {
    this.#stop.abort();
    if (this.#pumpTimer) clearTimeout(this.#pumpTimer);
    if (this.#checkTimer) clearInterval(this.#checkTimer);
    await Promise.all(this.#watches);
    const waiting = [...this.#tracked.values()].filter((t) => t.stage === 'waiting').length;
    // Pods keep running and report through the Execution API; tries not yet launched stay queued and are
    // re-queued by whichever scheduler adopts this one's work.
    if (waiting > 0) this.#o.logger.warn({ waiting }, 'KubernetesExecutor stopped with tries not yet launched');
  }

  // ---- launching -------------------------------------------------------------------------------------

  #pump(): void {
    if (this.#stop.signal.aborted) return;
    const now = this.#o.now();
    let next = Infinity;
    for (const t of this.#tracked.values()) {
      if (this.#inFlight >= this.#o.settings.podCreationConcurrency) break;
      if (t.stage !== 'waiting') continue;
      if (t.notBefore > now) {
        next = Math.min(next, t.notBefore);
        continue;
      }
      this.#inFlight++;
      t.stage = 'creating';
      void this.#create(t).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
    if (next !== Infinity) {
      if (this.#pumpTimer) clearTimeout(this.#pumpTimer);
      this.#pumpTimer = setTimeout(() => this.#pump(), Math.max(1, next - now));
      this.#pumpTimer.unref();
    }
  }

  async #create(t: Tracked): Promise<void> {
    const w = t.workload;
    let pod: V1Pod;
    try {
      pod = t.pod === undefined ? await this.#build(w) : await this.#build(w, t.pod.name);
    } catch (err) {
      this.#metrics?.podCreateFailures.inc({ reason: 'invalid_pod' });
      this.#launchFailed(t, `the worker pod cannot be built: ${errorMessage(err)}`, false);
      return;
    }
    // The name is kept across create retries: a create whose answer was lost may have happened, and the
    // retry's 409 then means "created", never a second pod for the try.
    t.pod = { name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '' };
    const started = performance.now();
    try {
      await this.clients.core.createNamespacedPod({ namespace: t.pod.namespace, body: pod });
    } catch (err) {
      const kind = err instanceof KubernetesApiError ? err.kind : 'network';
      if (kind !== 'already_exists') {
        this.#metrics?.podCreateFailures.inc({ reason: kind });
        this.#createRefused(t, err, kind);
        return;
      }
    }
    this.#metrics?.createDuration.observe((performance.now() - started) / 1000);
    this.#metrics?.podsCreated.inc();
    this.#metrics?.queuedToCreated.observe((performance.now() - t.handedAt) / 1000);
    if (t.stage === 'killed') {
      await this.#deletePod(t.pod.namespace, t.pod.name);
      return;
    }
    t.stage = 'created';
    t.createdAt = performance.now();
    t.createdAtMs = this.#o.now();
    // The watch may have delivered the pod before the create returned.
    if (t.last !== undefined) this.#onSnapshot(t.last, t.lastDeleted);
  }

  #createRefused(t: Tracked, err: unknown, kind: string): void {
    if (t.stage === 'killed') return;
    const message = errorMessage(err);
    if (RETRYABLE_CREATE.has(kind) && t.createRetries < this.#o.settings.podCreationMaxRetries) {
      t.createRetries++;
      const base = this.#o.createBackoffMs ?? 500;
      const cap = this.#o.createBackoffMaxMs ?? 30_000;
      const delay = Math.min(cap, base * 2 ** (t.createRetries - 1));
      t.notBefore = this.#o.now() + Math.round(delay / 2 + Math.random() * (delay / 2));
      t.stage = 'waiting';
      this.#o.logger.warn({ tiId: t.workload.tiId, tryNumber: t.workload.tryNumber, kind, retry: t.createRetries, err: message }, 'worker pod create refused; will retry');
      return;
    }
    const why = RETRYABLE_CREATE.has(kind) ? ` (gave up after ${t.createRetries} retries)` : '';
    this.#launchFailed(t, `worker pod create refused: ${message}${why}`, RETRYABLE_CREATE.has(kind));
  }

  async #build(w: TaskWorkload, name?: string): Promise<V1Pod> {
    const executorConfig = await this.#executorConfigOf(w);
    const pod = buildWorkerPod({
      workload: w,
      executorId: this.#executorId,
      executionApiUrl: this.#o.executionApiUrl,
      token: this.#o.tokens.issue(w.tiId, w.tryNumber, this.#o.now(), this.#tokenTtlMs(w)),
      namespace: this.#o.settings.namespace,
      watched: this.#watched,
      multiNamespaceMode: this.#o.settings.multiNamespaceMode,
      image: this.#o.settings.workerContainerImage,
      baseTemplate: this.#connection?.baseTemplate,
      executorConfig,
      podMutationHook: this.#connection?.podMutationHook,
      env: this.#o.workerEnv,
      randomSuffix: this.#o.randomSuffix,
    });
    if (name !== undefined && pod.metadata !== undefined) pod.metadata.name = name;
    return pod;
  }

  /**
   * The token sits in the pod spec (readable with `pods get`), so it lives no longer than the try can: the pod
   * may wait up to the pending timeout, then run up to the execution timeout; the margin covers API outages the
   * worker rides out. Without an execution timeout, `api.taskTokenTtlMs` applies.
   */
  #tokenTtlMs(w: TaskWorkload): number | undefined {
    return w.executionTimeoutMs === null ? undefined : this.#o.settings.workerPodsPendingTimeoutMs + w.executionTimeoutMs + TOKEN_MARGIN_MS;
  }

  async #executorConfigOf(w: TaskWorkload): Promise<JsonObject | undefined> {
    const dag = this.#o.dags.peek(w.dagId) ?? (await this.#o.dags.get(w.dagId));
    return dag.tasks.get(w.taskId)?.executorConfig;
  }

  #launchFailed(t: Tracked, reason: string, retryable: boolean, failure?: FailureReason): void {
    this.#tracked.delete(key(t.workload.tiId, t.workload.tryNumber));
    this.#o.logger.warn({ tiId: t.workload.tiId, tryNumber: t.workload.tryNumber, reason, failureKind: failure?.kind }, 'worker pod launch failed');
    this.#events.push({ kind: 'launchFailed', tiId: t.workload.tiId, tryNumber: t.workload.tryNumber, reason, retryable, ...(failure ? { failure } : {}) });
  }

  // ---- watching --------------------------------------------------------------------------------------

  #selector(): string {
    return `${POD_LABELS.kind}=${WORKER_LABELS.kindValue},${WORKER_LABELS.executorId}=${this.#ownerLabel},${WORKER_LABELS.done}!=true`;
  }

  #watch(namespace: string): Promise<void> {
    const core: CoreV1Api = this.clients.core;
    const labelSelector = this.#selector();
    return runListWatch<V1Pod>({
      watch: this.clients.watch,
      path: namespace === '' ? '/api/v1/pods' : `/api/v1/namespaces/${namespace}/pods`,
      labelSelector,
      list: async () => {
        this.#listStarted.set(namespace, performance.now());
        return namespace === '' ? core.listPodForAllNamespaces({ labelSelector }) : core.listNamespacedPod({ namespace, labelSelector });
      },
      onList: (pods) => this.#reconcile(namespace, pods),
      onEvent: (type, pod) => this.#onSnapshot(pod, type === 'DELETED'),
      onRetry: (error, attempt) => {
        this.#metrics?.watchRestarts.inc({ namespace: namespace || '(all)' });
        this.#o.logger.warn({ namespace: namespace || '(all)', attempt, err: errorMessage(error) }, 'worker pod watch failed; reconnecting');
      },
      signal: this.#stop.signal,
    });
  }

  /** After a (re-)list: every listed pod is a snapshot; a tracked pod the list should contain but lacks is gone. */
  #reconcile(namespace: string, pods: V1Pod[]): void {
    const listed = new Set<string>();
    for (const pod of pods) {
      listed.add(`${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`);
      this.#onSnapshot(pod, false);
    }
    const listStarted = this.#listStarted.get(namespace) ?? 0;
    for (const t of [...this.#tracked.values()]) {
      if (t.stage !== 'created' || t.pod === undefined || (namespace !== '' && t.pod.namespace !== namespace)) continue;
      if (t.createdAt > listStarted || listed.has(`${t.pod.namespace}/${t.pod.name}`)) continue;
      const last: V1Pod = t.last ?? { metadata: { name: t.pod.name, namespace: t.pod.namespace } };
      this.#onSnapshot(last, true, true);
    }
  }

  /**
   * One snapshot of a pod (from the watch, a list or adoption). `deleted`: the pod is gone. `force`: the
   * snapshot is the tracked pod's last known state (reconciliation), not an event about it.
   */
  #onSnapshot(pod: V1Pod, deleted: boolean, force = false): void {
    const k = keyOfPod(pod);
    const t = k === undefined ? undefined : this.#tracked.get(k);
    if (t === undefined || t.pod === undefined || t.stage === 'killed' || t.stage === 'waiting') return;
    if (!force && pod.metadata?.name !== t.pod.name) return; // an older pod of a relaunched try
    if (!force && pod.metadata?.labels?.[WORKER_LABELS.executorId] !== this.#ownerLabel) {
      // Relabelled by another scheduler's adoption (we were judged dead): it is theirs now.
      this.#tracked.delete(k as string);
      return;
    }
    if (!force) {
      t.last = pod;
      t.lastDeleted = deleted;
    }
    if (t.stage === 'creating' || t.busy) return; // handled when the create returns / the decision ends
    if (deleted) {
      // A pod leaving our selector looks deleted to our watch and list, whether it was deleted or relabelled
      // by another scheduler's adoption (the event then carries the old labels): ask the API server.
      t.busy = true;
      void this.#confirmGone(t, pod).then((gone) => {
        t.busy = false;
        if (gone) this.#judge(t, pod, true);
      }, (err: unknown) => {
        t.busy = false;
        this.#o.logger.error({ err, pod: t.pod?.name }, 'handling a worker pod failed');
      });
      return;
    }
    this.#judge(t, pod, false);
  }

  #judge(t: Tracked, pod: V1Pod, deleted: boolean): void {
    const verdict = judgePod(pod, { deleted });
    if (verdict.kind === 'wait') {
      t.started ||= verdict.started;
      return;
    }
    t.busy = true;
    const done = verdict.kind === 'fatalWaiting'
      ? this.#failFatal(t, verdict)
      : this.#ended(t, pod, verdict.end, verdict.exitCode, deleted);
    void done.catch((err: unknown) => this.#o.logger.error({ err, pod: t.pod?.name }, 'handling a worker pod failed')).finally(() => {
      t.busy = false;
    });
  }

  /**
   * True when the pod is really gone (404, or another pod of that name). False when it exists but left our
   * selector: relabelled to another executor (it is theirs now: stop tracking) or labelled done.
   */
  async #confirmGone(t: Tracked, pod: V1Pod): Promise<boolean> {
    if (t.pod === undefined) return false;
    let current: V1Pod;
    try {
      current = await this.clients.core.readNamespacedPod({ namespace: t.pod.namespace, name: t.pod.name });
    } catch (err) {
      if (err instanceof KubernetesApiError && err.kind === 'not_found') return true;
      throw err;
    }
    const uid = pod.metadata?.uid;
    if (uid !== undefined && current.metadata?.uid !== uid) return true;
    if (current.metadata?.deletionTimestamp !== undefined) return false; // being deleted: its final state follows
    if (current.metadata?.labels?.[WORKER_LABELS.executorId] !== this.#ownerLabel) {
      const k = key(t.workload.tiId, t.workload.tryNumber);
      if (this.#tracked.get(k) === t) this.#tracked.delete(k);
      this.#o.logger.info({ pod: t.pod.name, owner: podOwner(current) }, 'worker pod adopted by another scheduler; letting go');
    }
    return false;
  }

  async #failFatal(t: Tracked, v: { container: string; reason: string; message: string }): Promise<void> {
    const name = t.pod?.name ?? '';
    const events = await this.#podEvents(t);
    const reason = [`pod ${name}: container ${v.container} cannot start (${v.reason}): ${v.message}`, ...events].join('\n');
    this.#launchFailed(t, reason, true, { kind: isImageWaitingReason(v.reason) ? 'imagePullFailed' : 'containerConfigError', message: reason });
    await this.#cleanup(t.pod?.namespace ?? '', name, true);
  }

  async #ended(t: Tracked, pod: V1Pod, end: Parameters<typeof describeEnd>[0], exitCode: number | null, deleted: boolean): Promise<void> {
    const w = t.workload;
    const k = key(w.tiId, w.tryNumber);
    const name = t.pod?.name ?? '';
    const namespace = t.pod?.namespace ?? '';
    if (end.kind !== 'succeeded' && isRelaunchable(end) && (await this.#unclaimed(w))) {
      if (t.relaunches < this.#o.settings.maxPodRelaunches) {
        t.relaunches++;
        this.#metrics?.relaunches.inc();
        this.#o.logger.warn({ tiId: w.tiId, tryNumber: w.tryNumber, pod: name, end: end.kind, relaunch: t.relaunches }, 'worker pod failed before its task started; relaunching');
        if (!deleted) await this.#deletePod(namespace, name);
        if (this.#tracked.get(k) !== t) return;
        t.pod = undefined;
        t.last = undefined;
        t.lastDeleted = false;
        t.started = false;
        t.stage = 'waiting';
        t.notBefore = 0;
        this.#pump();
        return;
      }
      const reason = `${describeEnd(end, name)} (before its task started, ${t.relaunches} relaunches used)`;
      this.#launchFailed(t, reason, true, failureOfPodEnd(end, reason));
      if (!deleted) await this.#cleanup(namespace, name, true);
      return;
    }
    this.#tracked.delete(k);
    const detail = describeEnd(end, name);
    this.#events.push({ kind: 'exited', tiId: w.tiId, tryNumber: w.tryNumber, exitCode, signal: null, detail, failure: failureOfPodEnd(end, detail) });
    if (!deleted) await this.#cleanup(namespace, name, end.kind !== 'succeeded' || (await this.#tryFailed(w)));
  }

  /** True while the try is still queued: its task process never claimed it, so nothing ran. */
  async #unclaimed(w: TaskWorkload): Promise<boolean> {
    const row = await tiPosition(this.#o.db, w.tiId);
    return row !== undefined && row.try_number === w.tryNumber && row.state === 'queued';
  }

  /** True when the try ended failed (it reported so), for deleteWorkerPodsOnFailure. */
  async #tryFailed(w: Pick<TaskWorkload, 'tiId' | 'tryNumber'>): Promise<boolean> {
    const state = await tryRowState(this.#o.db, w.tiId, w.tryNumber);
    return state === undefined || (state !== 'success' && state !== 'skipped');
  }

  /** Pending too long → the try fails with the scheduler's explanation and the pod's events. */
  async #checkPending(): Promise<void> {
    const timeout = this.#o.settings.workerPodsPendingTimeoutMs;
    const now = this.#o.now();
    for (const t of [...this.#tracked.values()]) {
      if (t.stage !== 'created' || t.busy || t.started || t.pod === undefined) continue;
      if (t.last !== undefined && t.last.status?.phase !== undefined && t.last.status.phase !== 'Pending') continue;
      const created = t.last?.metadata?.creationTimestamp;
      const since = created === undefined ? t.createdAtMs : new Date(created).getTime();
      if (now - since < timeout) continue;
      t.busy = true;
      try {
        const events = await this.#podEvents(t);
        const reason = [describePending(t.last, t.pod.name, timeout), ...events].join('\n');
        this.#launchFailed(t, reason, true, { kind: 'unschedulable', message: reason });
        await this.#cleanup(t.pod.namespace, t.pod.name, true);
      } catch (err) {
        this.#o.logger.error({ err, pod: t.pod.name }, 'pending check failed');
      } finally {
        t.busy = false;
      }
    }
  }

  /**
   * Pods of dead schedulers whose tries are over: adoption (src/scheduler/adoption.ts) only sees tries still
   * queued or running, so a pod that finished while its scheduler was down — or that runs a try that is no
   * longer current — would be left behind. Finished ones are cleaned up by the deletion policy, live stale
   * ones deleted (they can never report). Pods of live schedulers, and pods whose try is still current, are
   * left alone: those belong to their owner or to adoption.
   */
  async #sweepOrphans(): Promise<void> {
    if (this.#sweeping || this.#stop.signal.aborted) return;
    this.#sweeping = true;
    try {
      const selector = `${POD_LABELS.kind}=${WORKER_LABELS.kindValue},${WORKER_LABELS.executorId}!=${this.#ownerLabel},${WORKER_LABELS.done}!=true`;
      const pods = (await listWorkerPods(this.clients.core, this.#watched, selector)).filter((p) => p.metadata?.deletionTimestamp === undefined);
      if (pods.length === 0) return;
      const owners = [...new Set(pods.map((p) => podOwner(p) ?? ''))];
      const threshold = this.#o.healthCheckThresholdMs ?? 30_000;
      const now = this.#o.now();
      const alive = await new JobRegistry(this.#o.db).aliveAmong(owners, threshold, now);
      for (const pod of pods) {
        if (alive.has(podOwner(pod) ?? '')) continue;
        const tiId = pod.metadata?.annotations?.[TI_ID_ANNOTATION];
        const tryNumber = Number(pod.metadata?.annotations?.[POD_LABELS.tryNumber]);
        if (tiId === undefined) continue;
        const ti = await tiPosition(this.#o.db, tiId);
        const current = ti !== undefined && ti.try_number === tryNumber;
        if (current && (ti.state === 'queued' || ti.state === 'running')) continue; // adoption's
        const [namespace, name] = [pod.metadata?.namespace ?? '', pod.metadata?.name ?? ''];
        // A live pod whose own try has just ended is finishing (its task reported, then ships the rest of its log
        // and exits): deleting it now would cut that short. It is cleaned up once terminal, or if it lingers.
        if (current && !isPodTerminal(pod) && ti.end_date !== null && now - ti.end_date < threshold) continue;
        if (!isPodTerminal(pod)) await this.#deletePod(namespace, name);
        else await this.#cleanup(namespace, name, ti === undefined || (await this.#tryFailed({ tiId, tryNumber })));
        this.#o.logger.info({ pod: name, owner: podOwner(pod) }, 'cleaned up a worker pod left by a dead scheduler');
      }
    } catch (err) {
      this.#o.logger.warn({ err: errorMessage(err) }, 'orphan worker pod sweep failed');
    } finally {
      this.#sweeping = false;
    }
  }

  // ---- pod I/O (podActions.ts) -------------------------------------------------------------------

  #podEvents(t: Tracked): Promise<string[]> {
    return t.pod === undefined ? Promise.resolve([]) : warningEventLines(this.clients.core, t.pod.namespace, t.pod.name);
  }

  #cleanup(namespace: string, name: string, failed: boolean): Promise<void> {
    return finishWorkerPod(this.clients.core, this.#o.settings, { namespace, name, failed }, this.#o.logger);
  }

  #deletePod(namespace: string, name: string): Promise<void> {
    return deleteWorkerPod(this.clients.core, namespace, name, this.#o.logger);
  }

  #updateGauges(): void {
    if (this.#metrics === undefined) return;
    let pending = 0;
    let running = 0;
    for (const t of this.#tracked.values()) {
      if (t.stage !== 'created') continue;
      if (t.last?.status?.phase === 'Running') running++;
      else pending++;
    }
    this.#metrics.pods.set({ state: 'pending' }, pending);
    this.#metrics.pods.set({ state: 'running' }, running);
  }
}
