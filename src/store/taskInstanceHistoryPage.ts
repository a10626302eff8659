/**
 * One page of a task instance's state history (the rows the transition verbs append, see transitions/), for
 * the API's history list: newest or oldest first, optionally one try only, with the total that matched.
 */
import type { MetadataDb } from './db.ts';
import type { Page, PageRequest } from './listPage.ts';
import type { TaskInstanceHistoryRow } from './schema.ts';

/** Which moves to read: those of the instance `tiId`, of try `tryNumber` only when given. */
export interface TaskInstanceHistoryQuery {
  tiId: string;
  tryNumber?: number;
}

/**
 * The state moves of one task instance, in the order they happened (`descending`: newest first).
 *
 * @example
 * const { items, total } = await pageTaskInstanceHistory(m, { tiId: ti.id }, { limit: 100, offset: 0 }, false);
 * // items[0]: { try_number: 1, from_state: 'none', to_state: 'scheduled', actor: 'scheduler', … }
 */
export async function pageTaskInstanceHistory(m: MetadataDb, query: TaskInstanceHistoryQuery, page: PageRequest, descending: boolean): Promise<Page<TaskInstanceHistoryRow>> {
  let q = m.db.selectFrom('task_instance_history').where('ti_id', '=', query.tiId);
  if (query.tryNumber !== undefined) q = q.where('try_number', '=', query.tryNumber);
  const [items, counted] = await Promise.all([
    q.selectAll().orderBy('id', descending ? 'desc' : 'asc').limit(page.limit).offset(page.offset).execute(),
    q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items, total: Number(counted.n) };
}
