/**
 * Expanding a mapped task into its task instances, when its trigger rule first lets it run (its
 * upstreams are done, so the XComs it maps over exist): the length comes from `core/mapping.ts` over the
 * resolved inputs, and the task's rows are made to match it.
 *
 * Rows follow Airflow: a run starts with one placeholder row at map index -1; expanding to n > 0 turns the
 * placeholder into index 0 and adds 1..n-1; expanding to 0 skips the placeholder (skipping then
 * propagates per trigger rules); an input that cannot be mapped, or more than `core.maxMapLength`
 * elements, fails it with the reason. After a clear the rows are expanded again: indexes past the new
 * length become `removed`, missing ones are added. Every write is guarded (the placeholder moves only
 * from index -1 in state `none`; inserts ignore rows that exist), so two schedulers expanding the same
 * task cannot double it.
 */
import { randomUUID } from 'node:crypto';
import { expansionLength, MappingError, mappingSources } from '../core/index.ts';
import type { JsonValue, SerializedTask } from '../core/index.ts';
import {
  clearMappedXComsFrom,
  endWaiting,
  indexPlaceholder,
  insertMappedTis,
  inTransaction,
  pullMappedXComs,
  pullXCom,
  removeTis,
  skipAsPlaceholder,
  type DagRunRow,
  type MetadataDb,
  type NewMappedTi,
  type TiStateRow,
} from '../store/index.ts';
import type { IndexedDag } from '../services/index.ts';
import type { RunSnapshot } from './runSnapshot.ts';

/** Default of `core.maxMapLength`, as Airflow's `max_map_length`. */
export const DEFAULT_MAX_MAP_LENGTH = 1024;

/** What expanding did: rows now waiting in `none` to be scheduled, or the task ended without running. */
export type ExpansionOutcome =
  | { kind: 'expanded'; length: number; ready: TiStateRow[] }
  | { kind: 'ended'; state: 'skipped' | 'failed'; reason: string }
  /** Another scheduler expanded it first; its rows arrive with the next sync. */
  | { kind: 'raced' };

/** The length a mapped task expands to, or why it cannot be expanded. */
export async function resolveExpansionLength(m: MetadataDb, run: Pick<DagRunRow, 'id'>, dag: IndexedDag, task: SerializedTask): Promise<{ length: number } | { error: string }> {
  if (!task.mapping) return { length: 1 };
  const values: Array<JsonValue | undefined> = [];
  for (const { source } of mappingSources(task.mapping)) {
    if (source.kind === 'literal') values.push(source.value);
    else if (dag.tasks.get(source.taskId)?.mapping) values.push(await pullMappedXComs(m, run.id, source.taskId, source.key));
    else values.push(await pullXCom(m, run.id, source.taskId, source.key));
  }
  try {
    return { length: expansionLength(task.mapping, values) };
  } catch (err) {
    if (err instanceof MappingError) return { error: err.hint ? `${err.message} (${err.hint})` : err.message };
    throw err;
  }
}

/**
 * Expand `task` (mapped, its trigger rule says run) in `run`, updating the store and `snap`. The caller
 * schedules the returned `ready` rows.
 */
