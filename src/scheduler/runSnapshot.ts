/**
 * The scheduler's view of one running DAG run: the state of each task instance, kept current by reading
 * only the rows changed since the last look (indexed by run and updated_at), with a full reload now and
 * then. This keeps the cost of a loop proportional to what changed, not to the size of the run.
 */
import type { TaskInstanceState } from '../core/states.ts';
import type { MetadataDb } from '../store/db.ts';
import { tiChangesSince, tiStatesOfRun, type TiStateRow } from '../store/taskInstances.ts';

/** Rows changed within this window before the last sync are read again, to tolerate clock skew. */
const SYNC_OVERLAP_MS = 2_000;
const FULL_RELOAD_EVERY_MS = 60_000;

export class RunSnapshot {
  readonly dagRunId: number;
  /** Keyed by task id (unmapped task instances). */
  readonly byTask = new Map<string, TiStateRow>();
  #syncedAt = 0;
  #fullAt = 0;

  constructor(dagRunId: number) {
    this.dagRunId = dagRunId;
  }

  /**
   * Bring the snapshot up to date; returns the rows whose state changed (all rows after a full reload)
   * and whether it was a full reload.
   */
  async sync(m: MetadataDb, now: number): Promise<{ changed: TiStateRow[]; full: boolean }> {
    const full = this.#fullAt === 0 || now - this.#fullAt > FULL_RELOAD_EVERY_MS;
    const rows = full ? await tiStatesOfRun(m, this.dagRunId) : await tiChangesSince(m, this.dagRunId, this.#syncedAt - SYNC_OVERLAP_MS);
    const changed: TiStateRow[] = [];
    for (const r of rows) {
      const prev = this.byTask.get(r.task_id);
      if (full || !prev || prev.state !== r.state || prev.try_number !== r.try_number) changed.push(r);
      this.byTask.set(r.task_id, r);
    }
    if (full) this.#fullAt = now;
    this.#syncedAt = now;
    return { changed, full };
  }

  /** Record a transition this scheduler made itself. */
  setState(taskId: string, state: TaskInstanceState, now: number): void {
    const row = this.byTask.get(taskId);
    if (row) this.byTask.set(taskId, { ...row, state, updated_at: now });
  }

  stateOf(taskId: string): TaskInstanceState | undefined {
    return this.byTask.get(taskId)?.state;
  }
}
