/**
 * The rows of a mapped task (scheduler/expansion.ts decides how many): its placeholder at map index -1
 * becomes index 0, and the other indexes are inserted. Both writes are guarded — the placeholder moves
 * only from index -1 in state `none`, inserts skip rows that exist — so two schedulers expanding one task
 * cannot double it. Neither changes a state (`removed` / `skipped` are verbs of ./transitions/).
 */
import type { MetadataDb } from './db.ts';
import type { TaskInstanceTable } from './schema.ts';
import type { Insertable } from 'kysely';

/** A new task-instance row of a mapped task. */
export type NewMappedTi = Insertable<TaskInstanceTable> & { id: string; state: 'none'; map_index: number };

/** Rows per insert: below both dialects' bind-parameter limits. */
const INSERT_CHUNK = 1000;

/** Turn the placeholder (index -1, state `none`) into index 0; false when it is no longer the placeholder. */
export async function indexPlaceholder(m: MetadataDb, tiId: string, now: number): Promise<boolean> {
  const moved = await m.db.updateTable('task_instance').set({ map_index: 0, updated_at: now }).where('id', '=', tiId).where('map_index', '=', -1).where('state', '=', 'none').executeTakeFirst();
  return Number(moved.numUpdatedRows) > 0;
}

/** Insert the rows that do not exist yet (by run, task and map index); returns the ids inserted. */
export async function insertMappedTis(m: MetadataDb, rows: readonly NewMappedTi[]): Promise<Set<string>> {
  const ids = new Set<string>();
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    const inserted = await m.db
      .insertInto('task_instance')
      .values(rows.slice(i, i + INSERT_CHUNK))
      .onConflict((oc) => oc.columns(['dag_run_id', 'task_id', 'map_index']).doNothing())
      .returning('id')
      .execute();
    for (const r of inserted) ids.add(r.id);
  }
  return ids;
}
