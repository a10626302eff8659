/**
 * The DAG-level callback of an ended run (`dag_run.callback_state`): `pending` when the run ends with a
 * callback to call, `running` while one scheduler calls it, then `done` or `failed`. Claiming is a guarded
 * update, so with several schedulers each callback is called once.
 */
import type { DagRunCallbackState, DagRunRow } from './schema.ts';
import type { MetadataDb } from './db.ts';

/** Up to `limit` runs whose callback is due, oldest first. */
export async function pendingDagCallbacks(m: MetadataDb, limit: number): Promise<DagRunRow[]> {
  return m.db.selectFrom('dag_run').selectAll().where('callback_state', '=', 'pending').orderBy('id').limit(limit).execute();
}

/** Claim a run's pending callback (`pending → running`); false when another scheduler claimed it. */
export async function claimDagCallback(m: MetadataDb, dagRunId: number): Promise<boolean> {
  const claimed = await m.db.updateTable('dag_run').set({ callback_state: 'running' }).where('id', '=', dagRunId).where('callback_state', '=', 'pending').executeTakeFirst();
  return Number(claimed.numUpdatedRows) > 0;
}

/** Record the outcome of a claimed callback (`running → done | failed`). */
export async function finishDagCallback(m: MetadataDb, dagRunId: number, outcome: Extract<DagRunCallbackState, 'done' | 'failed'>): Promise<void> {
  await m.db.updateTable('dag_run').set({ callback_state: outcome }).where('id', '=', dagRunId).where('callback_state', '=', 'running').execute();
}

/** Record a callback's outcome without a claim (the in-process runner calls the callback itself). */
export async function setDagCallbackOutcome(m: MetadataDb, dagRunId: number, outcome: Extract<DagRunCallbackState, 'done' | 'failed'>): Promise<void> {
  await m.db.updateTable('dag_run').set({ callback_state: outcome }).where('id', '=', dagRunId).execute();
}
