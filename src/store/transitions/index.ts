/**
 * The only code that changes `task_instance.state` and `dag_run.state` (a lint rule enforces it). Every
 * verb is one ownership-checked statement — `WHERE id = ? [AND try_number = ?] AND state IN (…)`, the
 * from-states checked against the transition tables of core/states.ts at compile time — and every move
 * appends a history row in that same statement (a database trigger reads the `state_actor` and
 * `state_reason` the verb sets). Single-try verbs answer `moved | stale(current) | missing`; bulk verbs
 * the ids that moved. See ../ARCHITECTURE.md.
 *
 * @example
 * const r = await startTry(m.db, { tiId, tryNumber: 2 }, { hostname, pid }, { actor: 'worker' }, Date.now());
 * if (r.kind === 'stale') console.log(`the try is ${r.current.state} at try ${r.current.try_number}`);
 * const moves = await listTaskInstanceHistory(m, { dagId, runId, taskId });
 */
export { tokenActor, type Actor } from './actor.ts';
export type { Db, MoveBy, MoveResult, TryKey } from './move.ts';
export {
  deferTry,
  failOrRetryTry,
  heartbeatTry,
  requeueUnclaimedTry,
  rescheduleTry,
  resumeTry,
  skipTry,
  startTry,
  succeedTry,
  type Deferral,
  type StartInfo,
  type TryEnd,
  type TryEndFrom,
} from './tries.ts';
export {
  endUnstarted,
  endWaiting,
  failUnqueueable,
  queueTis,
  releaseReschedules,
  releaseRetries,
  removeTis,
  scheduleTis,
  skipAsPlaceholder,
  skipUnfinished,
  skipUnstartedTasks,
} from './scheduling.ts';
export { clearTis, markTis, moveTisTo } from './userActions.ts';
export { clearRun, failQueuedRuns, finishRun, markRun, moveRunTo, reopenRun, startRun } from './runs.ts';
export { listDagRunHistory, listTaskInstanceHistory, type TaskHistoryFilter } from './history.ts';
