/**
 * Deciding what runs next inside one DAG run: evaluate trigger rules for the tasks whose upstreams
 * changed, move ready tasks to `scheduled`, end the ones their rule rules out (skipped / upstream_failed,
 * cascading), release retries whose delay has passed, and finish the run when every task is done.
 */
import { countUpstreams, evaluateTriggerRule, isTerminal, type TaskInstanceState } from '../core/index.ts';
import type { IndexedDag } from '../services/index.ts';
import { endUnstarted, releaseReschedules, releaseRetries, scheduleTis, type DagRunRow, type MetadataDb } from '../store/index.ts';
import { DEFAULT_MAX_MAP_LENGTH, expandMappedTask } from './expansion.ts';
import { tiKey, type RunSnapshot } from './runSnapshot.ts';

export interface RunDecision {
  scheduled: number;
  ended: number;
  /** Set when every task instance is terminal (or the run deadlocked). */
  finalState: 'success' | 'failed' | null;
  reason?: string;
}

/** Evaluate `candidates` (task ids) plus released retries, apply the decisions, and judge the run. */
export async function scheduleRun(
  m: MetadataDb,
  run: DagRunRow,
  dag: IndexedDag,
  snap: RunSnapshot,
  candidates: Set<string>,
  now: number,
  previousRunState: (taskId: string) => Promise<TaskInstanceState | null>,
  options: { maxMapLength?: number } = {},
): Promise<RunDecision> {
  const toSchedule: string[] = [];
  const toEnd = new Map<'skipped' | 'upstream_failed', string[]>([
    ['skipped', []],
    ['upstream_failed', []],
  ]);
  const queue = [...candidates];
  const seen = new Set<string>();
  let waitingOnPastRun = false;
  let expandedElsewhere = false;
  while (queue.length > 0) {
    const taskId = queue.pop() as string;
    if (seen.has(taskId)) continue;
    seen.add(taskId);
    const task = dag.tasks.get(taskId);
    // One row for an unmapped task; a mapped task's placeholder or its waiting map indexes.
    const waiting = snap.rowsOf(taskId).filter((r) => r.state === 'none');
    if (!task || waiting.length === 0) continue;
    const counts = countUpstreams(upstreamStates(task.upstream, snap));
    const decision = evaluateTriggerRule(task.triggerRule, counts);
    if (decision.kind === 'wait') continue;
    if (decision.kind === 'run') {
      if (task.dependsOnPast) {
        const prev = await previousRunState(taskId);
        if (prev !== null && prev !== 'success' && prev !== 'skipped') {
          if (!isTerminal(prev)) waitingOnPastRun = true;
          continue;
        }
      }
      let ready = waiting;
      if (task.mapping) {
        // Its upstreams are done, so what it maps over is known: make its map indexes now.
        const expansion = await expandMappedTask(m, run, dag, task, snap, now, options.maxMapLength ?? DEFAULT_MAX_MAP_LENGTH);
        // Another scheduler is expanding it: its rows arrive with the next sync; not a deadlock meanwhile.
        if (expansion.kind === 'raced') {
          expandedElsewhere = true;
          continue;
        }
        if (expansion.kind === 'ended') {
          for (const d of task.downstream) {
            seen.delete(d);
            queue.push(d);
          }
          continue;
        }
        ready = expansion.ready;
      }
      for (const r of ready) {
        toSchedule.push(r.id);
        snap.setState(tiKey(r.task_id, r.map_index), 'scheduled', now);
      }
      continue;
    }
    for (const r of waiting) {
      toEnd.get(decision.state)?.push(r.id);
      snap.setState(tiKey(r.task_id, r.map_index), decision.state, now);
    }
    for (const d of task.downstream) {
      seen.delete(d);
      queue.push(d);
    }
  }
  // Retries whose delay has passed go back to scheduled; so do rescheduled sensors whose date has come
  // (continuing their try, with the same try number).
  const retries: string[] = [];
  const reschedules: string[] = [];
  for (const taskId of [...snap.waitingRetry]) {
    const row = snap.byTask.get(taskId);
    if (row && (row.next_retry_at ?? 0) <= now) {
      (row.state === 'up_for_reschedule' ? reschedules : retries).push(row.id);
      snap.setState(taskId, 'scheduled', now);
    }
  }
  const scheduled = await scheduleTis(m.db, toSchedule, now);
  const released = [...(await releaseRetries(m.db, retries, now)), ...(await releaseReschedules(m.db, reschedules, now))];
  let ended = 0;
  for (const [state, ids] of toEnd) ended += (await endUnstarted(m.db, ids, state, now)).length;
  return { scheduled: scheduled.length + released.length, ended, ...judgeRun(dag, snap, waitingOnPastRun || expandedElsewhere) };
}

/**
 * Success when all leaves succeeded or skipped; failed when any leaf failed; null while work remains.
 * A run with unfinished tasks and nothing active or waiting on a previous run is deadlocked (only
 * `dependsOnPast` can cause that) and fails. Callers evaluate every `none` task before trusting that.
 */
export function judgeRun(dag: IndexedDag, snap: RunSnapshot, waitingOnPastRun: boolean): Pick<RunDecision, 'finalState' | 'reason'> {
  if (snap.unfinished > 0) {
    return snap.active === 0 && !waitingOnPastRun
      ? { finalState: 'failed', reason: 'deadlock: unfinished tasks can never run (dependsOnPast on a failed previous run)' }
      : { finalState: null };
  }
  for (const task of dag.dag.tasks) {
    if (task.downstream.length > 0) continue;
    const s = snap.statesOf(task.taskId).find((x) => x === 'failed' || x === 'upstream_failed');
    if (s) return { finalState: 'failed', reason: `leaf task '${task.taskId}' ended ${s}` };
  }
  return { finalState: 'success' };
}

/**
 * The states a trigger rule counts: every task instance of each upstream — each map index of a mapped
 * upstream counts on its own, as in Airflow — and `none` for an upstream with no row yet.
 */
function upstreamStates(upstream: readonly string[], snap: RunSnapshot): TaskInstanceState[] {
  const states: TaskInstanceState[] = [];
  for (const u of upstream) {
    const of = snap.statesOf(u);
    if (of.length === 0) states.push('none');
    else for (const s of of) states.push(s);
  }
  return states;
}
