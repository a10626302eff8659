/**
 * The scheduler's view of one running DAG run: the state of each task instance, kept current by reading
 * only the rows changed since the last look (indexed by run and updated_at), with a full reload now and
 * then. Counts per state and the set of tasks waiting to retry are maintained as rows change, so a loop
 * costs what changed, not the size of the run (a 10,000-task chain advances one task per loop).
 */
import { isTerminal, type TaskInstanceState } from '../core/index.ts';
import { tiChangesSince, tiStatesOfRun, type MetadataDb, type TiStateRow } from '../store/index.ts';

/**
 * Rows changed within this window before the last sync are read again: a write whose timestamp was taken
 * before our last read may commit after it (a writer waiting for SQLite's lock, a PostgreSQL commit that
 * lands late, clock skew between hosts). Every re-read row costs the loop — at 1,000 task changes a
 * second a 500 ms window re-reads ~500 rows per loop — so the window is short, shorter on SQLite (one
 * machine, one clock, writers serialized); a change it still misses is found by the full reload, which
 * is cheap enough to do every few seconds.
 */
const SYNC_OVERLAP_MS: Record<MetadataDb['dialect'], number> = { sqlite: 150, postgres: 500 };
const FULL_RELOAD_EVERY_MS = 10_000;

/** States in which a task instance is being worked on (or will be without a new decision). */
export const ACTIVE_STATES: ReadonlySet<TaskInstanceState> = new Set(['scheduled', 'queued', 'running', 'up_for_retry', 'up_for_reschedule', 'deferred']);

/**
 * The snapshot's key of a task instance: the task id for an unmapped one (map index -1, which is also a
 * mapped task's placeholder before it expands), `task[i]` for map index i.
 */
export function tiKey(taskId: string, mapIndex: number): string {
  return mapIndex < 0 ? taskId : `${taskId}[${mapIndex}]`;
}

export class RunSnapshot {
  readonly dagRunId: number;
  /** Keyed by {@link tiKey}: the task id for unmapped task instances, `task[i]` for mapped ones. */
  readonly byTask = new Map<string, TiStateRow>();
  /** Tasks in `up_for_retry` or `up_for_reschedule`, whose `next_retry_at` the scheduler watches. */
  readonly waitingRetry = new Set<string>();
  /** Key of each row id (a mapped task's placeholder row becomes map index 0 when it expands). */
  readonly #keyOfId = new Map<string, string>();
  /** Keys of each task's task instances. */
  readonly #keysOfTask = new Map<string, Set<string>>();
  #terminal = 0;
  #active = 0;
  #syncedAt = 0;
  #fullAt = 0;

  constructor(dagRunId: number) {
    this.dagRunId = dagRunId;
  }

  /** Task instances not yet in a terminal state. */
  get unfinished(): number {
    return this.byTask.size - this.#terminal;
  }

  /** Task instances scheduled, queued, running, deferred or waiting to retry/reschedule. */
  get active(): number {
    return this.#active;
  }

  /**
   * Bring the snapshot up to date; returns the rows whose state changed (all rows after a full reload)
   * and whether it was a full reload.
   */
  async sync(m: MetadataDb, now: number): Promise<{ changed: TiStateRow[]; full: boolean }> {
    const full = this.#fullAt === 0 || now - this.#fullAt > FULL_RELOAD_EVERY_MS;
    const rows = full ? await tiStatesOfRun(m, this.dagRunId) : await tiChangesSince(m, this.dagRunId, this.#syncedAt - SYNC_OVERLAP_MS[m.dialect]);
    if (full) this.#clear();
    const changed: TiStateRow[] = [];
    for (const r of rows) {
      const prev = this.byTask.get(this.#keyOfId.get(r.id) ?? tiKey(r.task_id, r.map_index));
      if (full || !prev || prev.state !== r.state || prev.try_number !== r.try_number || prev.map_index !== r.map_index) changed.push(r);
      this.#put(r);
    }
    if (full) this.#fullAt = now;
    this.#syncedAt = now;
    return { changed, full };
  }

  /** Record a transition this scheduler made itself (`key` as in {@link tiKey}). */
  setState(key: string, state: TaskInstanceState, now: number): void {
    const row = this.byTask.get(key);
    if (row) this.#put({ ...row, state, updated_at: now });
  }

  /** Record rows this scheduler wrote itself (a mapped task's expansion). */
  put(rows: readonly TiStateRow[]): void {
    for (const r of rows) this.#put(r);
  }

  /** State of an unmapped task's instance (or of a mapped task's placeholder before it expands). */
  stateOf(taskId: string): TaskInstanceState | undefined {
    return this.byTask.get(taskId)?.state;
  }

  /** Every task instance of `taskId`, in map-index order (one row for an unmapped task). */
  rowsOf(taskId: string): TiStateRow[] {
    const rows: TiStateRow[] = [];
    for (const k of this.#keysOfTask.get(taskId) ?? []) {
      const r = this.byTask.get(k);
      if (r) rows.push(r);
    }
    return rows.length > 1 ? rows.sort((a, b) => a.map_index - b.map_index) : rows;
  }

  /** States of every task instance of `taskId` (each map index of a mapped task counts, as in Airflow). */
  statesOf(taskId: string): TaskInstanceState[] {
    const states: TaskInstanceState[] = [];
    for (const k of this.#keysOfTask.get(taskId) ?? []) {
      const r = this.byTask.get(k);
      if (r) states.push(r.state);
    }
    return states;
  }

  #put(row: TiStateRow): void {
    const key = tiKey(row.task_id, row.map_index);
    const oldKey = this.#keyOfId.get(row.id);
    if (oldKey !== undefined && oldKey !== key) this.#remove(oldKey);
    const prev = this.byTask.get(key);
    if (prev) this.#count(prev.state, -1);
    this.#count(row.state, +1);
    this.byTask.set(key, row);
    this.#keyOfId.set(row.id, key);
    let keys = this.#keysOfTask.get(row.task_id);
    if (!keys) this.#keysOfTask.set(row.task_id, (keys = new Set()));
    keys.add(key);
    if (row.state === 'up_for_retry' || row.state === 'up_for_reschedule') this.waitingRetry.add(key);
    else this.waitingRetry.delete(key);
  }

  #remove(key: string): void {
    const row = this.byTask.get(key);
    if (!row) return;
    this.#count(row.state, -1);
    this.byTask.delete(key);
    this.waitingRetry.delete(key);
    this.#keysOfTask.get(row.task_id)?.delete(key);
  }

  #count(state: TaskInstanceState, delta: number): void {
    if (isTerminal(state)) this.#terminal += delta;
    if (ACTIVE_STATES.has(state)) this.#active += delta;
  }

  #clear(): void {
    this.byTask.clear();
    this.#keyOfId.clear();
    this.#keysOfTask.clear();
    this.waitingRetry.clear();
    this.#terminal = 0;
    this.#active = 0;
  }
}
