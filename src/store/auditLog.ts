/**
 * The audit log: an append-only record of who did what (CLI and API actions such as setting a variable,
 * triggering or clearing a run), newest first when read.
 */
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
  event?: string;
  /** Most entries returned. Default 100. */
  limit?: number;
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
    let q = this.#m.db
      .selectFrom('audit_log')
      .selectAll()
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(query.limit ?? 100);
    if (query.dagId !== undefined) q = q.where('dag_id', '=', query.dagId);
    if (query.event !== undefined) q = q.where('event', '=', query.event);
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
}
