/**
 * The verbs of a task try after it is queued: start, heartbeat, succeed, fail (retry or not), skip.
 * The Execution API calls them on behalf of task processes, executors call them when a process dies
 * without reporting, and the scheduler for zombies and timeouts. Each is one guarded update, so a try is
 * started at most once and ended at most once.
 */
import { assertNever, hasRetriesLeft, retryDelayMs, retryPolicyOf } from '../core/index.ts';
import type { TaskInstanceState, TryOutcome, TrySuspension } from '../core/index.ts';
import {
  deferTry,
  failOrRetryTry,
  findTaskInstanceById,
  heartbeatTry,
  insertTrigger,
  inTransaction,
  rescheduleTry,
  skipTry,
  skipUnstartedTasks,
  startTry,
  startTryRowOnce,
  succeedTry,
  TiChangeNotifier,
  tryStartDate,
  updateTryRow,
  type Actor,
  type Db,
  type MetadataDb,
  type MoveResult,
  type NextKwargs,
  type TaskInstanceRow,
  type TryEnd,
  type TryKey,
} from '../store/index.ts';
import type { SerializedDagCache } from './dagCache.ts';
import type { EngineEvents } from './events.ts';

/** One try of a task instance (the key every try verb is checked against). */
export type { TryKey } from '../store/index.ts';

export type StartResult = { ok: true; ti: TaskInstanceRow } | { ok: false; state: TaskInstanceState | 'missing'; reason: string };

export type { TryOutcome, TrySuspension } from '../core/index.ts';

/**
 * Who reports a try's end from outside the task process: `process` names the task process that exited
 * (its pid), so an exit of an earlier process of the same try (one that deferred or was rescheduled, while
 * the try already runs again in a new one) does not end it.
 */
export interface FinishExtra {
  exitCode?: number | null;
  exitedProcess?: { pid: number };
  /** Who reports the end (history); default `worker`, the task process through the Execution API. */
  actor?: Actor;
}

export interface TaskLifecycleDeps {
  db: MetadataDb;
  dags: SerializedDagCache;
  events: EngineEvents;
  now: () => number;
  onFinished?: (ti: TaskInstanceRow) => void;
}

export class TaskLifecycle {
  readonly #d: TaskLifecycleDeps;

  readonly #notifier: TiChangeNotifier;

  constructor(deps: TaskLifecycleDeps) {
    this.#d = deps;
    this.#notifier = new TiChangeNotifier(deps.db);
  }

