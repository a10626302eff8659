/**
 * The verbs of a task try after it is queued: start, heartbeat, succeed, fail (retry or not), skip.
 * The Execution API calls them on behalf of task processes, executors call them when a process dies
 * without reporting, and the scheduler for zombies and timeouts. Each is one guarded update, so a try is
 * started at most once and ended at most once.
 */
import { hasRetriesLeft, retryDelayMs } from '../core/retry.ts';
import type { TaskInstanceState } from '../core/states.ts';
import type { MetadataDb } from '../store/db.ts';
import { sql, type RawBuilder, type Transaction } from 'kysely';
import { assertNever } from '../core/errors.ts';
import type { Database, TaskInstanceRow, TaskInstanceUpdate } from '../store/schema.ts';
import { TiChangeNotifier } from '../store/notifications.ts';
import { skipTaskInstancesOfRun, updateTryRow } from '../store/taskInstances.ts';
import { insertTrigger, type NextKwargs } from '../store/triggers.ts';
import type { JsonObject } from '../core/serialized.ts';
import type { SerializedTrigger } from '../triggers/types.ts';
import type { SerializedDagCache } from './dagCache.ts';
import type { EngineEvents } from './events.ts';

export interface TryKey {
  tiId: string;
  tryNumber: number;
}

export type StartResult = { ok: true; ti: TaskInstanceRow } | { ok: false; state: TaskInstanceState | 'missing'; reason: string };

/** How a try ended, as reported by the task process or inferred by the platform. */
export type TryOutcome =
  /** `skipTaskIds`: downstream tasks to skip as the try succeeds (branch, short-circuit, latest-only). */
  | { kind: 'success'; skipTaskIds?: string[] }
  | { kind: 'skipped'; reason: string }
  | { kind: 'failed'; reason: string; retryable: boolean; exitCode?: number | null };

/** How a try pauses without ending: it continues later with the same try number. */
export type TrySuspension =
  /** The try hands its wait to `trigger` and resumes in `method` when it fires (`timeoutMs`: null = none). */
  | { kind: 'deferred'; trigger: SerializedTrigger; method: string; kwargs: JsonObject; timeoutMs: number | null }
  /** A reschedule-mode sensor: the try continues at `rescheduleAt` (epoch ms), its slot free meanwhile. */
  | { kind: 'rescheduled'; rescheduleAt: number };

/**
 * Who reports a try's end from outside the task process: `process` names the task process that exited
 * (its pid), so an exit of an earlier process of the same try (one that deferred or was rescheduled, while
 * the try already runs again in a new one) does not end it.
 */
