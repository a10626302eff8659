/**
 * Connections: how tasks reach external systems (host, login, password, port, extras), stored with the
 * password and extras Fernet-encrypted. {@link connectionFromUri} and {@link connectionToUri} read and
 * write Airflow's URI form, `type://login:password@host:port/schema?param=value`, so existing
 * `AIRFLOW_CONN_*`-style values carry over.
 */
import { CapstanError, InvalidArgument, NotFound } from '../core/index.ts';
import type { Fernet } from '../crypto/fernet.ts';
import type { MetadataDb } from './db.ts';
import { containsText, type Page, type PageRequest, type SortRequest } from './listPage.ts';
import type { ConnectionRow } from './schema.ts';
import type { Connection, ConnectionExtra } from '../core/index.ts';

export type { Connection, ConnectionExtra } from '../core/index.ts';

/** The query parameter that carries a whole JSON extra in a URI. */
export const EXTRA_URI_PARAM = '__extra__';

/** Longest connection id the schema holds. */
export const MAX_CONN_ID_LENGTH = 250;

/**
 * Parse an Airflow-style connection URI. Parts are percent-decoded; a `__extra__` parameter holds the
 * extra as JSON, otherwise every query parameter becomes a string extra. A second `proto://` after the
 * type keeps a protocol in the host (`http://https://example.com` → host `https://example.com`).
 * Throws `invalid_argument` naming what is wrong.
 *
 * @example
 * connectionFromUri('pg', 'postgresql://me:p%40ss@db:5432/app?sslmode=require')
 * // { connType: 'postgres', login: 'me', password: 'p@ss', host: 'db', port: 5432, schema: 'app', extra: { sslmode: 'require' }, ... }
 */
