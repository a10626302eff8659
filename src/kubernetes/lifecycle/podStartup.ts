/**
 * Waiting for a pod to be scheduled and for its base container to start, on the watcher's snapshots,
 * with the two timeouts and the fast failures on waiting reasons that never clear. The schedule timeout
 * counts from the pod's creation and the startup timeout from its scheduling (both as recorded by the
 * API server), so a reattached or resumed task does not get a fresh allowance.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { classifyPod } from './podEnd.ts';
import type { PodEnd } from './podEnd.ts';
import type { PodSnapshot, PodWatcher } from './podWatcher.ts';
import { BASE_CONTAINER, describeContainers, fatalWaiting, hasStarted, isScheduled, podCondition, schedulingMessage } from './podState.ts';

/** Options of {@link awaitPodStart}. */
export interface StartupOptions {
  watcher: PodWatcher;
  /** Default 120. */
  scheduleTimeoutSeconds?: number;
  /** Default 120. */
  startupTimeoutSeconds?: number;
  /** Recent event lines, for failure messages (read when a failure is decided). */
  events: () => Promise<string[]>;
  signal: AbortSignal;
  now?: () => number;
}

/** `started`, or the pod's end when it cannot start (or already ended), or `aborted`. */
export type StartupResult = { kind: 'started'; pod: V1Pod } | { kind: 'ended'; end: PodEnd } | { kind: 'aborted' };

type Step = { kind: 'ok'; pod: V1Pod } | { kind: 'end'; end: PodEnd } | { kind: 'fatal'; pod: V1Pod };

function remainingMs(fromIso: Date | string | undefined, timeoutSeconds: number, now: number): number {
  const from = fromIso === undefined ? now : new Date(fromIso).getTime();
  const elapsed = Number.isNaN(from) ? 0 : Math.max(0, now - from);
  return Math.max(0, timeoutSeconds * 1000 - elapsed);
}

function step(s: PodSnapshot, reached: (pod: V1Pod) => boolean): Step | undefined {
  const end = classifyPod(s.pod, { deleted: s.deleted });
  if (end !== undefined) return { kind: 'end', end };
  if (s.pod === undefined) return undefined;
  if (fatalWaiting(s.pod) !== undefined) return { kind: 'fatal', pod: s.pod };
  return reached(s.pod) ? { kind: 'ok', pod: s.pod } : undefined;
}

/** The pod end for a container stuck in a fatal waiting reason. */
export async function fatalEnd(pod: V1Pod, events: () => Promise<string[]>): Promise<PodEnd | undefined> {
  const fatal = fatalWaiting(pod);
  if (fatal === undefined) return undefined;
  const lines = await events();
  const end = { container: fatal.container, reason: fatal.reason, message: fatal.message, events: lines };
  return fatal.image ? { kind: 'imagePullFailed', ...end } : { kind: 'containerConfigError', ...end };
}

/** Waits for scheduling, then for the base container to run. */
export async function awaitPodStart(options: StartupOptions): Promise<StartupResult> {
  const { watcher, signal } = options;
  const now = options.now ?? Date.now;
  const scheduleTimeout = options.scheduleTimeoutSeconds ?? 120;
  const startupTimeout = options.startupTimeoutSeconds ?? 120;
  const created = watcher.snapshot.pod?.metadata?.creationTimestamp;

  const scheduled = await watcher.until((s) => step(s, isScheduled),
    { timeoutMs: remainingMs(created, scheduleTimeout, now()), signal });
  if (signal.aborted) return { kind: 'aborted' };
  if (scheduled === undefined) {
    const pod = watcher.snapshot.pod;
    const events = await options.events();
    const reason = (pod && schedulingMessage(pod)) ?? events.find((e) => e.includes('FailedScheduling')) ?? 'no scheduling decision yet';
    return { kind: 'ended', end: { kind: 'unschedulable', timeoutSeconds: scheduleTimeout, message: reason, events } };
  }
  const atSchedule = await resolveStep(scheduled, options.events);
  if (atSchedule !== undefined) return atSchedule;

  const scheduledAt = podCondition(watcher.snapshot.pod ?? {}, 'PodScheduled')?.lastTransitionTime;
  const started = await watcher.until((s) => step(s, (p) => hasStarted(p, BASE_CONTAINER)),
    { timeoutMs: remainingMs(scheduledAt, startupTimeout, now()), signal });
  if (signal.aborted) return { kind: 'aborted' };
  if (started === undefined) {
    const containers = watcher.snapshot.pod === undefined ? [] : describeContainers(watcher.snapshot.pod);
    return { kind: 'ended', end: { kind: 'startupTimeout', timeoutSeconds: startupTimeout, containers, events: await options.events() } };
  }
  if (started.kind === 'ok') return { kind: 'started', pod: started.pod };
  return (await resolveStep(started, options.events)) ?? { kind: 'aborted' };
}

/** Options of {@link awaitPodEnd}: the startup options, and a hook for the moment the base container started. */
export interface PodEndWaitOptions extends StartupOptions {
  onStarted?: (pod: V1Pod) => Promise<void>;
}

/**
 * Waits for the pod's end as the task sees it: startup (timeouts, fast failures), then the base container's
 * termination or a fatal waiting reason of any container. `undefined` when `signal` aborts first. Used by the
 * worker (`runPod`) and by the triggerer (`KubernetesPodTrigger`), so both judge a pod the same way.
 */
export async function awaitPodEnd(options: PodEndWaitOptions): Promise<PodEnd | undefined> {
  const { watcher, signal } = options;
  const started = await awaitPodStart(options);
  if (started.kind === 'aborted') return undefined;
  if (started.kind === 'ended') return started.end;
  await options.onStarted?.(started.pod);
  type Done = { kind: 'end'; end: PodEnd } | { kind: 'fatal'; pod: V1Pod };
  const done = await watcher.until<Done>((s) => {
    const e = classifyPod(s.pod, { deleted: s.deleted });
    if (e !== undefined) return { kind: 'end', end: e };
    return s.pod !== undefined && fatalWaiting(s.pod) !== undefined ? { kind: 'fatal', pod: s.pod } : undefined;
  }, { signal });
  if (done === undefined) return undefined;
  if (done.kind === 'end') return done.end;
  return fatalEnd(done.pod, options.events);
}

async function resolveStep(s: Step, events: () => Promise<string[]>): Promise<StartupResult | undefined> {
  if (s.kind === 'end') return { kind: 'ended', end: s.end };
  if (s.kind === 'fatal') {
    const end = await fatalEnd(s.pod, events);
    if (end !== undefined) return { kind: 'ended', end };
  }
  return undefined;
}