export interface FinishExtra {
  exitCode?: number | null;
  exitedProcess?: { pid: number };
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
  async start(key: TryKey, info: { hostname: string; pid: number | null; externalExecutorId?: string | null }): Promise<StartResult> {
    const now = this.#d.now();
    const row = await this.#d.db.db
      .updateTable('task_instance')
      .set({
        state: 'running',
        start_date: now,
        hostname: info.hostname,
        pid: info.pid,
        last_heartbeat_at: now,
        updated_at: now,
        ...(info.externalExecutorId ? { external_executor_id: info.externalExecutorId } : {}),
      })
      .where('id', '=', key.tiId)
      .where('try_number', '=', key.tryNumber)
      .where('state', '=', 'queued')
      .returningAll()
      .executeTakeFirst();
    if (row) {
      await updateTryRow(this.#d.db.db, key.tiId, key.tryNumber, {
        state: 'running',
        hostname: info.hostname,
        pid: info.pid,
        external_executor_id: row.external_executor_id,
      });
      // A try continued after a reschedule or a deferral keeps the start of its first run.
      await this.#d.db.db.updateTable('task_instance_try').set({ start_date: now }).where('ti_id', '=', key.tiId).where('try_number', '=', key.tryNumber).where('start_date', 'is', null).execute();
      this.#d.events.tiChanged({ dagRunId: row.dag_run_id, tiId: row.id, state: 'running' });
      return { ok: true, ti: row };
    }
    const cur = await this.#current(key.tiId);
    if (!cur) return { ok: false, state: 'missing', reason: `task instance ${key.tiId} does not exist` };
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
    const now = this.#d.now();
    const r = await this.#d.db.db
      .updateTable('task_instance')
      .set({ last_heartbeat_at: now })
      .where('id', '=', key.tiId)
      .where('try_number', '=', key.tryNumber)
      .where('state', '=', 'running')
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) > 0) return { state: 'running', current: true };
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
    if (reported.kind === 'deferred' || reported.kind === 'rescheduled') return this.#suspend(cur, reported, now);
    let outcome: TryOutcome = reported;
    const skipIds = outcome.kind === 'success' ? [...new Set(outcome.skipTaskIds ?? [])] : [];
    if (skipIds.length > 0) {
      const invalid = await this.#notDescendants(cur, skipIds);
      if (invalid) outcome = { kind: 'failed', reason: invalid, retryable: false };
    }
    let state: TaskInstanceState;
    let nextRetryAt: number | null = null;
    let reason: string | null = null;
    switch (outcome.kind) {
      case 'success':
        state = 'success';
        break;
      case 'skipped':
        state = 'skipped';
        reason = outcome.reason;
        break;
      case 'failed': {
        reason = outcome.reason;
        if (outcome.retryable && hasRetriesLeft(cur.try_number, cur.max_tries)) {
          state = 'up_for_retry';
          const task = (await this.#d.dags.get(cur.dag_id)).tasks.get(cur.task_id);
          nextRetryAt = now + (task ? retryDelayMs(task.retry, cur.try_number) : 0);
        } else {
          state = 'failed';
        }
        break;
      }
      default:
        return assertNever(outcome, 'try outcome');
    }
    const exitCode = extra.exitCode ?? (outcome.kind === 'failed' ? (outcome.exitCode ?? null) : null);
    const ended = { end_date: now, duration_ms: cur.start_date === null ? null : now - cur.start_date, failure_reason: reason, exit_code: exitCode };
    // The try is over: a next try starts with execute(), not with the method a deferral resumed into.
    const noResume = { next_method: null, next_kwargs: null, trigger_id: null, trigger_timeout_at: null };
    const end = async (db: MetadataDb['db'] | Transaction<Database>): Promise<boolean> => {
      const r = await db
        .updateTable('task_instance')
        .set({ ...ended, ...noResume, state, next_retry_at: nextRetryAt, updated_at: now })
        .where('id', '=', key.tiId)
        .where('try_number', '=', key.tryNumber)
        .where('state', '=', cur.state)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      await updateTryRow(db, key.tiId, key.tryNumber, { ...ended, state });
      return true;
    };
    // The skips of a branching task commit with its success: the scheduler sees both or neither.
    const done =
      state === 'success' && skipIds.length > 0
        ? await this.#d.db.db.transaction().execute(async (tx) => {
            if (!(await end(tx))) return false;
            await skipTaskInstancesOfRun(tx, cur.dag_run_id, skipIds, now, `skipped by '${cur.task_id}'`);
            return true;
          })
        : await end(this.#d.db.db);
    if (!done) return null;
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
  async #suspend(cur: TaskInstanceRow, outcome: TrySuspension, now: number): Promise<TaskInstanceState | null> {
    if (cur.state !== 'running') return null;
    const state: TaskInstanceState = outcome.kind === 'deferred' ? 'deferred' : 'up_for_reschedule';
    // Read before the transaction: on SQLite a read outside it would wait for it to end.
    const executionTimeoutMs = outcome.kind === 'deferred' ? ((await this.#d.dags.get(cur.dag_id)).tasks.get(cur.task_id)?.executionTimeoutMs ?? null) : null;
    const done = await this.#d.db.db.transaction().execute(async (tx) => {
      let set: TaskInstanceUpdate | { state: TaskInstanceState; next_retry_at: number; reschedule_count: RawBuilder<number>; end_date: number; updated_at: number };
      if (outcome.kind === 'deferred') {
        const triggerId = await insertTrigger(tx, outcome.trigger, now);
        const firstStart = (await tx.selectFrom('task_instance_try').select('start_date').where('ti_id', '=', cur.id).where('try_number', '=', cur.try_number).executeTakeFirst())?.start_date ?? cur.start_date ?? now;
        set = {
          state,
          trigger_id: triggerId,
          next_method: outcome.method,
          next_kwargs: JSON.stringify({ kwargs: outcome.kwargs } satisfies NextKwargs),
          trigger_timeout_at: deferralDeadline(now, outcome.timeoutMs, firstStart, executionTimeoutMs),
          updated_at: now,
        };
      } else {
        set = { state, next_retry_at: outcome.rescheduleAt, reschedule_count: sql<number>`reschedule_count + 1`, end_date: now, updated_at: now };
      }
      const r = await tx.updateTable('task_instance').set(set).where('id', '=', cur.id).where('try_number', '=', cur.try_number).where('state', '=', 'running').executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      await updateTryRow(tx, cur.id, cur.try_number, { state });
      return true;
    });
    if (!done) return null;
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
    return this.#d.db.db.selectFrom('task_instance').selectAll().where('id', '=', tiId).executeTakeFirst();
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
