/**
 * Connections: how tasks reach external systems (host, login, password, port, extras), stored with the
 * password and extras Fernet-encrypted. Airflow's URI form (`connectionFromUri`, `connectionToUri`) is
 * core/connection.ts's.
 */
import { CapstanError, NotFound, validateConnection } from '../core/index.ts';
import type { Fernet } from '../crypto/index.ts';
import type { MetadataDb } from './db.ts';
import { containsText, type Page, type PageRequest, type SortRequest } from './listPage.ts';
import type { ConnectionRow } from './schema.ts';
import type { Connection, ConnectionExtra } from '../core/index.ts';

export type { Connection, ConnectionExtra } from '../core/index.ts';
// The URI form and the checks are pure, so they live in core (the secrets backends and the task runtime use them
// without the store); re-exported for the store's callers.
export { connectionFromUri, connectionToUri, EXTRA_URI_PARAM, MAX_CONN_ID_LENGTH, normalizeConnType, validateConnection } from '../core/index.ts';

/**
 * A change to a stored connection: fields left undefined keep their value; `password` null clears it and
 * `extra` replaces the whole object.
 */
export type ConnectionPatch = Partial<Omit<Connection, 'connId'>>;

/** Fields a connection list may be ordered by. */
export const CONNECTION_SORT_FIELDS = ['connId', 'connType', 'host', 'port', 'description'] as const;
export type ConnectionSortField = (typeof CONNECTION_SORT_FIELDS)[number];

const CONNECTION_COLUMNS = { connId: 'conn_id', connType: 'conn_type', host: 'host', port: 'port', description: 'description' } as const;

/** Dependencies of a {@link ConnectionStore}. */
export interface ConnectionStoreOptions {
  /** Encrypts passwords and extras. */
  fernet: Fernet;
  /** Clock for `updated_at`. Default `Date.now`. */
  now?: () => number;
}

/**
 * Reads and writes connections.
 *
 * @example
 * const conns = new ConnectionStore(m, { fernet });
 * await conns.add(connectionFromUri('warehouse', 'postgresql://etl:pw@db:5432/dw'));
 */
export class ConnectionStore {
  readonly #m: MetadataDb;
  readonly #fernet: Fernet;
  readonly #now: () => number;

  constructor(m: MetadataDb, options: ConnectionStoreOptions) {
    this.#m = m;
    this.#fernet = options.fernet;
    this.#now = options.now ?? Date.now;
  }

  /** Store a new connection; a `conflict` error when the id is taken (delete it first to replace it). */
  async add(c: Connection): Promise<void> {
    validateConnection(c);
    const extra = Object.keys(c.extra).length > 0 ? JSON.stringify(c.extra) : null;
    const row = {
      conn_id: c.connId,
      conn_type: c.connType,
      description: c.description,
      host: c.host,
      schema: c.schema,
      login: c.login,
      password: c.password === null ? null : this.#fernet.encrypt(c.password),
      port: c.port,
      extra: extra === null ? null : this.#fernet.encrypt(extra),
      is_encrypted: 1,
      updated_at: this.#now(),
    };
    const result = await this.#m.db
      .insertInto('connection')
      .values(row)
      .onConflict((oc) => oc.column('conn_id').doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) {
      throw new CapstanError('conflict', `connection '${c.connId}' already exists`, {
        hint: `delete it first (capstan connections delete ${c.connId}) or choose another id`,
      });
    }
  }

  /** The connection in plaintext, or undefined. */
  async get(connId: string): Promise<Connection | undefined> {
    const row = await this.#m.db.selectFrom('connection').selectAll().where('conn_id', '=', connId).executeTakeFirst();
    return row ? this.#fromRow(row) : undefined;
  }

  /** Like {@link ConnectionStore.get} but a `not_found` error when missing. */
  async require(connId: string): Promise<Connection> {
    const c = await this.get(connId);
    if (!c) throw new NotFound(`connection '${connId}' does not exist`, 'list them with `capstan connections list`');
    return c;
  }

  /** Every connection, sorted by id. */
  async list(): Promise<Connection[]> {
    const rows = await this.#m.db.selectFrom('connection').selectAll().orderBy('conn_id').execute();
    return rows.map((r) => this.#fromRow(r));
  }

  /**
   * One page of connections whose id contains `search` (case-insensitive), ordered by `sort` (default
   * by id), with the number that matched.
   */
  async page(q: PageRequest & { search?: string; sort?: SortRequest<ConnectionSortField> }): Promise<Page<Connection>> {
    let base = this.#m.db.selectFrom('connection');
    if (q.search !== undefined && q.search !== '') base = base.where(containsText('conn_id', q.search));
    const sort = q.sort ?? { by: 'connId', descending: false };
    const direction = sort.descending ? 'desc' : 'asc';
    const [rows, count] = await Promise.all([
      base.selectAll().orderBy(CONNECTION_COLUMNS[sort.by], direction).orderBy('conn_id', direction).limit(q.limit).offset(q.offset).execute(),
      base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map((r) => this.#fromRow(r)), total: Number(count.n) };
  }

  /**
   * Change a stored connection (see {@link ConnectionPatch}): a password or extra left out stays as
   * stored. Returns the connection as now stored; `not_found` when there is none.
   */
  async update(connId: string, patch: ConnectionPatch): Promise<Connection> {
    const current = await this.require(connId);
    const next: Connection = { ...current, ...definedOnly(patch), connId };
    validateConnection(next);
    const extra = Object.keys(next.extra).length > 0 ? JSON.stringify(next.extra) : null;
    await this.#m.db
      .updateTable('connection')
      .set({
        conn_type: next.connType,
        description: next.description,
        host: next.host,
        schema: next.schema,
        login: next.login,
        password: next.password === null ? null : this.#fernet.encrypt(next.password),
        port: next.port,
        extra: extra === null ? null : this.#fernet.encrypt(extra),
        is_encrypted: 1,
        updated_at: this.#now(),
      })
      .where('conn_id', '=', connId)
      .execute();
    return next;
  }

  /** Delete a connection; false when it did not exist. */
  async delete(connId: string): Promise<boolean> {
    const result = await this.#m.db.deleteFrom('connection').where('conn_id', '=', connId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  #fromRow(row: ConnectionRow): Connection {
    const open = (v: string | null) => (v === null || !row.is_encrypted ? v : this.#fernet.decrypt(v));
    const extraText = open(row.extra);
    return {
      connId: row.conn_id,
      connType: row.conn_type,
      description: row.description,
      host: row.host,
      schema: row.schema,
      login: row.login,
      password: open(row.password),
      port: row.port,
      extra: extraText ? parseExtra(extraText, row.conn_id) : {},
    };
  }
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function parseExtra(text: string, connId: string): ConnectionExtra {
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CapstanError('db_error', `connection '${connId}' has an extra that is not a JSON object`);
  }
  return value as ConnectionExtra;
}
