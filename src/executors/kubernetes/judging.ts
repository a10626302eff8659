/**
 * What a snapshot of a worker pod (from the watch, a list or adoption) means for its try: wait, fail the launch
 * (a fatal waiting reason, or Pending too long), relaunch the same try (a cluster-caused end before its task
 * claimed the try), or report `exited`; the scheduler fails the try only if the task never reported its own
 * outcome (the Execution API is the truth). A pod that looks deleted is first confirmed gone with the API server.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { failureOfPodEnd, isImageWaitingReason } from '../../kubernetes/pods.ts';
import { KubernetesApiError } from '../../kubernetes/index.ts';
import { tiPosition, tryRowState } from '../../store/index.ts';
import type { TaskWorkload } from '../types.ts';
import { pump } from './launch.ts';
import { describeEnd, describePending, isRelaunchable, judgePod } from './podVerdict.ts';
import { key, keyOfPod, type ExecutorState, type Tracked } from './state.ts';
import { podOwner, WORKER_LABELS } from './workerPod.ts';

/**
 * One snapshot of a pod (from the watch, a list or adoption). `deleted`: the pod is gone. `force`: the
 * snapshot is the tracked pod's last known state (reconciliation), not an event about it.
 */
export function onSnapshot(s: ExecutorState, pod: V1Pod, deleted: boolean, force = false): void {
  const k = keyOfPod(pod);
  const t = k === undefined ? undefined : s.tracked.get(k);
  if (t === undefined || t.pod === undefined || t.stage === 'killed' || t.stage === 'waiting') return;
  if (!force && pod.metadata?.name !== t.pod.name) return; // an older pod of a relaunched try
  if (!force && pod.metadata?.labels?.[WORKER_LABELS.executorId] !== s.ownerLabel) {
    // Relabelled by another scheduler's adoption (we were judged dead): it is theirs now.
    s.tracked.delete(k as string);
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
    void confirmGone(s, t, pod).then((gone) => {
      t.busy = false;
      if (gone) judge(s, t, pod, true);
    }, (err: unknown) => {
      t.busy = false;
      s.o.logger.error({ err, pod: t.pod?.name }, 'handling a worker pod failed');
    });
    return;
  }
  judge(s, t, pod, false);
}

function judge(s: ExecutorState, t: Tracked, pod: V1Pod, deleted: boolean): void {
  const verdict = judgePod(pod, { deleted });
  if (verdict.kind === 'wait') {
    t.started ||= verdict.started;
    return;
  }
  t.busy = true;
  const done = verdict.kind === 'fatalWaiting'
    ? failFatal(s, t, verdict)
    : ended(s, t, pod, verdict.end, verdict.exitCode, deleted);
  void done.catch((err: unknown) => s.o.logger.error({ err, pod: t.pod?.name }, 'handling a worker pod failed')).finally(() => {
    t.busy = false;
  });
}

/**
 * True when the pod is really gone (404, or another pod of that name). False when it exists but left our
 * selector: relabelled to another executor (it is theirs now: stop tracking) or labelled done.
 */
async function confirmGone(s: ExecutorState, t: Tracked, pod: V1Pod): Promise<boolean> {
  if (t.pod === undefined) return false;
  let current: V1Pod;
  try {
    current = await s.clients.core.readNamespacedPod({ namespace: t.pod.namespace, name: t.pod.name });
  } catch (err) {
    if (err instanceof KubernetesApiError && err.kind === 'not_found') return true;
    throw err;
  }
  const uid = pod.metadata?.uid;
  if (uid !== undefined && current.metadata?.uid !== uid) return true;
  if (current.metadata?.deletionTimestamp !== undefined) return false; // being deleted: its final state follows
  if (current.metadata?.labels?.[WORKER_LABELS.executorId] !== s.ownerLabel) {
    const k = key(t.workload.tiId, t.workload.tryNumber);
    if (s.tracked.get(k) === t) s.tracked.delete(k);
    s.o.logger.info({ pod: t.pod.name, owner: podOwner(current) }, 'worker pod adopted by another scheduler; letting go');
  }
  return false;
}

