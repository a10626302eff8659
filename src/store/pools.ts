/**
 * Pools: named slot budgets that limit how many task instances of any DAG run at once against a shared
 * resource. A task instance occupies `pool_slots` of its pool while queued or running, and while deferred
 * when the pool sets `includeDeferred`. `default_pool` always exists and cannot be deleted.
 */
import { CapstanError, InvalidArgument, NotFound } from '../core/index.ts';
import type { TaskInstanceState } from '../core/index.ts';
import type { MetadataDb } from './db.ts';
import { containsText, type Page, type PageRequest, type SortRequest } from './listPage.ts';
import type { PoolRow } from './schema.ts';

/** The pool tasks use when they name none. */
export const DEFAULT_POOL = 'default_pool';

/** A pool's settings. */
export interface Pool {
  name: string;
  /** Slots available; 0 stops every task of the pool from being queued. */
  slots: number;
  description: string | null;
  /** Whether deferred task instances hold their slots. */
  includeDeferred: boolean;
}

/** A pool with the slots its task instances hold right now. */
export interface PoolUsage extends Pool {
  running: number;
  queued: number;
  deferred: number;
  /** running + queued, + deferred when `includeDeferred`. */
  occupied: number;
  /** slots − occupied (negative when a pool was shrunk below its use). */
  open: number;
}

/** Longest pool name the schema holds. */
export const MAX_POOL_NAME_LENGTH = 256;

/** Fields a pool list may be ordered by. */
export const POOL_SORT_FIELDS = ['name', 'slots', 'description'] as const;
export type PoolSortField = (typeof POOL_SORT_FIELDS)[number];

/** A pool's settings to create one: `description` default null, `includeDeferred` default false. */
export interface PoolSettings {
  slots: number;
  description?: string | null;
  includeDeferred?: boolean;
}

/**
 * Reads and writes pools.
 *
 * @example
 * const pools = new PoolStore(m);
 * await pools.set('warehouse', { slots: 4, description: 'concurrent warehouse queries' });
 * (await pools.get('warehouse'))?.open; // 4 while nothing runs
 */
export class PoolStore {
  readonly #m: MetadataDb;

  constructor(m: MetadataDb) {
    this.#m = m;
  }

  /**
   * Create a pool or update an existing one. `description` and `includeDeferred` left undefined keep the
   * stored value (defaults for a new pool: null and false).
   */
  async set(name: string, settings: { slots: number; description?: string | null; includeDeferred?: boolean }): Promise<Pool> {
    validatePool(name, settings.slots);
    const update: { slots: number; description?: string | null; include_deferred?: number } = { slots: settings.slots };
    if (settings.description !== undefined) update.description = settings.description;
    if (settings.includeDeferred !== undefined) update.include_deferred = settings.includeDeferred ? 1 : 0;
    await this.#m.db
      .insertInto('pool')
      .values({ name, description: null, include_deferred: 0, ...update })
      .onConflict((oc) => oc.column('name').doUpdateSet(update))
      .execute();
    const row = await this.#m.db.selectFrom('pool').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
    return fromRow(row);
  }

