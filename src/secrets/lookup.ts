/**
 * Resolves variables and connections for tasks and hooks: first from environment variables
 * (`CAPSTAN_VAR_<KEY>`, `CAPSTAN_CONN_<ID>`, the key upper-cased), then from the metadata database. The
 * environment is passed in, so a task runner can hand over exactly the variables it was given.
 *
 * A connection variable holds either a URI (`postgresql://user:pw@host:5432/db`) or a JSON object with the
 * connection fields, in Airflow's snake_case (`conn_type`) or camelCase (`connType`). Resolved secrets are
 * registered with the optional {@link SecretMasker} so they are hidden from logs.
 *
 * @example
 * const secrets = new SecretsLookup({ env: process.env, variables: new VariableStore(m, { fernet }), connections: new ConnectionStore(m, { fernet }) });
 * await secrets.getConnection('warehouse');
 */
import { z } from 'zod';
import { type Connection, connectionFromUri, InvalidArgument, normalizeConnType, NotFound, validateConnection } from '../core/index.ts';
import type { ConnectionStore, VariableStore } from '../store/index.ts';
import type { SecretMasker } from './masker.ts';

/** Prefix of variables read from the environment. */
export const VAR_ENV_PREFIX = 'CAPSTAN_VAR_';
/** Prefix of connections read from the environment. */
export const CONN_ENV_PREFIX = 'CAPSTAN_CONN_';

/** Name of the environment variable that overrides variable `key`. */
export function variableEnvName(key: string): string {
  return VAR_ENV_PREFIX + key.toUpperCase();
}

/** Name of the environment variable that overrides connection `connId`. */
export function connectionEnvName(connId: string): string {
  return CONN_ENV_PREFIX + connId.toUpperCase();
}

/** Where a {@link SecretsLookup} looks, in order: `env`, then the stores. */
export interface SecretsLookupOptions {
  /** Environment to read `CAPSTAN_VAR_*` / `CAPSTAN_CONN_*` from. */
  env: Readonly<Record<string, string | undefined>>;
  /** Database fallback for variables; omitted means environment only. */
  variables?: VariableStore;
  /** Database fallback for connections; omitted means environment only. */
  connections?: ConnectionStore;
  /** Receives every resolved secret. */
  masker?: SecretMasker;
}

/** Where a value was found. */
export type SecretSource = 'env' | 'db';

/** Resolves variables and connections, environment first; see the module comment. */
export class SecretsLookup {
  readonly #options: SecretsLookupOptions;

  constructor(options: SecretsLookupOptions) {
    this.#options = options;
  }

  /** The variable's value from the environment or the database, or undefined. */
  async getVariable(key: string): Promise<string | undefined> {
    return (await this.findVariable(key))?.value;
  }

  /** Like {@link SecretsLookup.getVariable} but also says where it was found. */
  async findVariable(key: string): Promise<{ value: string; source: SecretSource } | undefined> {
    const fromEnv = this.#options.env[variableEnvName(key)];
    const found =
      fromEnv !== undefined
        ? { value: fromEnv, source: 'env' as const }
        : await this.#options.variables?.get(key).then((value) => (value === undefined ? undefined : { value, source: 'db' as const }));
    if (found) this.#options.masker?.addVariable(key, found.value);
    return found;
  }

  /** The variable's value, or a `not_found` error naming both places looked in. */
  async requireVariable(key: string): Promise<string> {
    const value = await this.getVariable(key);
    if (value === undefined) throw new NotFound(`variable '${key}' is not set`, `set it with \`capstan variables set ${key} <value>\` or the environment variable ${variableEnvName(key)}`);
    return value;
  }

  /** The connection from the environment or the database, or undefined. */
  async getConnection(connId: string): Promise<Connection | undefined> {
    const text = this.#options.env[connectionEnvName(connId)];
    const found = text !== undefined ? parseConnectionEnv(connId, text) : await this.#options.connections?.get(connId);
    if (found) this.#options.masker?.addConnection(found);
    return found;
  }

  /** The connection, or a `not_found` error naming both places looked in. */
  async requireConnection(connId: string): Promise<Connection> {
    const c = await this.getConnection(connId);
    if (!c) throw new NotFound(`connection '${connId}' is not defined`, `add it with \`capstan connections add ${connId} --conn-uri ...\` or the environment variable ${connectionEnvName(connId)}`);
    return c;
  }
}

const nullableString = z.string().nullish();
const ConnectionJson = z
  .object({
    conn_type: z.string().optional(),
    connType: z.string().optional(),
    description: nullableString,
    host: nullableString,
    schema: nullableString,
    login: nullableString,
    password: nullableString,
    port: z.union([z.number().int(), z.string().regex(/^\d+$/)]).nullish(),
    extra: z.union([z.record(z.string(), z.unknown()), z.string()]).nullish(),
  })
  .refine((v) => v.conn_type !== undefined || v.connType !== undefined, { message: 'conn_type is required' });

/**
 * Parse a `CAPSTAN_CONN_*` value: JSON when it starts with `{`, otherwise a connection URI.
 * Throws `invalid_argument` naming the variable.
 */
export function parseConnectionEnv(connId: string, text: string): Connection {
  const name = connectionEnvName(connId);
  if (!text.trimStart().startsWith('{')) {
    try {
      return connectionFromUri(connId, text.trim());
    } catch (err) {
      throw new InvalidArgument(`${name}: ${(err as Error).message}`, 'set it to a connection URI such as postgresql://user:pw@host:5432/db, or a JSON object with conn_type, host, ...');
    }
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InvalidArgument(`${name} starts with '{' but is not valid JSON`, 'fix the JSON, or use a connection URI instead');
  }
  const parsed = ConnectionJson.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArgument(`${name}: ${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}`, 'a JSON connection has conn_type and optional host, schema, login, password, port, extra');
  }
  const v = parsed.data;
  let extra: Record<string, unknown> = {};
  if (typeof v.extra === 'string') {
    let value: unknown;
    try {
      value = JSON.parse(v.extra);
    } catch {
      value = undefined;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidArgument(`${name}: extra is a string but not a JSON object`, 'give extra as a JSON object');
    extra = value as Record<string, unknown>;
  } else if (v.extra) {
    extra = v.extra;
  }
  const c: Connection = {
    connId,
    connType: normalizeConnType(v.conn_type ?? v.connType ?? ''),
    description: v.description ?? null,
    host: v.host ?? null,
    schema: v.schema ?? null,
    login: v.login ?? null,
    password: v.password ?? null,
    port: v.port === null || v.port === undefined ? null : Number(v.port),
    extra,
  };
  try {
    validateConnection(c);
  } catch (err) {
    throw new InvalidArgument(`${name}: ${(err as Error).message}`, 'fix the field named above');
  }
  return c;
}