async function failFatal(s: ExecutorState, t: Tracked, v: { container: string; reason: string; message: string }): Promise<void> {
  const name = t.pod?.name ?? '';
  const events = await s.podEvents(t);
  const reason = [`pod ${name}: container ${v.container} cannot start (${v.reason}): ${v.message}`, ...events].join('\n');
  s.launchFailed(t, reason, true, { kind: isImageWaitingReason(v.reason) ? 'imagePullFailed' : 'containerConfigError', message: reason });
  await s.cleanup(t.pod?.namespace ?? '', name, true);
}

async function ended(s: ExecutorState, t: Tracked, pod: V1Pod, end: Parameters<typeof describeEnd>[0], exitCode: number | null, deleted: boolean): Promise<void> {
  const w = t.workload;
  const k = key(w.tiId, w.tryNumber);
  const name = t.pod?.name ?? '';
  const namespace = t.pod?.namespace ?? '';
  if (end.kind !== 'succeeded' && isRelaunchable(end) && (await unclaimed(s, w))) {
    if (t.relaunches < s.o.settings.maxPodRelaunches) {
      t.relaunches++;
      s.metrics?.relaunches.inc();
      s.o.logger.warn({ tiId: w.tiId, tryNumber: w.tryNumber, pod: name, end: end.kind, relaunch: t.relaunches }, 'worker pod failed before its task started; relaunching');
      if (!deleted) await s.deletePod(namespace, name);
      if (s.tracked.get(k) !== t) return;
      t.pod = undefined;
      t.last = undefined;
      t.lastDeleted = false;
      t.started = false;
      t.stage = 'waiting';
      t.notBefore = 0;
      pump(s);
      return;
    }
    const reason = `${describeEnd(end, name)} (before its task started, ${t.relaunches} relaunches used)`;
    s.launchFailed(t, reason, true, failureOfPodEnd(end, reason));
    if (!deleted) await s.cleanup(namespace, name, true);
    return;
  }
  s.tracked.delete(k);
  const detail = describeEnd(end, name);
  s.events.push({ kind: 'exited', tiId: w.tiId, tryNumber: w.tryNumber, exitCode, signal: null, detail, failure: failureOfPodEnd(end, detail) });
  if (!deleted) await s.cleanup(namespace, name, end.kind !== 'succeeded' || (await tryFailed(s, w)));
}

/** True while the try is still queued: its task process never claimed it, so nothing ran. */
async function unclaimed(s: ExecutorState, w: TaskWorkload): Promise<boolean> {
  const row = await tiPosition(s.o.db, w.tiId);
  return row !== undefined && row.try_number === w.tryNumber && row.state === 'queued';
}

/** True when the try ended failed (it reported so), for deleteWorkerPodsOnFailure. */
export async function tryFailed(s: ExecutorState, w: Pick<TaskWorkload, 'tiId' | 'tryNumber'>): Promise<boolean> {
  const state = await tryRowState(s.o.db, w.tiId, w.tryNumber);
  return state === undefined || (state !== 'success' && state !== 'skipped');
}

/** Pending too long → the try fails with the scheduler's explanation and the pod's events. */
export async function checkPending(s: ExecutorState): Promise<void> {
  const timeout = s.o.settings.workerPodsPendingTimeoutMs;
  const now = s.o.now();
  for (const t of [...s.tracked.values()]) {
    if (t.stage !== 'created' || t.busy || t.started || t.pod === undefined) continue;
    if (t.last !== undefined && t.last.status?.phase !== undefined && t.last.status.phase !== 'Pending') continue;
    const created = t.last?.metadata?.creationTimestamp;
    const since = created === undefined ? t.createdAtMs : new Date(created).getTime();
    if (now - since < timeout) continue;
    t.busy = true;
    try {
      const events = await s.podEvents(t);
      const reason = [describePending(t.last, t.pod.name, timeout), ...events].join('\n');
      s.launchFailed(t, reason, true, { kind: 'unschedulable', message: reason });
      await s.cleanup(t.pod.namespace, t.pod.name, true);
    } catch (err) {
      s.o.logger.error({ err, pod: t.pod.name }, 'pending check failed');
    } finally {
      t.busy = false;
    }
  }
}
