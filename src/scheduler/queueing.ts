/**
 * The critical section: pick `scheduled` task instances by priority and queue as many as every limit
 * allows — executor slots (parallelism), pool slots, and each DAG's maxActiveTasks. On PostgreSQL the
 * pool rows are locked for the transaction, so two schedulers never over-fill a pool between them; the
 * guarded `scheduled → queued` update makes each try queued exactly once. A task whose pool does not
 * exist fails with the command that creates the pool.
 */
import { sql } from 'kysely';
import type { MetadataDb } from '../store/db.ts';
import { failUnqueueable, queueTis } from '../store/transitions/index.ts';
import type { TaskInstanceRow } from '../store/schema.ts';

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

type PoolRow = { name: string; slots: number; include_deferred: number };

/**
 * Pool sizes and DAG limits change rarely; a scheduler re-reads them at most once per `maxAgeMs` instead
 * of every loop. (On PostgreSQL the pool rows are still selected every time: that `FOR UPDATE` is the
 * lock that serializes schedulers.)
 */
export class QueueingCache {
  readonly maxAgeMs: number;
  pools: { rows: PoolRow[]; at: number } | undefined;
  dagLimits: { byDag: Map<string, number>; at: number } | undefined;

  constructor(maxAgeMs = 1000) {
    this.maxAgeMs = maxAgeMs;
  }
}

export async function queueScheduledTasks(m: MetadataDb, limits: QueueLimits, now: number, cache: QueueingCache = new QueueingCache(0)): Promise<QueuedTry[]> {
  if (limits.openExecutorSlots <= 0) return [];
  return m.db.transaction().execute(async (tx) => {
    const fresh = (entry: { at: number } | undefined) => entry !== undefined && now - entry.at < cache.maxAgeMs;
    let pools: PoolRow[];
    let poolsFromCache = false;
    if (m.dialect === 'postgres') {
      pools = (await sql<PoolRow>`select name, slots, include_deferred from pool for update`.execute(tx)).rows;
    } else if (fresh(cache.pools) && cache.pools) {
      pools = cache.pools.rows;
      poolsFromCache = true;
    } else {
      pools = await tx.selectFrom('pool').select(['name', 'slots', 'include_deferred']).execute();
      cache.pools = { rows: pools, at: now };
    }
    const used = await tx
      .selectFrom('task_instance')
      .select(['pool', 'dag_id', 'state', (eb) => eb.fn.sum<number>('pool_slots').as('slots'), (eb) => eb.fn.countAll<number>().as('n')])
      .where('state', 'in', ['queued', 'running', 'deferred'])
      .groupBy(['pool', 'dag_id', 'state'])
      .execute();
    // Each DAG's maxActiveTasks as last parsed: a scheduler may not have this DAG in its cache yet (just
    // restarted, or the run belongs to another scheduler's turn), and a guess would break the limit.
    if (!fresh(cache.dagLimits)) {
      const rows = await tx.selectFrom('dag').select(['dag_id', 'max_active_tasks']).execute();
      cache.dagLimits = { byDag: new Map(rows.map((d) => [d.dag_id, Number(d.max_active_tasks)])), at: now };
    }
    const parsedLimits = cache.dagLimits?.byDag ?? new Map<string, number>();
    const maxActiveTasks = (dagId: string) => parsedLimits.get(dagId) ?? limits.maxActiveTasks(dagId);
    const poolOpen = new Map<string, number>(pools.map((p) => [p.name, Number(p.slots)]));
    const includeDeferred = new Set(pools.filter((p) => Number(p.include_deferred) === 1).map((p) => p.name));
    const dagActive = new Map<string, number>();
    for (const u of used) {
      if (u.state !== 'deferred' || includeDeferred.has(u.pool)) poolOpen.set(u.pool, (poolOpen.get(u.pool) ?? 0) - Number(u.slots));
      if (u.state !== 'deferred') dagActive.set(u.dag_id, (dagActive.get(u.dag_id) ?? 0) + Number(u.n));
    }
    let q = tx
      .selectFrom('task_instance')
      .select(['id', 'dag_id', 'run_id', 'task_id', 'map_index', 'queue', 'priority_weight', 'pool', 'pool_slots', 'dag_run_id'])
      .where('state', '=', 'scheduled')
      .orderBy('priority_weight', 'desc')
      .orderBy('dag_run_id')
      .orderBy('map_index')
      .limit(limits.maxTisPerQuery);
    // A full pool or a DAG at its maxActiveTasks can queue nothing now: leave their tasks out of the
    // query, or enough of them at the top of the priority order would hide every other ready task
    // beyond maxTisPerQuery, which would then wait for them (Airflow's starved pools and DAGs).
    const starvedPools = [...poolOpen].filter(([, open]) => open <= 0).map(([name]) => name);
    const starvedDags = [...dagActive].filter(([dagId, n]) => n >= maxActiveTasks(dagId)).map(([dagId]) => dagId);
    if (starvedPools.length > 0) q = q.where('pool', 'not in', starvedPools);
    if (starvedDags.length > 0) q = q.where('dag_id', 'not in', starvedDags);
    if (m.dialect === 'postgres') q = q.forUpdate().skipLocked();
    const candidates = await q.execute();
    const chosen: typeof candidates = [];
    const unknownPools = new Map<string, string[]>();
    let slots = limits.openExecutorSlots;
    for (const c of candidates) {
      const open = poolOpen.get(c.pool);
      if (open === undefined) {
        unknownPools.set(c.pool, [...(unknownPools.get(c.pool) ?? []), c.id]);
        continue;
      }
      if (slots <= 0) break;
      if (open < c.pool_slots) continue; // pool full: stays scheduled
      const active = dagActive.get(c.dag_id) ?? 0;
      if (active >= maxActiveTasks(c.dag_id)) continue;
      poolOpen.set(c.pool, open - c.pool_slots);
      dagActive.set(c.dag_id, active + 1);
      slots--;
      chosen.push(c);
    }
    // One batched, guarded update: a task another scheduler queued meanwhile is simply not returned.
    const tries = await queueTis(tx, chosen.map((c) => c.id), limits.executorName, now, limits.jobId);
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
      await failUnqueueable(tx, ids, { kind: 'configError', message: `pool '${pool}' does not exist; create it with \`capstan pools set ${pool} <slots>\` and clear the task` }, now);
    }
    return out;
  });
}
