/**
 * Cross-process wake-ups on PostgreSQL. When another process (the API server, a triggerer, another
 * scheduler) creates a run or ends a try, a `NOTIFY` lets a scheduler act at once instead of at its next
 * poll. Purely an optimisation — the scheduler still finds every change by reading the database, and polls
 * as the fallback — so on SQLite (one writer, standalone wakes the scheduler in-process) all of this is a no-op.
 *
 * Two channels, each carrying a `dag_run.id`:
 *
 * | channel | sent when | sent by |
 * | --- | --- | --- |
 * | `capstan_run_queued` | a run becomes `queued` (created, or cleared back to queued) | inside the creating transaction ({@link notifyRunQueued}): PostgreSQL delivers at commit, a rollback sends nothing |
 * | `capstan_ti_changed` | a task instance of a running run moved (a try ended, deferred, was marked) | after the move committed ({@link TiChangeNotifier}, coalesced per event-loop turn, or {@link notifyTiChanged}) |
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { loadPg, type MetadataDb } from './db.ts';
import { sql } from 'kysely';

const TI_CHANGED = 'capstan_ti_changed';
const RUN_QUEUED = 'capstan_run_queued';

/** `application_name` of the listening connection, as `pg_stat_activity` shows it. */
export const LISTENER_APPLICATION_NAME = 'capstan-scheduler-listener';

/** Tell listening schedulers now that a task instance of this run changed state (one round trip). */
export async function notifyTiChanged(m: MetadataDb, dagRunId: number): Promise<void> {
  if (m.dialect !== 'postgres') return;
  await sql`select pg_notify(${TI_CHANGED}, ${String(dagRunId)})`.execute(m.db);
}

/**
 * Tell listening schedulers that these runs are queued, to start them now. Call it with the transaction
 * that queues them (`tx`): the notification is delivered when it commits and dropped if it rolls back.
 */
export async function notifyRunsQueued(tx: MetadataDb, dagRunIds: readonly number[]): Promise<void> {
  if (tx.dialect !== 'postgres' || dagRunIds.length === 0) return;
  await sql`select pg_notify(${RUN_QUEUED}, id) from unnest(${dagRunIds.map(String)}::text[]) as id`.execute(tx.db);
}

/**
 * Coalesces notifications: every change reported in the same turn of the event loop leads to one
 * `NOTIFY` per run, sent in a single statement after the caller has moved on — a burst of 1,000 task
 * ends costs one round trip, not 1,000. Only moves that committed are reported, so a rolled-back one sends
 * nothing. Failures are ignored: a missed wake-up only costs a poll.
 */
export class TiChangeNotifier {
  readonly #m: MetadataDb;
  readonly #pending = new Set<number>();
  #scheduled = false;

  constructor(m: MetadataDb) {
    this.#m = m;
  }

  changed(dagRunId: number): void {
    if (this.#m.dialect !== 'postgres') return;
    this.#pending.add(dagRunId);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const ids = [...this.#pending].map(String);
      this.#pending.clear();
      sql`select pg_notify(${TI_CHANGED}, id) from unnest(${ids}::text[]) as id`.execute(this.#m.db).catch(() => undefined);
    });
  }
}

/** What a listener is told. Each may be called many times in a burst: coalescing is the caller's. */
export interface ChangeHandlers {
  /** A run was queued (created or cleared) in some process. */
  runQueued(dagRunId: number): void;
  /** A task instance of this run changed state in some process. */
  tiChanged(dagRunId: number): void;
  /** The connection came back after it was lost: notifications sent meanwhile are gone, so look at everything once. */
  reconnected(): void;
}

/** A running listener. */
export interface ChangeListener {
  /** Resolves once the first `LISTEN` is in place (at once on SQLite); never rejects. */
  readonly ready: Promise<void>;
  /** Stop listening and close the connection; no handler is called afterwards. */
  close(): Promise<void>;
}

