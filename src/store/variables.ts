/**
 * Variables: named string values (often JSON) that DAGs read at run time. Values whose key looks like a
 * secret ({@link isSecretName}) are stored Fernet-encrypted (`is_encrypted = 1`) and decrypted on read.
 */
import { CapstanError, InvalidArgument, isSecretName } from '../core/index.ts';
import type { Fernet } from '../crypto/index.ts';
import type { MetadataDb } from './db.ts';
import { containsText, type Page, type PageRequest, type SortRequest } from './listPage.ts';
import type { VariableRow } from './schema.ts';

// Pure, so in core (the secrets masker in every task process uses it without the store); re-exported here.
export { isSecretName, SECRET_NAME_PARTS } from '../core/index.ts';

/** A variable as callers see it: the value is always plaintext. */
export interface Variable {
  key: string;
  value: string;
  description: string | null;
  /** True when the value is encrypted at rest. */
  isEncrypted: boolean;
  /** Epoch ms of the last write. */
  updatedAt: number;
}

/** Longest key the schema holds. */
export const MAX_VARIABLE_KEY_LENGTH = 250;

/** Fields a variable list may be ordered by. */
export const VARIABLE_SORT_FIELDS = ['key', 'description', 'updatedAt'] as const;
export type VariableSortField = (typeof VARIABLE_SORT_FIELDS)[number];

const VARIABLE_COLUMNS = { key: 'key', description: 'description', updatedAt: 'updated_at' } as const;

/** Dependencies of a {@link VariableStore}. */
export interface VariableStoreOptions {
  /** Encrypts secret-named values. */
  fernet: Fernet;
  /** Clock for `updatedAt`. Default `Date.now`. */
  now?: () => number;
}

/**
 * Reads and writes variables.
 *
 * @example
 * const vars = new VariableStore(m, { fernet });
 * await vars.set('s3_bucket', 'my-bucket', { description: 'where exports go' });
 * await vars.get('s3_bucket'); // 'my-bucket'
 */
export class VariableStore {
  readonly #m: MetadataDb;
  readonly #fernet: Fernet;
  readonly #now: () => number;

  constructor(m: MetadataDb, options: VariableStoreOptions) {
    this.#m = m;
    this.#fernet = options.fernet;
    this.#now = options.now ?? Date.now;
  }

  /** The plaintext value, or undefined when no such variable exists. */
  async get(key: string): Promise<string | undefined> {
    return (await this.getVariable(key))?.value;
  }

  /** The value parsed as JSON; undefined when missing; `invalid_argument` when the value is not JSON. */
  async getJson<T = unknown>(key: string): Promise<T | undefined> {
    const value = await this.get(key);
    if (value === undefined) return undefined;
    try {
      return JSON.parse(value) as T;
    } catch {
      throw new InvalidArgument(`variable '${key}' is not valid JSON`, 'read it as a plain string, or set it to a JSON value');
    }
  }

  /** The whole variable with its metadata, or undefined. */
  async getVariable(key: string): Promise<Variable | undefined> {
    const row = await this.#m.db.selectFrom('variable').selectAll().where('key', '=', key).executeTakeFirst();
    return row ? this.#fromRow(row) : undefined;
  }

  /**
   * Create or replace a variable. `description` undefined keeps the stored one; null clears it.
   * Secret-named keys are encrypted.
   */
  async set(key: string, value: string, options: { description?: string | null } = {}): Promise<Variable> {
    validateKey(key);
    const encrypt = isSecretName(key);
    const stored = encrypt ? this.#fernet.encrypt(value) : value;
    const updatedAt = this.#now();
    const row = { key, value: stored, is_encrypted: encrypt ? 1 : 0, updated_at: updatedAt };
    const withDescription = options.description === undefined ? row : { ...row, description: options.description };
    await this.#m.db
      .insertInto('variable')
      .values({ description: null, ...withDescription })
      .onConflict((oc) => oc.column('key').doUpdateSet(withDescription))
      .execute();
    const saved = await this.getVariable(key);
    if (!saved) throw new Error(`variable '${key}' vanished after being written`);
    return saved;
  }

  /** Create a variable (encrypted when its key is secret-named); a `conflict` error when the key exists. */
  async create(key: string, value: string, options: { description?: string | null } = {}): Promise<Variable> {
    validateKey(key);
    const encrypt = isSecretName(key);
    const result = await this.#m.db
      .insertInto('variable')
      .values({ key, value: encrypt ? this.#fernet.encrypt(value) : value, is_encrypted: encrypt ? 1 : 0, updated_at: this.#now(), description: options.description ?? null })
      .onConflict((oc) => oc.column('key').doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) throw new CapstanError('conflict', `variable '${key}' already exists`, { hint: 'change it instead, or choose another key' });
    const saved = await this.getVariable(key);
    if (!saved) throw new Error(`variable '${key}' vanished after being written`);
    return saved;
  }

  /** Every variable, sorted by key, with plaintext values. */
  async list(): Promise<Variable[]> {
    const rows = await this.#m.db.selectFrom('variable').selectAll().orderBy('key').execute();
    return rows.map((r) => this.#fromRow(r));
  }

  /**
   * One page of variables whose key contains `search` (case-insensitive), ordered by `sort` (default by
   * key), with the number that matched.
   */
  async page(q: PageRequest & { search?: string; sort?: SortRequest<VariableSortField> }): Promise<Page<Variable>> {
    let base = this.#m.db.selectFrom('variable');
    if (q.search !== undefined && q.search !== '') base = base.where(containsText('key', q.search));
    const sort = q.sort ?? { by: 'key', descending: false };
    const direction = sort.descending ? 'desc' : 'asc';
    const [rows, count] = await Promise.all([
      base.selectAll().orderBy(VARIABLE_COLUMNS[sort.by], direction).orderBy('key', direction).limit(q.limit).offset(q.offset).execute(),
      base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map((r) => this.#fromRow(r)), total: Number(count.n) };
  }

  /** Delete a variable; returns false when it did not exist. */
  async delete(key: string): Promise<boolean> {
    const result = await this.#m.db.deleteFrom('variable').where('key', '=', key).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  #fromRow(row: VariableRow): Variable {
    return {
      key: row.key,
      value: row.is_encrypted ? this.#fernet.decrypt(row.value) : row.value,
      description: row.description,
      isEncrypted: row.is_encrypted === 1,
      updatedAt: row.updated_at,
    };
  }
}

function validateKey(key: string): void {
  if (key.trim() === '' || key !== key.trim()) {
    throw new InvalidArgument(`variable key '${key}' is empty or has surrounding spaces`, 'use a key like my_bucket or team.setting');
  }
  if (key.length > MAX_VARIABLE_KEY_LENGTH) {
    throw new InvalidArgument(`variable key is ${key.length} characters long`, `keep keys to at most ${MAX_VARIABLE_KEY_LENGTH} characters`);
  }
}
