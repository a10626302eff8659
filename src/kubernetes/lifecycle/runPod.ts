/**
 * The whole life of a task's pod, in one call: create (or reattach) → watch → stream events and logs →
 * await the base container → read the XCom → classify → finish action. Returns the outcome as data; only
 * API failures before the pod exists reject. Aborting the signal (task killed: timeout, mark-failed,
 * clear) deletes the pod with its grace period.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { errorMessage } from '../../core/index.ts';
import type { KubeClients } from '../client/clients.ts';
import { invokeCallback } from './callbacks.ts';
import type { ExecutionMode, PodLifecycleCallbacks } from './callbacks.ts';
import { deletePod, finishPlan, markPodChecked } from './cleanup.ts';
import type { OnFinishAction } from './cleanup.ts';
import { toTaskOutcome } from './podEnd.ts';
import type { PodEnd, PodTaskOutcome } from './podEnd.ts';
import { formatPodEvent, streamPodEvents } from './podEvents.ts';
import { LogCursor, type LogCursorState } from './logCursor.ts';
import { followContainerLogs, followInPodOrder } from './podLogs.ts';
import { awaitPodEnd } from './podStartup.ts';
import { PodWatcher } from './podWatcher.ts';
import { BASE_CONTAINER, hasStarted, hasTerminated } from './podState.ts';
import { createOrReattach } from './reattach.ts';
import { requireNativeSidecars } from './serverVersion.ts';
import { readXcom, withXcomSidecar } from './xcom.ts';
import type { XcomSidecarOptions } from './xcom.ts';

/** Where the task log goes. */
export interface PodRunSink {
  log(message: string): void;
}

/** Options of {@link runPod}; every field is optional. */
export interface RunPodOptions {
  /** Default `delete_pod`. */
  onFinishAction?: OnFinishAction;
  /** Default 120. */
  scheduleTimeoutSeconds?: number;
  /** Default 120. */
  startupTimeoutSeconds?: number;
  /** Exit codes of the base container that skip the task (0 included: a pod that succeeded skips). */
  skipOnExitCode?: readonly number[];
  /** Read `/airflow/xcom/return.json` through the native sidecar (added when missing). */
  doXcomPush?: boolean;
  xcom?: XcomSidecarOptions & { timeoutSeconds?: number };
  /** Containers whose logs reach the task log (default `['base']`; init containers may be named). `false`: none. */
  logContainers?: readonly string[] | false;
  /** Label selector of the task's earlier pods (see `taskPodSelector`); reattach when one is found. */
  reattachSelector?: string;
  /** Grace period of every deletion, on kill and by the finish action (default: the pod's own). */
  deleteGracePeriodSeconds?: number;
  /** Log lines of the base container kept for failure messages (default 20). */
  logTailLines?: number;
  callbacks?: PodLifecycleCallbacks;
  mode?: ExecutionMode;
  /** Aborting kills the task: the pod is deleted. */
  signal?: AbortSignal;
  /** Tuning of log streams (defaults 60 000 and 2000 ms). */
  logIdleTimeoutMs?: number;
  logTerminatedGraceMs?: number;
}

/** What happened. `xcom` is set only on success with `doXcomPush`. */
export interface PodRunResult {
  name: string;
  namespace: string;
  reattached: boolean;
  end: PodEnd;
  outcome: PodTaskOutcome;
  xcom?: unknown;
  /** The pod as last seen. */
  pod: V1Pod | undefined;
}

/**
 * Runs `pod` to completion; see the module comment. `manifest.metadata.namespace` defaults to
 * `clients.defaultNamespace`.
 *
 * @example
 * const result = await runPod(clients, manifest, {
 *   doXcomPush: true, onFinishAction: 'delete_succeeded_pod', startupTimeoutSeconds: 300,
 *   reattachSelector: taskPodSelector(manifest.metadata.labels), signal: taskAbortSignal,
 * }, { log: (line) => taskLog.info(line) });
 * if (result.outcome.kind === 'failure') throw new Error(result.outcome.message);
 * return result.xcom;
 */
export async function runPod(clients: KubeClients, manifest: V1Pod, options: RunPodOptions, sink: PodRunSink): Promise<PodRunResult> {
  const started = await startPod(clients, manifest, options, sink);
  return followPod(clients, started, options, sink);
}

/** The pod a task created or reattached to ({@link startPod}). */
export interface StartedPod {
  pod: V1Pod;
  name: string;
  namespace: string;
  reattached: boolean;
}

/**
 * The first half of {@link runPod}: with `doXcomPush`, the check that the cluster has native sidecars (its
 * version read once per client set; an older cluster fails the task fast), the client and manifest callbacks,
 * create (or reattach to the task's earlier pod), `onPodCreation`. A deferrable task stops here and hands the pod
 * to the triggerer.
 */
