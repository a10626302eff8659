/**
 * The critical section: pick `scheduled` task instances by priority and queue as many as every limit
 * allows — executor slots (parallelism), pool slots, and each DAG's maxActiveTasks. On PostgreSQL the
 * pool rows are locked for the transaction, so two schedulers never over-fill a pool between them; the
 * guarded `scheduled → queued` update makes each try queued exactly once. A task whose pool does not
 * exist fails with the command that creates the pool.
 */
import {
  commitQueued,
  failUnqueueableTis,
  inTransaction,
  readDagTaskLimits,
  readPoolSizes,
  readSlotUsage,
  selectQueueCandidates,
  type MetadataDb,
  type PoolSizeRow,
  type TaskInstanceRow,
} from '../store/index.ts';
import { chooseTries, openCapacity, starved } from './queueDecision.ts';

export interface QueuedTry {
  ti: Pick<TaskInstanceRow, 'id' | 'dag_id' | 'run_id' | 'task_id' | 'map_index' | 'queue' | 'priority_weight' | 'dag_run_id'>;
  tryNumber: number;
}

export interface QueueLimits {
  openExecutorSlots: number;
  maxTisPerQuery: number;
  /** Fallback for a DAG missing from the `dag` table, whose stored maxActiveTasks is used first. */
  maxActiveTasks: (dagId: string) => number;
  executorName: string;
  /** The queuing scheduler's job id, recorded for adoption. */
  jobId: string | null;
}

/**
 * Pool sizes and DAG limits change rarely; a scheduler re-reads them at most once per `maxAgeMs` instead
 * of every loop. (On PostgreSQL the pool rows are still selected every time: that `FOR UPDATE` is the
 * lock that serializes schedulers.)
 */
export class QueueingCache {
  readonly maxAgeMs: number;
  pools: { rows: PoolSizeRow[]; at: number } | undefined;
  dagLimits: { byDag: Map<string, number>; at: number } | undefined;

  constructor(maxAgeMs = 1000) {
    this.maxAgeMs = maxAgeMs;
  }
}

/**
 * The critical section, in one transaction: read pool sizes (locking them on PostgreSQL), slots in use
 * and DAG limits; leave full pools and DAGs out of the candidate query; choose by priority what fits
 * (queueDecision.ts, pure); queue the chosen tries in one guarded update; fail tasks whose pool does not
 * exist. Returns the tries queued, with their new try numbers.
 */
export async function queueScheduledTasks(m: MetadataDb, limits: QueueLimits, now: number, cache: QueueingCache = new QueueingCache(0)): Promise<QueuedTry[]> {
  if (limits.openExecutorSlots <= 0) return [];
  return inTransaction(m, async (tx) => {
    const fresh = (entry: { at: number } | undefined) => entry !== undefined && now - entry.at < cache.maxAgeMs;
    let pools: PoolSizeRow[];
    let poolsFromCache = false;
    // On PostgreSQL the pool rows are read (and locked) every time: that lock serializes schedulers.
    if (tx.dialect !== 'postgres' && fresh(cache.pools) && cache.pools) {
      pools = cache.pools.rows;
      poolsFromCache = true;
    } else {
      pools = await readPoolSizes(tx);
      if (tx.dialect !== 'postgres') cache.pools = { rows: pools, at: now };
    }
    const used = await readSlotUsage(tx);
    // Each DAG's maxActiveTasks as last parsed: a scheduler may not have this DAG in its cache yet (just
    // restarted, or the run belongs to another scheduler's turn), and a guess would break the limit.
    if (!fresh(cache.dagLimits)) cache.dagLimits = { byDag: await readDagTaskLimits(tx), at: now };
    const parsedLimits = cache.dagLimits?.byDag ?? new Map<string, number>();
    const maxActiveTasks = (dagId: string) => parsedLimits.get(dagId) ?? limits.maxActiveTasks(dagId);
    const capacity = openCapacity(pools, used);
    const candidates = await selectQueueCandidates(tx, limits.maxTisPerQuery, starved(capacity, maxActiveTasks));
    const { chosen, unknownPools } = chooseTries(candidates, capacity, { openExecutorSlots: limits.openExecutorSlots, maxActiveTasks });
    // One batched, guarded update: a task another scheduler queued meanwhile is simply not returned.
    const tries = await commitQueued(tx, chosen.map((c) => c.id), limits.executorName, now, limits.jobId);
    const out: QueuedTry[] = [];
    for (const c of chosen) {
      const tryNumber = tries.get(c.id);
      if (tryNumber !== undefined) out.push({ ti: c, tryNumber });
    }
    // Unlike Airflow, which leaves such tasks scheduled forever, a missing pool fails the task with the fix —
    // but only when the pool list was read in this transaction: a cached list may predate a pool created
    // a moment ago, so those tasks stay scheduled and the next loop reads the pools afresh.
    if (poolsFromCache && unknownPools.size > 0) {
      cache.pools = undefined;
      return out;
    }
    for (const [pool, ids] of unknownPools) {
      await failUnqueueableTis(tx, ids, { kind: 'configError', message: `pool '${pool}' does not exist; create it with \`capstan pools set ${pool} <slots>\` and clear the task` }, now);
    }
    return out;
  });
}