export function connectionFromUri(connId: string, uri: string, description: string | null = null): Connection {
  const bad = (why: string) =>
    new InvalidArgument(`connection URI for '${connId}' ${why}`, 'write it as type://login:password@host:port/schema?param=value, percent-encoding special characters');
  const head = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(uri);
  if (!head?.[1] || head[2] === undefined) throw bad('has no type:// prefix');
  let rest = head[2];
  let protocol: string | undefined;
  const inner = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(rest);
  if (inner?.[1] && inner[2] !== undefined) {
    protocol = inner[1];
    rest = inner[2];
    if (rest.includes('://')) throw bad('has more than two scheme:// parts');
  }

  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  const afterAuthority = authorityEnd === -1 ? '' : rest.slice(authorityEnd);
  const [pathPart = '', queryPart = ''] = splitOnce(afterAuthority.replace(/#.*$/s, ''), '?');

  const at = authority.lastIndexOf('@');
  const userinfo = at === -1 ? undefined : authority.slice(0, at);
  const hostport = at === -1 ? authority : authority.slice(at + 1);
  if (protocol !== undefined && userinfo !== undefined) throw bad('puts login details after a protocol in the host');
  let login: string | null = null;
  let password: string | null = null;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    login = decode(colon === -1 ? userinfo : userinfo.slice(0, colon), bad);
    password = colon === -1 ? null : decode(userinfo.slice(colon + 1), bad);
    if (login === '') login = null;
  }

  const { host: rawHost, port: rawPort } = splitHostPort(hostport);
  let port: number | null = null;
  if (rawPort !== undefined && rawPort !== '') {
    if (!/^\d+$/.test(rawPort) || Number(rawPort) > 65535) throw bad(`has port '${rawPort}', not a number from 0 to 65535`);
    port = Number(rawPort);
  }
  const hostDecoded = rawHost === '' ? null : decode(rawHost, bad);
  const host = protocol !== undefined && hostDecoded !== null ? `${protocol}://${hostDecoded}` : hostDecoded;
  const schemaText = decode(pathPart.replace(/^\//, ''), bad);

  return {
    connId,
    connType: normalizeConnType(head[1]),
    description,
    host,
    schema: schemaText === '' ? null : schemaText,
    login,
    password,
    port,
    extra: parseQueryExtra(queryPart, bad),
  };
}

/**
 * Write a connection as a URI that {@link connectionFromUri} reads back to the same fields. String-only
 * extras become query parameters; any other extra travels as `__extra__` JSON.
 */
export function connectionToUri(c: Connection): string {
  let uri = `${c.connType.toLowerCase().replace(/_/g, '-')}://`;
  let host = c.host;
  if (host?.includes('://')) {
    const [protocol = '', h = ''] = splitOnce(host, '://');
    uri += `${protocol}://`;
    host = h;
  }
  let authority = '';
  if (c.login !== null) authority += quote(c.login);
  if (c.password !== null) authority += `:${quote(c.password)}`;
  if (authority !== '') {
    authority += '@';
    uri += authority;
  }
  // An IPv6 address goes in brackets, unencoded, as URI syntax requires.
  let hostBlock = !host ? '' : host.includes(':') ? `[${host}]` : quote(host);
  if (c.port !== null) hostBlock += hostBlock === '' && authority === '' ? `@:${c.port}` : `:${c.port}`;
  if (c.schema) hostBlock += `/${quote(c.schema)}`;
  uri += hostBlock;
  const entries = Object.entries(c.extra);
  if (entries.length > 0) {
    const query = entries.every(([, v]) => typeof v === 'string')
      ? entries.map(([k, v]) => `${quotePlus(k)}=${quotePlus(v as string)}`).join('&')
      : `${EXTRA_URI_PARAM}=${quotePlus(JSON.stringify(c.extra))}`;
    uri += (c.schema ? '?' : '/?') + query;
  }
  return uri;
}

/** Lower-case type with `-` as `_`; `postgresql` is read as `postgres`. */
export function normalizeConnType(type: string): string {
  const t = type.toLowerCase().replace(/-/g, '_');
  return t === 'postgresql' ? 'postgres' : t;
}

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

/** Check ids, type and port before writing; `invalid_argument` naming the field. */
export function validateConnection(c: Connection): void {
  if (c.connId.trim() === '' || c.connId !== c.connId.trim() || c.connId.length > MAX_CONN_ID_LENGTH) {
    throw new InvalidArgument(`connection id '${c.connId}' is empty, too long or has surrounding spaces`, 'use an id like my_postgres');
  }
  if (!/^[a-z][a-z0-9_.+]*$/.test(c.connType)) {
    throw new InvalidArgument(`connection type '${c.connType}' is not a lower-case identifier`, 'use a type such as postgres, http or aws');
  }
  if (c.port !== null && (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535)) {
    throw new InvalidArgument(`connection port ${c.port} is not an integer from 0 to 65535`, 'pass a port such as 5432');
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

function parseQueryExtra(query: string, bad: (why: string) => InvalidArgument): ConnectionExtra {
  if (query === '') return {};
  const params = new URLSearchParams(query);
  const whole = params.get(EXTRA_URI_PARAM);
  if (whole !== null) {
    let value: unknown;
    try {
      value = JSON.parse(whole);
    } catch {
      throw bad(`has a ${EXTRA_URI_PARAM} parameter that is not JSON`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad(`has a ${EXTRA_URI_PARAM} that is not a JSON object`);
    return value as ConnectionExtra;
  }
  return Object.fromEntries(params.entries());
}

function splitHostPort(hostport: string): { host: string; port: string | undefined } {
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    const port = hostport.slice(end + 1);
    return { host: hostport.slice(1, end), port: port.startsWith(':') ? port.slice(1) : undefined };
  }
  const colon = hostport.lastIndexOf(':');
  return colon === -1 ? { host: hostport, port: undefined } : { host: hostport.slice(0, colon), port: hostport.slice(colon + 1) };
}

function splitOnce(text: string, sep: string): [string, string] {
  const i = text.indexOf(sep);
  return i === -1 ? [text, ''] : [text.slice(0, i), text.slice(i + sep.length)];
}

function decode(text: string, bad: (why: string) => InvalidArgument): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw bad('has a malformed %-escape');
  }
}

/** Percent-encode everything but letters, digits and `_.-~` (Python's `quote(s, safe='')`). */
function quote(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** {@link quote} with spaces as `+`, for query parameters. */
function quotePlus(text: string): string {
  return quote(text).replace(/%20/g, '+');
}