export async function startPod(clients: KubeClients, manifest: V1Pod, options: RunPodOptions, sink: PodRunSink): Promise<StartedPod> {
  const { core } = clients;
  const mode = options.mode ?? 'sync';
  const log = (m: string): void => sink.log(m);
  const callbacks = options.callbacks;
  if (options.signal?.aborted === true) throw new Error(`task killed before its pod was created: ${String(options.signal.reason)}`);
  // The XCom sidecar is a native sidecar: on a cluster older than 1.29 the pod would never start.
  if (options.doXcomPush === true) await requireNativeSidecars(clients);
  // The worker creates its client in both modes (in deferrable mode it is the client of creation and resume).
  await invokeCallback(callbacks, 'onSyncClientCreation', { client: core }, log);
  const pod0 = options.doXcomPush ? withXcomSidecar(manifest, options.xcom) : manifest;
  const namespace = pod0.metadata?.namespace ?? clients.defaultNamespace;
  await invokeCallback(callbacks, 'onPodManifestCreated', { pod: pod0, client: core, mode }, log);
  const { pod, reattached } = await createOrReattach(core, namespace, { ...pod0, metadata: { ...pod0.metadata, namespace } }, options.reattachSelector);
  const name = pod.metadata?.name ?? '';
  log(reattached ? `reattached to existing pod ${namespace}/${name}` : `created pod ${namespace}/${name}`);
  await invokeCallback(callbacks, 'onPodCreation', { pod, client: core, mode }, log);
  return { pod, name, namespace, reattached };
}

/** Options of {@link followPod}: those of `runPod`, and the end already known (a deferred task's trigger event). */
export interface FollowPodOptions extends RunPodOptions {
  /**
   * How the pod ended, as the trigger judged it while the task was deferred: not awaited again; the pod's
   * logs, XCom, callbacks and finish action follow as in sync mode.
   */
  knownEnd?: PodEnd;
  /**
   * Per container, where the trigger's log follower stopped while the task was deferred (those lines are in the
   * task log already): the logs are read on from there, not again from the start.
   */
  logCursors?: Readonly<Record<string, LogCursorState>>;
  /** The base container's last lines the trigger saw, for a failure's message (with `logCursors`). */
  logTail?: readonly string[];
}

/**
 * The second half of {@link runPod}: watch the pod until its base container ends (or take `knownEnd`),
 * with its events and logs in the task log, then `onPodCompletion`, the XCom, `onPodTeardown`, the finish
 * action and `onPodCleanup`; the outcome is judged by the same code in both modes.
 */