/** Reconnect delays: `minMs` doubled per failed attempt, capped at `maxMs`. */
export interface ListenBackoff {
  minMs: number;
  maxMs: number;
}

const DEFAULT_BACKOFF: ListenBackoff = { minMs: 100, maxMs: 5_000 };

/**
 * Listen for runs queued and task instances changed, on a dedicated connection (not from the pool: a
 * `LISTEN` belongs to its session). When the connection drops (server restart, `pg_terminate_backend`,
 * network) it reconnects with capped exponential backoff and then calls `reconnected`; it never gives up
 * while open. Does not wait for the connection: see `ready`. On SQLite it does nothing.
 *
 * @example
 * const listener = listenForChanges(db, { runQueued: wake, tiChanged: wake, reconnected: wake }, logger);
 * // …
 * await listener.close();
 */
export function listenForChanges(m: MetadataDb, handlers: ChangeHandlers, logger: Logger, backoff: ListenBackoff = DEFAULT_BACKOFF): ChangeListener {
  if (m.dialect !== 'postgres') return { ready: Promise.resolve(), close: async () => {} };
  return new PgChangeListener(m.url, handlers, logger, backoff);
}

class PgChangeListener implements ChangeListener {
  readonly ready: Promise<void>;
  readonly #url: string;
  readonly #handlers: ChangeHandlers;
  readonly #logger: Logger;
  readonly #backoff: ListenBackoff;
  #markReady: () => void = () => {};
  #client: pg.Client | undefined;
  #retry: NodeJS.Timeout | undefined;
  #failures = 0;
  #connectedOnce = false;
  #closed = false;

  constructor(url: string, handlers: ChangeHandlers, logger: Logger, backoff: ListenBackoff) {
    this.#url = url;
    this.#handlers = handlers;
    this.#logger = logger;
    this.#backoff = backoff;
    this.ready = new Promise((resolve) => (this.#markReady = resolve));
    void this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    const c = this.#client;
    this.#client = undefined;
    this.#markReady();
    await c?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    this.#retry = undefined;
    if (this.#closed) return;
    // TCP keepalive: a connection that silently died (a dropped network path) errors instead of waiting forever.
    const c = new (loadPg().Client)({ connectionString: this.#url, application_name: LISTENER_APPLICATION_NAME, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    let lost = false;
    // A terminated backend reports twice (its error message, then the socket's end): act once per connection.
    const onLost = (err?: unknown): void => {
      if (lost) return;
      lost = true;
      if (this.#client === c) this.#client = undefined;
      void c.end().catch(() => undefined);
      if (this.#closed) return;
      const delayMs = Math.min(this.#backoff.maxMs, this.#backoff.minMs * 2 ** this.#failures++);
      this.#logger.warn({ err, retryInMs: delayMs }, 'scheduler wake-up connection lost; reconnecting (the loop polls meanwhile)');
      this.#retry = setTimeout(() => void this.#connect(), delayMs);
    };
    c.on('error', onLost);
    c.on('end', () => onLost());
    c.on('notification', (n) => {
      if (lost || this.#closed) return;
      const id = Number(n.payload);
      if (!Number.isSafeInteger(id)) return;
      if (n.channel === RUN_QUEUED) this.#handlers.runQueued(id);
      else if (n.channel === TI_CHANGED) this.#handlers.tiChanged(id);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${RUN_QUEUED}; LISTEN ${TI_CHANGED}`);
    } catch (err) {
      onLost(err);
      return;
    }
    if (lost) return;
    if (this.#closed) {
      lost = true;
      await c.end().catch(() => undefined);
      return;
    }
    this.#client = c;
    this.#failures = 0;
    if (this.#connectedOnce) {
      this.#logger.info('scheduler wake-up connection restored');
      this.#handlers.reconnected();
    }
    this.#connectedOnce = true;
    this.#markReady();
  }
}
