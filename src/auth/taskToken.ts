/**
 * Task-try tokens: a task process may act only for the one try it was started for. A token is
 * `base64url(payload).base64url(HMAC-SHA256(payload))` signed with `api.secretKey`; the payload names
 * the task instance, the try, an expiry and a phase. Workers hold no database credentials, only this token.
 * A signature says who issued a token, not that its try may still act: the Execution API checks that the
 * try is the task instance's current one and in the state the route needs (docs/security.md).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { CapstanError } from '../core/index.ts';

/**
 * `run`: the token a try is launched with or its heartbeat hands back, good while the try runs. `closing`:
 * handed back by `finish`, so the process that reported the end can still run the task's callbacks (read
 * variables, connections and XComs) and ship the rest of its log; it writes nothing else.
 */
export type TaskTokenPhase = 'run' | 'closing';

export interface TaskTokenClaims {
  tiId: string;
  /** ≥ 1. */
  tryNumber: number;
  /** Expiry, epoch ms. */
  exp: number;
  phase: TaskTokenPhase;
}

const claimsSchema = z.object({
  tiId: z.string().min(1),
  tryNumber: z.int().min(1),
  exp: z.number(),
  phase: z.enum(['run', 'closing']).default('run'),
});

/** Lifetime of tokens handed back by heartbeats and `finish` unless configured. */
export const DEFAULT_REFRESHED_TOKEN_TTL_MS = 15 * 60_000;

export class TaskTokenIssuer {
  readonly #key: Buffer;
  readonly #ttlMs: number;
  readonly #refreshTtlMs: number;

  /**
   * `ttlMs`: lifetime of the token a try is launched with (it must last until the task process calls `start`:
   * a worker pod may wait in Pending). `refreshTtlMs`: lifetime of the tokens heartbeats and `finish` hand back
   * (default 15 min): a running try gets a fresh one every heartbeat, so a leaked token soon stops working.
   */
  constructor(secretKey: string, ttlMs: number, refreshTtlMs: number = DEFAULT_REFRESHED_TOKEN_TTL_MS) {
    this.#key = Buffer.from(secretKey);
    this.#ttlMs = ttlMs;
    this.#refreshTtlMs = refreshTtlMs;
  }

  /**
   * A launch token for one try, valid for the configured lifetime, or `maxTtlMs` when shorter (a caller that
   * knows how long the try may take, e.g. from its execution timeout, narrows the token it hands out).
   */
  issue(tiId: string, tryNumber: number, now: number, maxTtlMs?: number): string {
    const ttl = maxTtlMs === undefined ? this.#ttlMs : Math.min(this.#ttlMs, maxTtlMs);
    return this.#token({ tiId, tryNumber, exp: now + ttl, phase: 'run' });
  }

  /** A short-lived token for the same try (a heartbeat's `run` token, or `finish`'s `closing` one). */
  refresh(claims: Pick<TaskTokenClaims, 'tiId' | 'tryNumber'>, phase: TaskTokenPhase, now: number): string {
    return this.#token({ tiId: claims.tiId, tryNumber: claims.tryNumber, exp: now + this.#refreshTtlMs, phase });
  }

  /** The claims of a valid, unexpired token; throws `unauthorized` otherwise (whatever the token holds). */
  verify(token: string, now: number): TaskTokenClaims {
    const [payload, sig, extra] = token.split('.');
    if (!payload || !sig || extra !== undefined) throw new CapstanError('unauthorized', 'malformed task token');
    const expected = Buffer.from(this.#sign(payload));
    const given = Buffer.from(sig);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new CapstanError('unauthorized', 'task token signature is invalid');
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(payload, 'base64url').toString());
    } catch {
      throw new CapstanError('unauthorized', 'task token payload is not JSON');
    }
    const parsed = claimsSchema.safeParse(decoded);
    if (!parsed.success) throw new CapstanError('unauthorized', 'task token payload is invalid');
    const claims = parsed.data;
    if (claims.exp < now) throw new CapstanError('unauthorized', 'task token has expired');
    return claims;
  }

  #token(claims: TaskTokenClaims): string {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${payload}.${this.#sign(payload)}`;
  }

  #sign(payload: string): string {
    return createHmac('sha256', this.#key).update(payload).digest('base64url');
  }
}