export async function expandMappedTask(
  m: MetadataDb,
  run: Pick<DagRunRow, 'id' | 'dag_id' | 'run_id'>,
  dag: IndexedDag,
  task: SerializedTask,
  snap: RunSnapshot,
  now: number,
  maxMapLength: number,
): Promise<ExpansionOutcome> {
  const rows = snap.rowsOf(task.taskId);
  const resolved = await resolveExpansionLength(m, run, dag, task);
  let reason: string | null = 'error' in resolved ? `mapped task '${task.taskId}' cannot expand: ${resolved.error}` : null;
  const length = 'length' in resolved ? resolved.length : 0;
  if (reason === null && length > maxMapLength) {
    reason = `mapped task '${task.taskId}' would expand to ${length} task instances; the limit is ${maxMapLength} (core.maxMapLength) — map over fewer elements or raise core.maxMapLength`;
  }
  if (reason !== null) return endWaitingRows(m, rows, snap, 'failed', reason, now);
  if (length === 0) return expandToZero(m, rows, snap, task.taskId, now);
  return inTransaction(m, async (tx) => {
    const placeholder = rows.find((r) => r.map_index === -1);
    const written: TiStateRow[] = [];
    if (placeholder) {
      if (!(await indexPlaceholder(tx, placeholder.id, now))) return { kind: 'raced' } as const;
      written.push({ ...placeholder, map_index: 0, updated_at: now });
    }
    const have = new Set(rows.filter((r) => r.map_index >= 0).map((r) => r.map_index));
    if (placeholder) have.add(0);
    const fresh: NewMappedTi[] = [];
    for (let i = 0; i < length; i++) {
      if (have.has(i)) continue;
      fresh.push({
        id: randomUUID(),
        dag_run_id: run.id,
        dag_id: run.dag_id,
        run_id: run.run_id,
        task_id: task.taskId,
        map_index: i,
        state: 'none' as const,
        try_number: 0,
        max_tries: task.retry.retries,
        operator: task.operator,
        pool: task.pool,
        pool_slots: task.poolSlots,
        priority_weight: task.priorityWeight,
        queue: task.queue,
        updated_at: now,
      });
    }
    const inserted = await insertMappedTis(tx, fresh);
    for (const r of fresh) {
      if (inserted.has(r.id)) written.push({ id: r.id, task_id: r.task_id, map_index: r.map_index, state: 'none', try_number: 0, next_retry_at: null, updated_at: now });
    }
    // A re-expansion to fewer elements: the indexes past the end no longer exist in the input.
    const beyond = rows.filter((r) => r.map_index >= length);
    if (beyond.length > 0) {
      const ids = new Set(await removeTis(tx.db, beyond.map((r) => r.id), `map index beyond the expansion length ${length}`, now));
      for (const r of beyond) if (ids.has(r.id)) written.push({ ...r, state: 'removed', updated_at: now });
      // Their results are no longer part of the task's output (downstream pulls the list of what exists).
      await clearMappedXComsFrom(tx, run.id, task.taskId, length);
    }
    snap.put(written);
    const ready = snap.rowsOf(task.taskId).filter((r) => r.state === 'none' && r.map_index >= 0 && r.map_index < length);
    return { kind: 'expanded', length, ready } as const;
  });
}

/** Zero elements: the placeholder (or, after a clear, the lowest waiting index turned back into it) is skipped; other waiting rows are removed. */
async function expandToZero(m: MetadataDb, rows: TiStateRow[], snap: RunSnapshot, taskId: string, now: number): Promise<ExpansionOutcome> {
  const reason = `mapped task '${taskId}' expanded to zero task instances (its input is empty)`;
  const placeholder = rows.find((r) => r.map_index === -1);
  if (placeholder) return endWaitingRows(m, [placeholder], snap, 'skipped', reason, now);
  return inTransaction(m, async (tx) => {
    const waiting = rows.filter((r) => r.state === 'none');
    const [keep, ...rest] = waiting;
    if (!keep) return { kind: 'raced' } as const;
    const written: TiStateRow[] = [];
    if (rest.length > 0) {
      const ids = new Set(await removeTis(tx.db, rest.map((r) => r.id), reason, now, { onlyWaiting: true }));
      for (const r of rest) if (ids.has(r.id)) written.push({ ...r, state: 'removed', updated_at: now });
    }
    if (await skipAsPlaceholder(tx.db, keep.id, reason, now)) written.push({ ...keep, map_index: -1, state: 'skipped', updated_at: now });
    await clearMappedXComsFrom(tx, snap.dagRunId, taskId, 0);
    snap.put(written);
    return { kind: 'ended', state: 'skipped', reason } as const;
  });
}

/** End every waiting row of the task (the placeholder, or the cleared indexes) in `state` with `reason`. */
async function endWaitingRows(m: MetadataDb, rows: TiStateRow[], snap: RunSnapshot, state: 'skipped' | 'failed', reason: string, now: number): Promise<ExpansionOutcome> {
  const waiting = rows.filter((r) => r.state === 'none');
  if (waiting.length === 0) return { kind: 'raced' };
  const moved = await endWaiting(m.db, waiting.map((r) => r.id), state === 'failed' ? { to: 'failed', failure: { kind: 'configError', message: reason } } : { to: 'skipped' }, reason, now);
  const ids = new Set(moved);
  snap.put(waiting.filter((r) => ids.has(r.id)).map((r) => ({ ...r, state, updated_at: now })));
  return moved.length === 0 ? { kind: 'raced' } : { kind: 'ended', state, reason };
}
