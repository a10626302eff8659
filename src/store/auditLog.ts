/**
 * The audit log: an append-only record of who did what (CLI and API actions such as setting a variable,
 * triggering or clearing a run), newest first when read.
 */
import { sql } from 'kysely';
import type { MetadataDb } from './db.ts';

/** What to record. `details` objects are stored as JSON. */
export interface AuditEntryInput {
  /** Dotted verb such as `variable.set`, `connection.delete`, `dag_run.trigger`. */
  event: string;
  /** Who acted: a user name, `cli:<os user>`, or a component. */
  actor: string;
  dagId?: string | null;
  runId?: string | null;
  taskId?: string | null;
  details?: Record<string, unknown> | string | null;
}

/** A stored entry. `details` is the JSON text (or plain text) that was recorded. */
export interface AuditEntry {
  id: number;
  /** Epoch ms. */
  at: number;
  event: string;
  actor: string;
  dagId: string | null;
  runId: string | null;
  taskId: string | null;
  details: string | null;
}

/** Filters for {@link AuditLog.list}. */
export interface AuditQuery {
  dagId?: string;
  /** Entries of these DAGs only (a principal limited to some DAGs); entries with no DAG are left out. */
  dagIds?: readonly string[];
  runId?: string;
  taskId?: string;
  actor?: string;
  event?: string;
  /** Entries at or after this time, epoch ms. */
  since?: number;
  /** Entries before this time, epoch ms. */
  until?: number;
  /** Most entries returned. Default 100. */
  limit?: number;
  offset?: number;
}

/**
 * Appends and reads audit entries.
 *
 * @example
 * const audit = new AuditLog(m);
 * await audit.append({ event: 'variable.set', actor: 'cli:alice', details: { key: 'bucket' } });
 * await audit.list({ event: 'variable.set', limit: 10 });
 */
export class AuditLog {
  readonly #m: MetadataDb;
  readonly #now: () => number;

  constructor(m: MetadataDb, options: { now?: () => number } = {}) {
    this.#m = m;
    this.#now = options.now ?? Date.now;
  }

  /** Append one entry and return its id. */
  async append(entry: AuditEntryInput): Promise<number> {
    const details = entry.details === undefined || entry.details === null ? null : typeof entry.details === 'string' ? entry.details : JSON.stringify(entry.details);
    const row = await this.#m.db
      .insertInto('audit_log')
      .values({
        at: this.#now(),
        actor: entry.actor,
        event: entry.event,
        dag_id: entry.dagId ?? null,
        run_id: entry.runId ?? null,
        task_id: entry.taskId ?? null,
        details,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  /** Entries matching the filters, newest first. */
  async list(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const q = this.#filtered(query)
      .selectAll()
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(query.limit ?? 100)
      .offset(query.offset ?? 0);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: Number(r.id),
      at: r.at,
      event: r.event,
      actor: r.actor,
      dagId: r.dag_id,
      runId: r.run_id,
      taskId: r.task_id,
      details: r.details,
    }));
  }

  /** One entry by id, or undefined. */
  async get(id: number): Promise<AuditEntry | undefined> {
    const r = await this.#m.db.selectFrom('audit_log').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? { id: Number(r.id), at: r.at, event: r.event, actor: r.actor, dagId: r.dag_id, runId: r.run_id, taskId: r.task_id, details: r.details } : undefined;
  }

  /** How many entries match the filters (limit and offset aside). */
  async count(query: AuditQuery = {}): Promise<number> {
    const r = await this.#filtered(query).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  #filtered(query: AuditQuery) {
    let q = this.#m.db.selectFrom('audit_log');
    if (query.dagId !== undefined) q = q.where('dag_id', '=', query.dagId);
    if (query.dagIds !== undefined) q = query.dagIds.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where('dag_id', 'in', [...query.dagIds]);
    if (query.runId !== undefined) q = q.where('run_id', '=', query.runId);
    if (query.taskId !== undefined) q = q.where('task_id', '=', query.taskId);
    if (query.actor !== undefined) q = q.where('actor', '=', query.actor);
    if (query.event !== undefined) q = q.where('event', '=', query.event);
    if (query.since !== undefined) q = q.where('at', '>=', query.since);
    if (query.until !== undefined) q = q.where('at', '<', query.until);
    return q;
  }
}
