/**
 * Personal API tokens and revoked sessions. A token's secret is never stored: only its SHA-256 (the secret is
 * 32 random bytes, so a fast hash is enough — there is nothing to brute-force).
 */
import { CapstanError, NotFound } from '../core/index.ts';
import type { MetadataDb } from './db.ts';
import type { ApiTokenRow } from './schema.ts';

/** A token as listed: everything but its secret. */
export interface ApiTokenInfo {
  tokenId: string;
  username: string;
  name: string;
  role: string;
  createdAt: number;
  expiresAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

function toInfo(r: ApiTokenRow): ApiTokenInfo {
  return { tokenId: r.token_id, username: r.username, name: r.name, role: r.role, createdAt: r.created_at, expiresAt: r.expires_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at };
}

/** How stale `last_used_at` may get before a use writes it again (one write per token per minute at most). */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * @example
 * const tokens = new ApiTokenStore(m);
 * await tokens.create({ tokenId, username: 'ci', name: 'deploy', role: 'User', secretHash, expiresAt });
 * const row = await tokens.findForAuth(tokenId);
 */
export class ApiTokenStore {
  readonly #m: MetadataDb;
  readonly #now: () => number;

  constructor(m: MetadataDb, options: { now?: () => number } = {}) {
    this.#m = m;
    this.#now = options.now ?? Date.now;
  }

  async create(t: { tokenId: string; username: string; name: string; role: string; secretHash: string; expiresAt: number }): Promise<ApiTokenInfo> {
    const clash = await this.#m.db
      .selectFrom('api_token')
      .select('token_id')
      .where('username', '=', t.username)
      .where('name', '=', t.name)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (clash) throw new CapstanError('conflict', `user '${t.username}' already has a token named '${t.name}'`, { hint: 'revoke it first, or pick another name' });
    await this.#m.db
      .insertInto('api_token')
      .values({ token_id: t.tokenId, username: t.username, name: t.name, role: t.role, secret_hash: t.secretHash, created_at: this.#now(), expires_at: t.expiresAt, last_used_at: null, revoked_at: null })
      .execute();
    return this.get(t.tokenId);
  }

  async get(tokenId: string): Promise<ApiTokenInfo> {
    const r = await this.#m.db.selectFrom('api_token').selectAll().where('token_id', '=', tokenId).executeTakeFirst();
    if (!r) throw new NotFound(`API token '${tokenId}' does not exist`);
    return toInfo(r);
  }

  /** The row with its secret hash, for checking a presented token. */
  async findForAuth(tokenId: string): Promise<(ApiTokenInfo & { secretHash: string }) | undefined> {
    const r = await this.#m.db.selectFrom('api_token').selectAll().where('token_id', '=', tokenId).executeTakeFirst();
    return r ? { ...toInfo(r), secretHash: r.secret_hash } : undefined;
  }

  /** Tokens of one user (or of everyone), newest first; revoked ones included when asked. */
  async list(options: { username?: string; includeRevoked?: boolean } = {}): Promise<ApiTokenInfo[]> {
    let q = this.#m.db.selectFrom('api_token').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc');
    if (options.username !== undefined) q = q.where('username', '=', options.username);
    if (!options.includeRevoked) q = q.where('revoked_at', 'is', null);
    return (await q.execute()).map(toInfo);
  }

  async revoke(tokenId: string): Promise<ApiTokenInfo> {
    await this.get(tokenId);
    await this.#m.db.updateTable('api_token').set({ revoked_at: this.#now() }).where('token_id', '=', tokenId).where('revoked_at', 'is', null).execute();
    return this.get(tokenId);
  }

  /** Record a use, at most once per minute per token. */
  async touch(token: Pick<ApiTokenInfo, 'tokenId' | 'lastUsedAt'>): Promise<void> {
    const now = this.#now();
    if (token.lastUsedAt !== null && now - token.lastUsedAt < LAST_USED_RESOLUTION_MS) return;
    await this.#m.db.updateTable('api_token').set({ last_used_at: now }).where('token_id', '=', token.tokenId).execute();
  }

  /** End a signed session before its expiry. Expired entries are swept on the way. */
  async revokeSession(jti: string, expiresAt: number): Promise<void> {
    const now = this.#now();
    await this.#m.db.deleteFrom('revoked_session').where('expires_at', '<', now).execute();
    await this.#m.db.insertInto('revoked_session').values({ jti, expires_at: expiresAt }).onConflict((oc) => oc.column('jti').doNothing()).execute();
  }

  async isSessionRevoked(jti: string): Promise<boolean> {
    return (await this.#m.db.selectFrom('revoked_session').select('jti').where('jti', '=', jti).executeTakeFirst()) !== undefined;
  }
}
