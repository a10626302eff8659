/**
 * Follows every pod of a Job — the first ones, retried ones, ones started later by the controller — by one
 * list-then-watch on the Job's pod selector (no polling, no assumption on the number of pods, so
 * `parallelism > completions` and work-queue Jobs are handled). For each pod it reuses the pod lifecycle:
 * a `PodWatcher`, resumable log followers (lines prefixed with the pod name), and after a successful base
 * container the XCom read through the native sidecar. It never creates a pod: only the Job controller does.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { errorMessage } from '../../core/index.ts';
import type { KubeClients } from '../client/clients.ts';
import { runListWatch } from '../watch/listWatch.ts';
import { classifyPod, toTaskOutcome } from '../lifecycle/podEnd.ts';
import { followContainerLogs, followInPodOrder } from '../lifecycle/podLogs.ts';
import { BASE_CONTAINER, containerStatus, fatalWaiting, hasTerminated } from '../lifecycle/podState.ts';
import type { FatalWaiting } from '../lifecycle/podState.ts';
import { PodWatcher } from '../lifecycle/podWatcher.ts';
import { readXcom } from '../lifecycle/xcom.ts';
import { completionIndex } from './jobState.ts';
import type { PodXcom } from './jobState.ts';

/** Options of {@link JobPodTracker.start}. */
export interface JobPodTrackerOptions {
  clients: KubeClients;
  namespace: string;
  /** Label selector of the Job's pods (`selectorString(job.spec.selector)`). */
  selector: string;
  log: (line: string) => void;
  /** Containers whose logs reach the task log (default `['base']`); `false`: none. */
  logContainers?: readonly string[] | false | undefined;
  doXcomPush?: boolean | undefined;
  xcomMaxBytes?: number | undefined;
  xcomTimeoutSeconds?: number | undefined;
  /** Called once, for the first pod whose container can never start. */
  onFatal?: ((pod: V1Pod, fatal: FatalWaiting) => void) | undefined;
  logIdleTimeoutMs?: number | undefined;
  logTerminatedGraceMs?: number | undefined;
}

interface Tracked {
  name: string;
  watcher: PodWatcher;
  stopLogs: AbortController;
  logs: Promise<unknown>;
  xcom: Promise<void>;
}

/** One failed pod of the Job, described. */
export interface FailedPod {
  pod: string;
  message: string;
}

/** Tracks a Job's pods until stopped. */
export class JobPodTracker {
  readonly #o: JobPodTrackerOptions;
  readonly #stop = new AbortController();
  readonly #pods = new Map<string, Tracked>();
  readonly #latest = new Map<string, V1Pod>();
  readonly #xcoms: PodXcom[] = [];
  readonly #xcomErrors: string[] = [];
  readonly #changed = new Set<() => void>();
  #fatalReported = false;
  #watch: Promise<void> = Promise.resolve();

  private constructor(options: JobPodTrackerOptions) {
    this.#o = options;
  }