  /**
   * `queued → running` for exactly this try; a claim by another process is refused. The same process
   * (same host and pid) claiming again is answered as a success: it retries when the first answer was
   * lost (the API server died after the update committed), and refusing it would orphan a running try.
   */
  async start(key: TryKey, info: { hostname: string; pid: number | null; externalExecutorId?: string | null; actor?: Actor }): Promise<StartResult> {
    const now = this.#d.now();
    const r = await startTry(this.#d.db.db, key, info, { actor: info.actor ?? 'worker' }, now);
    if (r.kind === 'moved') {
      const row = r.row;
      await updateTryRow(this.#d.db.db, key.tiId, key.tryNumber, {
        state: 'running',
        hostname: info.hostname,
        pid: info.pid,
        external_executor_id: row.external_executor_id,
      });
      // A try continued after a reschedule or a deferral keeps the start of its first run.
      await startTryRowOnce(this.#d.db, key.tiId, key.tryNumber, now);
      this.#d.events.tiChanged({ dagRunId: row.dag_run_id, tiId: row.id, state: 'running' });
      return { ok: true, ti: row };
    }
    if (r.kind === 'missing') return { ok: false, state: 'missing', reason: `task instance ${key.tiId} does not exist` };
    const cur = r.current;
    if (cur.state === 'running' && cur.try_number === key.tryNumber && cur.hostname === info.hostname && cur.pid === info.pid && info.pid !== null) {
      return { ok: true, ti: cur };
    }
    return {
      ok: false,
      state: cur.state,
      reason: cur.try_number !== key.tryNumber ? `try ${key.tryNumber} is stale: the task instance is at try ${cur.try_number}` : `the try is ${cur.state}, not queued`,
    };
  }

  /** Record a heartbeat; returns the current state so a worker whose try was ended elsewhere stops. */
  async heartbeat(key: TryKey): Promise<{ state: TaskInstanceState | 'missing'; current: boolean }> {
    if ((await heartbeatTry(this.#d.db.db, key, this.#d.now())) === 'running') return { state: 'running', current: true };
    const cur = await this.#current(key.tiId);
    if (!cur) return { state: 'missing', current: false };
    return { state: cur.state, current: false };
  }

  /**
   * End the try. Only a try that is queued or running (and still the current try) can end; returns the
   * state it ended in, or null when it had already ended.
   */
  async finish(key: TryKey, reported: TryOutcome | TrySuspension, extra: FinishExtra = {}): Promise<TaskInstanceState | null> {
    const now = this.#d.now();
    const cur = await this.#current(key.tiId);
    if (!cur || cur.try_number !== key.tryNumber || (cur.state !== 'running' && cur.state !== 'queued' && cur.state !== 'deferred')) return null;
    if (extra.exitedProcess && !this.#exitEndsTry(cur, extra.exitedProcess.pid)) return null;
    if (reported.kind === 'deferred' || reported.kind === 'rescheduled') return this.#suspend(cur, reported, now, { actor: extra.actor ?? 'worker' });
    let outcome: TryOutcome = reported;
    const skipIds = outcome.kind === 'success' ? [...new Set(outcome.skipTaskIds ?? [])] : [];
    if (skipIds.length > 0) {
      const invalid = await this.#notDescendants(cur, skipIds);
      if (invalid) outcome = { kind: 'failed', failure: { kind: 'exception', message: invalid, failFast: true } };
    }
    const by = { actor: extra.actor ?? 'worker' };
    const exitCode = extra.exitCode ?? (outcome.kind === 'failed' ? (outcome.exitCode ?? null) : null);
    const end: TryEnd = { from: cur.state, endDate: now, durationMs: cur.start_date === null ? null : now - cur.start_date, exitCode };
    let move: (db: Db) => Promise<MoveResult<TaskInstanceRow>>;
    switch (outcome.kind) {
      case 'success':
        move = (db) => succeedTry(db, key, end, by, now);
        break;
      case 'skipped': {
        const reason = outcome.reason;
        move = (db) => skipTry(db, key, end, reason, by, now);
        break;
      }
      case 'failed': {
        const failure = outcome.failure;
        let retryAt: number | null = null;
        if (retryPolicyOf(failure) === 'retry' && hasRetriesLeft(cur.try_number, cur.max_tries)) {
          const task = (await this.#d.dags.get(cur.dag_id)).tasks.get(cur.task_id);
          retryAt = now + (task ? retryDelayMs(task.retry, cur.try_number) : 0);
        }
        move = (db) => failOrRetryTry(db, key, end, failure, retryAt, by, now);
        break;
      }
      default:
        return assertNever(outcome, 'try outcome');
    }
    const endAndSync = async (db: Db): Promise<TaskInstanceState | null> => {
      const r = await move(db);
      if (r.kind !== 'moved') return null;
      const row = r.row;
      await updateTryRow(db, key.tiId, key.tryNumber, { end_date: row.end_date, duration_ms: row.duration_ms, failure_reason: row.failure_reason, failure_kind: row.failure_kind, exit_code: row.exit_code, state: row.state });
      return row.state;
    };
    // The skips of a branching task commit with its success: the scheduler sees both or neither.
    const state =
      outcome.kind === 'success' && skipIds.length > 0
        ? await inTransaction(this.#d.db, async (tx) => {
            const ended = await endAndSync(tx.db);
            if (ended === null) return null;
            await skipUnstartedTasks(tx.db, cur.dag_run_id, skipIds, `skipped by '${cur.task_id}'`, by, now);
            return ended;
          })
        : await endAndSync(this.#d.db.db);
    if (state === null) return null;
    this.#d.events.tiChanged({ dagRunId: cur.dag_run_id, tiId: cur.id, state });
    this.#notifier.changed(cur.dag_run_id);
    this.#d.onFinished?.({ ...cur, state });
    return state;
  }

  /**
   * Whether the exit of task process `pid` ends the current try: not when the try has moved on to a
   * newer process (a try continued after a deferral or reschedule runs again in a new process, and until
   * that one claims it the row keeps the previous process's pid).
   */
  #exitEndsTry(cur: TaskInstanceRow, pid: number): boolean {
    if (cur.state === 'deferred') return false;
    if (cur.state === 'running') return cur.pid === null || cur.pid === pid;
    return cur.pid !== pid; // queued: a pid here is the previous process of a continued try
  }

  /**
   * `running → deferred` (trigger row written in the same transaction) or `running → up_for_reschedule`.
   * The try does not end: it continues later with the same try number.
   */
  async #suspend(cur: TaskInstanceRow, outcome: TrySuspension, now: number, by: { actor: Actor }): Promise<TaskInstanceState | null> {
    if (cur.state !== 'running') return null;
    const key = { tiId: cur.id, tryNumber: cur.try_number };
    // Read before the transaction: on SQLite a read outside it would wait for it to end.
    const executionTimeoutMs = outcome.kind === 'deferred' ? ((await this.#d.dags.get(cur.dag_id)).tasks.get(cur.task_id)?.executionTimeoutMs ?? null) : null;
    const state = await inTransaction(this.#d.db, async (tx) => {
      let r: MoveResult<TaskInstanceRow>;
      if (outcome.kind === 'deferred') {
        const triggerId = await insertTrigger(tx.db, outcome.trigger, now);
        const firstStart = (await tryStartDate(tx, cur.id, cur.try_number)) ?? cur.start_date ?? now;
        r = await deferTry(tx.db, key, {
          triggerId,
          method: outcome.method,
          nextKwargs: JSON.stringify({ kwargs: outcome.kwargs } satisfies NextKwargs),
          timeoutAt: deferralDeadline(now, outcome.timeoutMs, firstStart, executionTimeoutMs),
        }, by, now);
      } else {
        r = await rescheduleTry(tx.db, key, outcome.rescheduleAt, by, now);
      }
      if (r.kind !== 'moved') return null;
      await updateTryRow(tx.db, cur.id, cur.try_number, { state: r.row.state });
      return r.row.state;
    });
    if (state === null) return null;
    this.#d.events.tiChanged({ dagRunId: cur.dag_run_id, tiId: cur.id, state });
    this.#notifier.changed(cur.dag_run_id);
    return state;
  }

  /** Why `ids` may not be skipped by `ti` (they must be tasks below it), or null when they may. */
  async #notDescendants(ti: TaskInstanceRow, ids: string[]): Promise<string | null> {
    const dag = await this.#d.dags.get(ti.dag_id);
    const below = new Set<string>();
    const stack = [...(dag.tasks.get(ti.task_id)?.downstream ?? [])];
    while (stack.length > 0) {
      const id = stack.pop() as string;
      if (below.has(id)) continue;
      below.add(id);
      stack.push(...(dag.tasks.get(id)?.downstream ?? []));
    }
    const bad = ids.filter((id) => !below.has(id));
    return bad.length === 0 ? null : `task '${ti.task_id}' may only skip tasks downstream of it, not ${bad.map((b) => `'${b}'`).join(', ')}`;
  }

  async #current(tiId: string): Promise<TaskInstanceRow | undefined> {
    return findTaskInstanceById(this.#d.db, tiId);
  }
}

/**
 * When a deferral fails for time: its own timeout, bounded by the task's execution timeout counted from
 * the try's first start (Airflow's rule). Null when neither is set.
 */
export function deferralDeadline(now: number, timeoutMs: number | null, tryStartedAt: number, executionTimeoutMs: number | null): number | null {
  const own = timeoutMs === null ? null : now + timeoutMs;
  const exec = executionTimeoutMs === null ? null : tryStartedAt + executionTimeoutMs;
  if (own === null) return exec;
  return exec === null ? own : Math.min(own, exec);
}
