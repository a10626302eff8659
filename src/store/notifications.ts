/**
 * Cross-process wake-ups on PostgreSQL: when a task try ends in one process (the API server), a
 * `NOTIFY` lets a scheduler in another process act at once instead of at its next poll. Purely an
 * optimisation — the scheduler still finds every change by reading the database — so on SQLite (one
 * machine, usually one process) it is a no-op.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import type { MetadataDb } from './db.ts';
import { sql } from 'kysely';

const CHANNEL = 'capstan_ti_changed';

/** Tell listening schedulers now that a task instance of this run changed state (one round trip). */
export async function notifyTiChanged(m: MetadataDb, dagRunId: number): Promise<void> {
  if (m.dialect !== 'postgres') return;
  await sql`select pg_notify(${CHANNEL}, ${String(dagRunId)})`.execute(m.db);
}

/**
 * Coalesces notifications: every change reported in the same turn of the event loop leads to one
 * `NOTIFY` per run, sent in a single statement after the caller has moved on — a burst of 1,000 task
 * ends costs one round trip, not 1,000. Failures are ignored: a missed wake-up only costs a poll.
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
      sql`select pg_notify(${CHANNEL}, id) from unnest(${ids}::text[]) as id`.execute(this.#m.db).catch(() => undefined);
    });
  }
}

/**
 * Listen for changes on a dedicated connection, reconnecting with capped backoff; returns a function
 * that stops listening. On SQLite it returns at once and never calls `onChange`.
 */
export async function listenTiChanged(m: MetadataDb, onChange: (dagRunId: number) => void, logger: Logger): Promise<() => Promise<void>> {
  if (m.dialect !== 'postgres') return async () => {};
  let stopped = false;
  let client: pg.Client | undefined;
  let attempt = 0;
  const connect = async (): Promise<void> => {
    while (!stopped) {
      const c = new pg.Client({ connectionString: m.url });
      try {
        c.on('notification', (n) => {
          const id = Number(n.payload);
          if (Number.isInteger(id)) onChange(id);
        });
        c.on('error', (err) => {
          logger.warn({ err }, 'notification connection lost; reconnecting');
          void c.end().catch(() => undefined);
          if (client === c) client = undefined;
          if (!stopped) setTimeout(() => void connect(), Math.min(10_000, 200 * 2 ** attempt++)).unref();
        });
        await c.connect();
        await c.query(`LISTEN ${CHANNEL}`);
        client = c;
        attempt = 0;
        return;
      } catch (err) {
        logger.warn({ err }, 'could not listen for task changes; retrying');
        await c.end().catch(() => undefined);
        await new Promise((r) => setTimeout(r, Math.min(10_000, 200 * 2 ** attempt++)));
      }
    }
  };
  await connect();
  return async () => {
    stopped = true;
    await client?.end().catch(() => undefined);
  };
}