export async function followPod(clients: KubeClients, started: StartedPod, options: FollowPodOptions, sink: PodRunSink): Promise<PodRunResult> {
  const { core } = clients;
  const mode = options.mode ?? 'sync';
  const signal = options.signal ?? new AbortController().signal;
  const log = (m: string): void => sink.log(m);
  const hookCtx = (pod: V1Pod) => ({ pod, client: core, mode });
  const callbacks = options.callbacks;
  const { pod: created, name, namespace, reattached } = started;

  const background = new AbortController();
  const watcher = PodWatcher.start({ core, watch: clients.watch, namespace, name, initial: created,
    onRetry: (e, n) => log(`pod watch reconnecting (attempt ${n}): ${errorMessage(e)}`) });
  const eventLines: string[] = [];
  const warned = new Set<() => void>();
  const events = streamPodEvents({ core, watch: clients.watch, namespace, pod: name, uid: created.metadata?.uid,
    onEvent: (e) => {
      const line = formatPodEvent(e);
      eventLines.push(line);
      log(`[event] ${line}`);
      if (e.type === 'Warning') for (const w of [...warned]) w();
    },
    signal: background.signal });
  // A failure's Warning event may trail the status that revealed it: wait for one, briefly.
  const recentEvents = async (): Promise<string[]> => {
    if (!eventLines.some((l) => l.startsWith('Warning'))) {
      await new Promise<void>((resolve) => {
        const done = (): void => { warned.delete(done); clearTimeout(timer); resolve(); };
        const timer = setTimeout(done, 3000);
        warned.add(done);
      });
    }
    return [...eventLines];
  };

  const tailMax = options.logTailLines ?? 20;
  const tail: string[] = [...(options.logTail ?? [])].slice(-tailMax);
  const logsStop = new AbortController();
  const logContainers = options.logContainers === false ? [] : options.logContainers ?? [BASE_CONTAINER];
  const followed = logContainers.map((container) => ({ container, stop: new AbortController() }));
  const stopFollower = (f: { stop: AbortController }) => () => f.stop.abort();
  const stopOf = (container: string): AbortSignal => followed.find((f) => f.container === container)?.stop.signal ?? logsStop.signal;
  const follow = (container: string): Promise<void> => followContainerLogs({
    container, signal: AbortSignal.any([logsStop.signal, stopOf(container)]),
    kubeConfig: clients.kubeConfig, namespace, pod: name, watcher,
    ...(options.logCursors?.[container] === undefined ? {} : { cursor: LogCursor.from(options.logCursors[container]) }),
    idleTimeoutMs: options.logIdleTimeoutMs, terminatedGraceMs: options.logTerminatedGraceMs, permit: clients.streamPermit,
    onReconnect: (why) => log(`[${container}] ${why}; resuming`),
    onLine: (line) => {
      log(`[${line.container}] ${line.text}`);
      if (line.container === BASE_CONTAINER) {
        tail.push(line.text);
        if (tail.length > tailMax) tail.shift();
      }
      void invokeCallback(callbacks, 'progress', { line: line.text, container: line.container, timestamp: line.timestamp, client: core, mode }, log);
    },
  });
  const followers = [followInPodOrder(created, logContainers, follow)];

  let end: PodEnd;
  let xcom: { value: unknown } | undefined;
  let xcomError: string | undefined;
  try {
    end = await awaitEnd();
    const last = watcher.snapshot.pod ?? created;
    const baseDone = hasTerminated(last, BASE_CONTAINER);
    await settleLogs(baseDone);
    if (signal.aborted && end.kind !== 'killed') end = { kind: 'killed', reason: abortReason() };
    await invokeCallback(callbacks, 'onPodCompletion', hookCtx(last), log);
    // A success that skipOnExitCode turns into a skip (0 listed) pushes no XCom, so none is read.
    if (options.doXcomPush && end.kind === 'succeeded' && options.skipOnExitCode?.includes(0) !== true) {
      const result = await readXcom({ kubeConfig: clients.kubeConfig, namespace, pod: name, watcher, signal,
        maxBytes: options.xcom?.maxBytes, timeoutSeconds: options.xcom?.timeoutSeconds, permit: clients.streamPermit });
      if (result.kind === 'value') xcom = { value: result.value };
      else xcomError = result.message;
    }
    await invokeCallback(callbacks, 'onPodTeardown', hookCtx(watcher.snapshot.pod ?? last), log);
    await finish(end);
    await invokeCallback(callbacks, 'onPodCleanup', hookCtx(watcher.snapshot.pod ?? last), log);
  } finally {
    logsStop.abort();
    background.abort();
    await Promise.allSettled([watcher.stop(), events, ...followers]);
  }

  const outcome: PodTaskOutcome = xcomError !== undefined
    ? { kind: 'failure', reason: 'xcomFailed', platform: false, message: `pod ${name}: ${xcomError}` }
    : toTaskOutcome(end, { podName: name, skipOnExitCode: options.skipOnExitCode, logTail: tail });
  const result: PodRunResult = { name, namespace, reattached, end, outcome, pod: watcher.snapshot.pod };
  if (xcom !== undefined && outcome.kind === 'success') result.xcom = xcom.value;
  return result;

  async function awaitEnd(): Promise<PodEnd> {
    if (options.knownEnd !== undefined) {
      // The worker was away when the base container started: the hook runs now, late but once.
      if (hasStarted(created, BASE_CONTAINER) || hasTerminated(created, BASE_CONTAINER)) await invokeCallback(callbacks, 'onPodStarting', hookCtx(created), log);
      return options.knownEnd;
    }
    const end = await awaitPodEnd({ watcher, scheduleTimeoutSeconds: options.scheduleTimeoutSeconds,
      startupTimeoutSeconds: options.startupTimeoutSeconds, events: recentEvents, signal,
      onStarted: (pod) => invokeCallback(callbacks, 'onPodStarting', hookCtx(pod), log) });
    return end ?? { kind: 'killed', reason: abortReason() };
  }

  function abortReason(): string {
    return signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
  }

  async function settleLogs(baseDone: boolean): Promise<void> {
    if (!baseDone) {
      logsStop.abort();
      return;
    }
    // The base log ends by itself (bounded); a container still running next to it (a sidecar) is cut
    // after the grace period, so its log cannot hold the task.
    const grace = options.logTerminatedGraceMs ?? 2000;
    const last = watcher.snapshot.pod;
    const timers = followed.map((f) => setTimeout(stopFollower(f),
      last !== undefined && hasTerminated(last, f.container) ? grace + 30_000 : grace));
    await Promise.allSettled(followers);
    for (const t of timers) clearTimeout(t);
  }

  async function finish(e: PodEnd): Promise<void> {
    if (e.kind === 'killed') {
      log(`task killed: deleting pod ${name}`);
      try {
        await deletePod(core, namespace, name, options.deleteGracePeriodSeconds);
      } catch (error) {
        log(`could not delete pod ${namespace}/${name} (delete it by hand): ${errorMessage(error)}`);
        await markPodChecked(core, namespace, name).catch(() => undefined);
      }
      return;
    }
    const plan = finishPlan(options.onFinishAction ?? 'delete_pod', watcher.snapshot.pod, e);
    try {
      if (plan.markChecked) await markPodChecked(core, namespace, name);
      if (plan.delete) await deletePod(core, namespace, name, options.deleteGracePeriodSeconds);
      log(plan.delete ? `deleted pod ${name}` : `kept pod ${name}`);
    } catch (error) {
      log(`finish action on pod ${name} failed: ${errorMessage(error)}`);
      if (plan.delete) await markPodChecked(core, namespace, name).catch(() => undefined);
    }
  }
}
