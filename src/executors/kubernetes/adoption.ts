/**
 * Adoption and the orphan sweep: the pods of dead schedulers. `adoptPods` relabels the pods of the tries the
 * scheduler hands over (src/scheduler/adoption.ts) to this executor and judges their current state at once;
 * `sweepOrphans` cleans up the pods dead schedulers left for tries that are over, which adoption never sees.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { errorMessage } from '../../core/index.ts';
import { isPodTerminal, POD_LABELS } from '../../kubernetes/pods.ts';
import { JobRegistry, tiPosition, type TaskInstanceRow } from '../../store/index.ts';
import type { TaskWorkload } from '../types.ts';
import { onSnapshot, tryFailed } from './judging.ts';
import { adoptWorkerPod, listWorkerPods } from './podActions.ts';
import { key, keyOfPod, type ExecutorState } from './state.ts';
import { podOwner, TI_ID_ANNOTATION, WORKER_LABELS } from './workerPod.ts';

/** `Executor.tryAdopt`: takes over the pods of `tis` (tries of dead schedulers); returns the tries without one. */
export async function adoptPods(s: ExecutorState, tis: TaskInstanceRow[]): Promise<TaskInstanceRow[]> {
  const byKey = new Map<string, V1Pod>();
  for (const pod of await listWorkerPods(s.clients.core, s.watched, `${POD_LABELS.kind}=${WORKER_LABELS.kindValue},${WORKER_LABELS.done}!=true`)) {
    const k = keyOfPod(pod);
    if (k !== undefined && pod.metadata?.deletionTimestamp === undefined) byKey.set(k, pod);
  }
  const notAdopted: TaskInstanceRow[] = [];
  const deadOwners = new Set(tis.map((t) => t.queued_by_job_id).filter((id): id is string => id !== null));
  const adoptedKeys = new Set<string>();
  for (const ti of tis) {
    const k = key(ti.id, ti.try_number);
    if (s.tracked.has(k)) continue;
    const pod = byKey.get(k);
    if (pod === undefined) {
      notAdopted.push(ti);
      continue;
    }
    const relabelled = await adoptWorkerPod(s.clients.core, pod, s.executorId, s.o.logger);
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
    s.tracked.set(k, {
      workload: w, stage: 'created', pod: { name, namespace }, createRetries: 0, relaunches: 0, notBefore: 0, handedAt: now,
      createdAt: now, createdAtMs: s.o.now(), started: false, last: undefined, lastDeleted: false, busy: false,
    });
    s.metrics?.adoptions.inc();
    onSnapshot(s, relabelled, false);
  }
  // Pods the dead schedulers left for tries that are no longer theirs (finished, or re-queued as a new try):
  // nobody will ever report them, so clean them up by the deletion policy.
  for (const [k, pod] of byKey) {
    const owner = podOwner(pod);
    if (owner === undefined || !deadOwners.has(owner) || adoptedKeys.has(k) || s.tracked.has(k)) continue;
    const [ns, name] = [pod.metadata?.namespace ?? '', pod.metadata?.name ?? ''];
    // A live one runs a try that is no longer current (it cannot report): stop it.
    if (isPodTerminal(pod)) await s.cleanup(ns, name, pod.status?.phase !== 'Succeeded');
    else await s.deletePod(ns, name);
  }
  if (adoptedKeys.size > 0) s.o.logger.info({ adopted: adoptedKeys.size }, 'adopted worker pods of dead schedulers');
  return notAdopted;
}

/**
 * Pods of dead schedulers whose tries are over: adoption (src/scheduler/adoption.ts) only sees tries still
 * queued or running, so a pod that finished while its scheduler was down — or that runs a try that is no
 * longer current — would be left behind. Finished ones are cleaned up by the deletion policy, live stale
 * ones deleted (they can never report). Pods of live schedulers, and pods whose try is still current, are
 * left alone: those belong to their owner or to adoption.
 */
export async function sweepOrphans(s: ExecutorState): Promise<void> {
  if (s.sweeping || s.stop.signal.aborted) return;
  s.sweeping = true;
  try {
    const selector = `${POD_LABELS.kind}=${WORKER_LABELS.kindValue},${WORKER_LABELS.executorId}!=${s.ownerLabel},${WORKER_LABELS.done}!=true`;
    const pods = (await listWorkerPods(s.clients.core, s.watched, selector)).filter((p) => p.metadata?.deletionTimestamp === undefined);
    if (pods.length === 0) return;
    const owners = [...new Set(pods.map((p) => podOwner(p) ?? ''))];
    const threshold = s.o.healthCheckThresholdMs ?? 30_000;
    const now = s.o.now();
    const alive = await new JobRegistry(s.o.db).aliveAmong(owners, threshold, now);
    for (const pod of pods) {
      if (alive.has(podOwner(pod) ?? '')) continue;
      const tiId = pod.metadata?.annotations?.[TI_ID_ANNOTATION];
      const tryNumber = Number(pod.metadata?.annotations?.[POD_LABELS.tryNumber]);
      if (tiId === undefined) continue;
      const ti = await tiPosition(s.o.db, tiId);
      const current = ti !== undefined && ti.try_number === tryNumber;
      if (current && (ti.state === 'queued' || ti.state === 'running')) continue; // adoption's
      const [namespace, name] = [pod.metadata?.namespace ?? '', pod.metadata?.name ?? ''];
      // A live pod whose own try has just ended is finishing (its task reported, then ships the rest of its log
      // and exits): deleting it now would cut that short. It is cleaned up once terminal, or if it lingers.
      if (current && !isPodTerminal(pod) && ti.end_date !== null && now - ti.end_date < threshold) continue;
      if (!isPodTerminal(pod)) await s.deletePod(namespace, name);
      else await s.cleanup(namespace, name, ti === undefined || (await tryFailed(s, { tiId, tryNumber })));
      s.o.logger.info({ pod: name, owner: podOwner(pod) }, 'cleaned up a worker pod left by a dead scheduler');
    }
  } catch (err) {
    s.o.logger.warn({ err: errorMessage(err) }, 'orphan worker pod sweep failed');
  } finally {
    s.sweeping = false;
  }
}
