/** Rendered template fields of task tries: written once per try before it executes, read by `tasks render --stored`. */
import type { JsonObject } from '../core/index.ts';
import type { MetadataDb } from './db.ts';

/**
 * Store a try's rendered fields on its try row, and on the task instance while that try is its latest
 * (a stale try, already superseded by a clear, does not overwrite the newer one's).
 */
export async function saveRenderedFields(m: MetadataDb, tiId: string, tryNumber: number, rendered: JsonObject): Promise<void> {
  const text = JSON.stringify(rendered);
  // The task instance row first, then its try row: the order every state change locks them in (it moves the
  // task instance, then copies it onto the try row). The other order deadlocked on PostgreSQL against a run
  // being marked while its task wrote its rendered fields (40P01 in test/engine/mark.test.ts).
  await m.db.transaction().execute(async (tx) => {
    await tx.updateTable('task_instance').set({ rendered_fields: text }).where('id', '=', tiId).where('try_number', '=', tryNumber).execute();
    await tx.updateTable('task_instance_try').set({ rendered_fields: text }).where('ti_id', '=', tiId).where('try_number', '=', tryNumber).execute();
  });
}

/** The rendered fields of one try (default: the task instance's latest), or null when it stored none. */
export async function loadRenderedFields(m: MetadataDb, tiId: string, tryNumber?: number): Promise<{ tryNumber: number; rendered: JsonObject } | null> {
  let q = m.db.selectFrom('task_instance_try').select(['try_number', 'rendered_fields']).where('ti_id', '=', tiId).where('rendered_fields', 'is not', null);
  q = tryNumber === undefined ? q.orderBy('try_number', 'desc').limit(1) : q.where('try_number', '=', tryNumber);
  const row = await q.executeTakeFirst();
  if (!row?.rendered_fields) return null;
  return { tryNumber: row.try_number, rendered: JSON.parse(row.rendered_fields) as JsonObject };
}
