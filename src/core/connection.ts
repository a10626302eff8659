/**
 * A connection's shape, shared by the store (which keeps it encrypted), the secrets backends, the task runtime
 * and the operators (which receive it decrypted). {@link connectionFromUri} and {@link connectionToUri} read and
 * write Airflow's URI form, `type://login:password@host:port/schema?param=value`, so existing
 * `AIRFLOW_CONN_*`-style values carry over. Storage lives in store/connections.ts.
 */
import { InvalidArgument } from './errors.ts';
import type { JsonObject } from './serialized.ts';

/** JSON object of connection-type specific settings. */
export type ConnectionExtra = Record<string, unknown>;

/** One connection, in plaintext. Absent parts are null; `extra` is `{}` when there is none. */
export interface Connection {
  connId: string;
  /** Lower-case type such as `postgres`, `http`, `aws`; the URI scheme with `-` read as `_`. */
  connType: string;
  description: string | null;
  host: string | null;
  schema: string | null;
  login: string | null;
  password: string | null;
  port: number | null;
  extra: ConnectionExtra;
}

/** A connection as task code receives it (secrets decrypted). */
export interface TaskConnection {
  connId: string;
  connType: string;
  host: string | null;
  schema: string | null;
  login: string | null;
  password: string | null;
  port: number | null;
  extra: JsonObject;
}

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
