/**
 * The decision of the critical section, as pure functions over plain data: how much room each pool and
 * each DAG has, which of them cannot take a task now (left out of the candidate query), and which
 * scheduled tries to queue, in priority order, under executor slots, pool slots and each DAG's
 * `maxActiveTasks`. No I/O: queueing.ts reads the inputs and commits the choice through the store.
 *
 * @example
 * const capacity = openCapacity(pools, usage);
 * const { pools: fullPools, dags: fullDags } = starved(capacity, maxActiveTasks); // leave these out of the query
 * const { chosen, unknownPools } = chooseTries(candidates, capacity, { openExecutorSlots: 8, maxActiveTasks });
 */

/** A pool's size and whether deferred tasks hold its slots. */
export interface PoolCapacity {
  name: string;
  slots: number;
  includeDeferred: boolean;
}

/** Slots and task instances in use, per pool, DAG and holding state. */
export interface SlotUse {
  pool: string;
  dagId: string;
  state: 'queued' | 'running' | 'deferred';
  /** Pool slots the task instances hold (the sum of their `pool_slots`). */
  slots: number;
  /** How many task instances. */
  count: number;
}

/** A scheduled task instance that may be queued (the store's row; only these fields are read). */
export interface QueueCandidate {
  id: string;
  dag_id: string;
  pool: string;
  pool_slots: number;
}

/** Open pool slots by pool name (may be negative after a pool shrank) and active tasks by DAG. */
export interface Capacity {
  poolOpen: ReadonlyMap<string, number>;
  dagActive: ReadonlyMap<string, number>;
}

/** Each DAG's maxActiveTasks. */
export type MaxActiveTasks = (dagId: string) => number;

/**
 * The room left in each pool and the tasks active per DAG. Queued and running tasks hold pool slots and
 * count against their DAG; deferred ones hold slots only in pools that count them (`includeDeferred`)
 * and never count against the DAG.
 */
export function openCapacity(pools: readonly PoolCapacity[], used: readonly SlotUse[]): Capacity {
  const poolOpen = new Map<string, number>(pools.map((p) => [p.name, p.slots]));
  const includeDeferred = new Set(pools.filter((p) => p.includeDeferred).map((p) => p.name));
  const dagActive = new Map<string, number>();
  for (const u of used) {
    if (u.state !== 'deferred' || includeDeferred.has(u.pool)) poolOpen.set(u.pool, (poolOpen.get(u.pool) ?? 0) - u.slots);
    if (u.state !== 'deferred') dagActive.set(u.dagId, (dagActive.get(u.dagId) ?? 0) + u.count);
  }
  return { poolOpen, dagActive };
}

/**
 * The pools with no open slot and the DAGs at their maxActiveTasks: they can queue nothing now, so their
 * tasks are left out of the candidate query — or enough of them at the top of the priority order would
 * hide every other ready task beyond `maxTisPerQuery` (Airflow's starved pools and DAGs).
 */
export function starved(capacity: Capacity, maxActiveTasks: MaxActiveTasks): { pools: string[]; dags: string[] } {
  return {
    pools: [...capacity.poolOpen].filter(([, open]) => open <= 0).map(([name]) => name),
    dags: [...capacity.dagActive].filter(([dagId, n]) => n >= maxActiveTasks(dagId)).map(([dagId]) => dagId),
  };
}

/**
 * Walk the candidates in their (priority) order and choose each that fits: an executor slot, `pool_slots`
 * open slots in its pool, and room under its DAG's maxActiveTasks. A candidate that does not fit its
 * pool or DAG is passed over (a smaller one behind it may fit); once the executor slots are used up the
 * walk stops. Candidates whose pool does not exist are returned apart, by pool, whatever the slots.
 * The inputs are not changed.
 */
export function chooseTries<C extends QueueCandidate>(
  candidates: readonly C[],
  capacity: Capacity,
  limits: { openExecutorSlots: number; maxActiveTasks: MaxActiveTasks },
): { chosen: C[]; unknownPools: Map<string, string[]> } {
  const poolOpen = new Map(capacity.poolOpen);
  const dagActive = new Map(capacity.dagActive);
  const chosen: C[] = [];
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
    if (active >= limits.maxActiveTasks(c.dag_id)) continue;
    poolOpen.set(c.pool, open - c.pool_slots);
    dagActive.set(c.dag_id, active + 1);
    slots--;
    chosen.push(c);
  }
  return { chosen, unknownPools };
}