  /** Create a new pool; a `conflict` error when the name is taken. */
  async create(name: string, settings: PoolSettings): Promise<PoolUsage> {
    validatePool(name, settings.slots);
    const result = await this.#m.db
      .insertInto('pool')
      .values({ name, slots: settings.slots, description: settings.description ?? null, include_deferred: settings.includeDeferred ? 1 : 0 })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) throw new CapstanError('conflict', `pool '${name}' already exists`, { hint: 'change it instead, or choose another name' });
    return this.require(name);
  }

  /** Change an existing pool: fields left undefined keep their value. `not_found` when there is none. */
  async update(name: string, patch: Partial<PoolSettings>): Promise<PoolUsage> {
    const current = await this.require(name);
    await this.set(name, { slots: patch.slots ?? current.slots, ...(patch.description === undefined ? {} : { description: patch.description }), ...(patch.includeDeferred === undefined ? {} : { includeDeferred: patch.includeDeferred }) });
    return this.require(name);
  }

  /** Like {@link PoolStore.get} but a `not_found` error when missing. */
  async require(name: string): Promise<PoolUsage> {
    const pool = await this.get(name);
    if (!pool) throw new NotFound(`pool '${name}' does not exist`, 'list pools with `capstan pools list`');
    return pool;
  }

  /**
   * One page of pools whose name contains `search` (case-insensitive), ordered by `sort` (default by
   * name), each with its usage, and the number that matched.
   */
  async page(q: PageRequest & { search?: string; sort?: SortRequest<PoolSortField> }): Promise<Page<PoolUsage>> {
    let base = this.#m.db.selectFrom('pool');
    if (q.search !== undefined && q.search !== '') base = base.where(containsText('name', q.search));
    const sort = q.sort ?? { by: 'name', descending: false };
    const direction = sort.descending ? 'desc' : 'asc';
    const [rows, count] = await Promise.all([
      base.selectAll().orderBy(sort.by, direction).orderBy('name', direction).limit(q.limit).offset(q.offset).execute(),
      base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    const usage = rows.length === 0 ? new Map() : await this.#usage(rows.map((r) => r.name));
    return { items: rows.map((r) => withUsage(fromRow(r), usage.get(r.name))), total: Number(count.n) };
  }

  /** One pool with its usage, or undefined. */
  async get(name: string): Promise<PoolUsage | undefined> {
    const row = await this.#m.db.selectFrom('pool').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) return undefined;
    const usage = await this.#usage([name]);
    return withUsage(fromRow(row), usage.get(name));
  }

  /** Every pool with its usage, sorted by name. */
  async list(): Promise<PoolUsage[]> {
    const rows = await this.#m.db.selectFrom('pool').selectAll().orderBy('name').execute();
    const usage = await this.#usage();
    return rows.map((r) => withUsage(fromRow(r), usage.get(r.name)));
  }

  /**
   * Delete a pool. Refuses `default_pool` (`invalid_argument`), a missing pool (`not_found`), and a pool
   * with running or queued task instances (`conflict`) unless `force`.
   */
  async delete(name: string, options: { force?: boolean } = {}): Promise<void> {
    if (name === DEFAULT_POOL) throw new InvalidArgument(`'${DEFAULT_POOL}' cannot be deleted`, `change its size instead: capstan pools set ${DEFAULT_POOL} <slots>`);
    const pool = await this.get(name);
    if (!pool) throw new NotFound(`pool '${name}' does not exist`, 'list pools with `capstan pools list`');
    const busy = pool.running + pool.queued;
    if (busy > 0 && !options.force) {
      throw new CapstanError('conflict', `pool '${name}' has task instances holding ${busy} slot(s)`, {
        hint: 'wait for them to finish, or pass --force to delete it anyway',
      });
    }
    await this.#m.db.deleteFrom('pool').where('name', '=', name).execute();
  }

  async #usage(names?: string[]): Promise<Map<string, Record<'running' | 'queued' | 'deferred', number>>> {
    const states: TaskInstanceState[] = ['running', 'queued', 'deferred'];
    let query = this.#m.db
      .selectFrom('task_instance')
      .select(['pool', 'state', (eb) => eb.fn.sum<number | string>('pool_slots').as('slots')])
      .where('state', 'in', states)
      .groupBy(['pool', 'state']);
    if (names) query = query.where('pool', 'in', names);
    const out = new Map<string, Record<'running' | 'queued' | 'deferred', number>>();
    for (const row of await query.execute()) {
      const entry = out.get(row.pool) ?? { running: 0, queued: 0, deferred: 0 };
      if (row.state === 'running' || row.state === 'queued' || row.state === 'deferred') entry[row.state] = Number(row.slots);
      out.set(row.pool, entry);
    }
    return out;
  }
}

function validatePool(name: string, slots: number): void {
  if (name.trim() === '' || name !== name.trim() || name.length > MAX_POOL_NAME_LENGTH) {
    throw new InvalidArgument(`pool name '${name}' is empty, too long or has surrounding spaces`, 'use a name like warehouse_queries');
  }
  if (!Number.isInteger(slots) || slots < 0) {
    throw new InvalidArgument(`pool slots must be a whole number ≥ 0, got ${slots}`, 'pass the number of task slots, e.g. 8');
  }
}

function fromRow(row: PoolRow): Pool {
  return { name: row.name, slots: row.slots, description: row.description, includeDeferred: row.include_deferred === 1 };
}

function withUsage(pool: Pool, usage: Record<'running' | 'queued' | 'deferred', number> | undefined): PoolUsage {
  const { running, queued, deferred } = usage ?? { running: 0, queued: 0, deferred: 0 };
  const occupied = running + queued + (pool.includeDeferred ? deferred : 0);
  return { ...pool, running, queued, deferred, occupied, open: pool.slots - occupied };
}
