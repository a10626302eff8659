/**
 * Task-try tokens: a task process may act only for the one try it was started for. A token is
 * `base64url(payload).base64url(HMAC-SHA256(payload))` signed with `api.secretKey`; the payload names
 * the task instance, the try and an expiry. Workers hold no database credentials, only this token.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CapstanError } from '../core/errors.ts';

export interface TaskTokenClaims {
  tiId: string;
  tryNumber: number;
  /** Expiry, epoch ms. */
  exp: number;
}

export class TaskTokenIssuer {
  readonly #key: Buffer;
  readonly #ttlMs: number;

  constructor(secretKey: string, ttlMs: number) {
    this.#key = Buffer.from(secretKey);
    this.#ttlMs = ttlMs;
  }

  /**
   * A token for one try, valid for the configured lifetime, or `maxTtlMs` when shorter (a caller that knows
   * how long the try may take, e.g. from its execution timeout, narrows the token it hands out).
   */
  issue(tiId: string, tryNumber: number, now: number, maxTtlMs?: number): string {
    const ttl = maxTtlMs === undefined ? this.#ttlMs : Math.min(this.#ttlMs, maxTtlMs);
    const payload = Buffer.from(JSON.stringify({ tiId, tryNumber, exp: now + ttl } satisfies TaskTokenClaims)).toString('base64url');
    return `${payload}.${this.#sign(payload)}`;
  }

  /** The claims of a valid, unexpired token; throws `unauthorized` otherwise. */
  verify(token: string, now: number): TaskTokenClaims {
    const [payload, sig] = token.split('.');
    if (!payload || !sig) throw new CapstanError('unauthorized', 'malformed task token');
    const expected = Buffer.from(this.#sign(payload));
    const given = Buffer.from(sig);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new CapstanError('unauthorized', 'task token signature is invalid');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as TaskTokenClaims;
    if (typeof claims.tiId !== 'string' || typeof claims.tryNumber !== 'number' || typeof claims.exp !== 'number') {
      throw new CapstanError('unauthorized', 'task token payload is invalid');
    }
    if (claims.exp < now) throw new CapstanError('unauthorized', 'task token has expired');
    return claims;
  }

  #sign(payload: string): string {
    return createHmac('sha256', this.#key).update(payload).digest('base64url');
  }
}