  /** Starts the list-then-watch of the Job's pods. */
  static start(options: JobPodTrackerOptions): JobPodTracker {
    const t = new JobPodTracker(options);
    const { core } = options.clients;
    const { namespace, selector } = options;
    t.#watch = runListWatch<V1Pod>({
      watch: options.clients.watch,
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      labelSelector: selector,
      list: () => core.listNamespacedPod({ namespace, labelSelector: selector }),
      onList: (items) => { for (const p of items) t.#seen(p); },
      onEvent: (_type, pod) => t.#seen(pod),
      onRetry: (e, n) => options.log(`job pods watch reconnecting (attempt ${n}): ${errorMessage(e)}`),
      signal: t.#stop.signal,
    });
    return t;
  }

  /** Pods seen so far (latest snapshots). */
  get pods(): V1Pod[] {
    return [...this.#latest.values()];
  }

  /** Successful pods seen so far. */
  succeededCount(): number {
    return this.pods.filter((p) => classifyPod(p)?.kind === 'succeeded').length;
  }

  /** Resolves once `check()` is true (re-evaluated on every pod change), or after `timeoutMs`. */
  async waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check()) return true;
    return new Promise<boolean>((resolve) => {
      const listener = (): void => {
        if (!check()) return;
        done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (value: boolean): void => {
        clearTimeout(timer);
        this.#changed.delete(listener);
        resolve(value);
      };
      this.#changed.add(listener);
    });
  }

  /** The failed pods with the reason of each (exit code, termination message, OOM, eviction…). */
  failedPods(): FailedPod[] {
    const out: FailedPod[] = [];
    for (const pod of this.pods) {
      const end = classifyPod(pod);
      if (end === undefined || end.kind === 'succeeded') continue;
      const name = pod.metadata?.name ?? '?';
      const outcome = toTaskOutcome(end, { podName: name });
      if (outcome.kind === 'failure') out.push({ pod: name, message: outcome.message });
    }
    return out;
  }

  /**
   * Stops following: log streams of terminated containers get `graceMs` to deliver their tail, XCom reads
   * finish (each is bounded by its own timeout), then every watch ends. Returns the XComs read.
   */
  async stop(graceMs: number): Promise<{ xcoms: PodXcom[]; errors: string[] }> {
    const all = [...this.#pods.values()];
    const timer = setTimeout(() => { for (const p of all) p.stopLogs.abort(); }, graceMs);
    await Promise.allSettled(all.map((p) => p.logs));
    clearTimeout(timer);
    await Promise.allSettled(all.map((p) => p.xcom));
    this.#stop.abort();
    for (const p of all) p.stopLogs.abort();
    await Promise.allSettled([this.#watch, ...all.map((p) => p.watcher.stop())]);
    return { xcoms: [...this.#xcoms], errors: [...this.#xcomErrors] };
  }

  #seen(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    const name = pod.metadata?.name;
    if (uid === undefined || name === undefined || this.#stop.signal.aborted) return;
    this.#latest.set(uid, pod);
    if (!this.#pods.has(uid)) this.#track(pod, uid, name);
    const fatal = fatalWaiting(pod);
    if (fatal !== undefined && !this.#fatalReported) {
      this.#fatalReported = true;
      this.#o.onFatal?.(pod, fatal);
    }
    for (const listener of [...this.#changed]) listener();
  }

  #track(pod: V1Pod, uid: string, name: string): void {
    const o = this.#o;
    const { clients, namespace } = o;
    o.log(`job pod ${name}${describeIndex(pod)} seen`);
    const watcher = PodWatcher.start({ core: clients.core, watch: clients.watch, namespace, name, initial: pod,
      onRetry: (e, n) => o.log(`[${name}] pod watch reconnecting (attempt ${n}): ${errorMessage(e)}`) });
    const stopLogs = new AbortController();
    const signal = AbortSignal.any([stopLogs.signal, this.#stop.signal]);
    const containers = o.logContainers === false ? [] : o.logContainers ?? [BASE_CONTAINER];
    const logs = followInPodOrder(pod, containers, (container) => followContainerLogs({
      kubeConfig: clients.kubeConfig, namespace, pod: name, container, watcher, signal, permit: clients.streamPermit,
      idleTimeoutMs: o.logIdleTimeoutMs, terminatedGraceMs: o.logTerminatedGraceMs,
      onReconnect: (why) => o.log(`[${name}/${container}] ${why}; resuming`),
      onLine: (line) => o.log(`[${container === BASE_CONTAINER ? name : `${name}/${container}`}] ${line.text}`),
    }));
    const xcom = o.doXcomPush === true ? this.#readXcom(watcher, pod, name) : Promise.resolve();
    this.#pods.set(uid, { name, watcher, stopLogs, logs, xcom });
  }

  async #readXcom(watcher: PodWatcher, pod: V1Pod, name: string): Promise<void> {
    const o = this.#o;
    const ended = await watcher.until((s) => (s.pod !== undefined && hasTerminated(s.pod, BASE_CONTAINER)) || s.deleted ? s : undefined,
      { signal: this.#stop.signal });
    if (ended?.pod === undefined || classifyPod(ended.pod)?.kind !== 'succeeded') return;
    const result = await readXcom({ kubeConfig: o.clients.kubeConfig, namespace: o.namespace, pod: name, watcher,
      signal: this.#stop.signal, maxBytes: o.xcomMaxBytes, timeoutSeconds: o.xcomTimeoutSeconds, permit: o.clients.streamPermit });
    if (result.kind === 'error') {
      this.#xcomErrors.push(`pod ${name}: ${result.message}`);
      return;
    }
    const finished = containerStatus(ended.pod, BASE_CONTAINER)?.state?.terminated?.finishedAt;
    this.#xcoms.push({ pod: name, index: completionIndex(pod), finishedAt: finished === undefined ? Date.now() : new Date(finished).getTime(), value: result.value });
  }
}

function describeIndex(pod: V1Pod): string {
  const index = completionIndex(pod);
  return index === undefined ? '' : ` (completion index ${index})`;
}
