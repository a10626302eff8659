/**
 * Signed session and bearer tokens (JWTs via `jose`): what `POST /auth/token` returns and what the browser
 * session cookie holds. Each names its user (`sub`), has an id (`jti`, for logout), an issuer, an audience and
 * an expiry; a browser session also carries the CSRF secret its unsafe requests must echo. The role is not in
 * the token: it is read from the user's row on every request, so a demotion or deactivation takes effect at once.
 */
import { createPrivateKey, createPublicKey, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { CapstanError } from '../core/index.ts';

export type SessionKind = 'session' | 'bearer';

export interface SessionClaims {
  username: string;
  jti: string;
  kind: SessionKind;
  /** Expiry, epoch ms. */
  expiresAt: number;
  /** For `session` tokens: the value the `X-CSRF-Token` header must carry on unsafe methods. */
  csrf?: string;
}

export interface SessionTokenOptions {
  algorithm: 'HS256' | 'HS512' | 'RS256' | 'ES256' | 'EdDSA';
  /** Shared secret for HS*; empty: derived from `fallbackSecret`. */
  secret: string;
  /** The signing key of task-try tokens, from which the session secret is derived when none is set. */
  fallbackSecret: string;
  /** PEM (PKCS#8) private key file, for RS256/ES256/EdDSA. */
  privateKeyFile: string;
  issuer: string;
  audience: string;
  ttlMs: number;
}

/**
 * Issues and verifies session and bearer tokens.
 *
 * @example
 * const tokens = new SessionTokens({ algorithm: 'HS256', secret: '', fallbackSecret: key, privateKeyFile: '', issuer: 'capstan', audience: 'capstan-api', ttlMs: 3_600_000 });
 * const { token } = await tokens.issue('alice', 'bearer', Date.now());
 * (await tokens.verify(token, Date.now())).username; // 'alice'
 */
export class SessionTokens {
  readonly #o: SessionTokenOptions;
  readonly #signKey: KeyObject;
  readonly #verifyKey: KeyObject;

  constructor(o: SessionTokenOptions) {
    this.#o = o;
    if (o.algorithm.startsWith('HS')) {
      // A distinct key from the task-token key: a leaked session secret must not forge task tokens, nor the reverse.
      const secret = o.secret !== '' ? Buffer.from(o.secret) : Buffer.from(hkdfSync('sha256', o.fallbackSecret, 'capstan', 'capstan-session-token', 32));
      this.#signKey = createSecretKey(secret);
      this.#verifyKey = this.#signKey;
    } else {
      if (o.privateKeyFile === '') {
        throw new CapstanError('config_invalid', `auth.jwtAlgorithm ${o.algorithm} needs auth.jwtPrivateKeyFile`, { hint: 'point it at a PEM private key, or use HS256' });
      }
      let pem: string;
      try {
        pem = readFileSync(o.privateKeyFile, 'utf8');
      } catch (err) {
        throw new CapstanError('config_invalid', `auth.jwtPrivateKeyFile: cannot read ${o.privateKeyFile}: ${(err as Error).message}`);
      }
      try {
        // node:crypto parses PKCS#8, PKCS#1 and SEC1 PEM alike.
        this.#signKey = createPrivateKey(pem);
        this.#verifyKey = createPublicKey(this.#signKey);
      } catch (err) {
        throw new CapstanError('config_invalid', `auth.jwtPrivateKeyFile: ${o.privateKeyFile} is not a PEM private key: ${(err as Error).message}`);
      }
    }
  }

  /** A new token for `username`, valid for the configured lifetime (or `ttlMs` when shorter). */
  async issue(username: string, kind: SessionKind, now: number, ttlMs = this.#o.ttlMs): Promise<{ token: string; claims: SessionClaims }> {
    const jti = randomBytes(16).toString('base64url');
    const expiresAt = now + Math.min(ttlMs, this.#o.ttlMs);
    const csrf = kind === 'session' ? randomBytes(24).toString('base64url') : undefined;
    const token = await new SignJWT({ kind, ...(csrf ? { csrf } : {}) })
      .setProtectedHeader({ alg: this.#o.algorithm, typ: 'JWT' })
      .setSubject(username)
      .setJti(jti)
      .setIssuer(this.#o.issuer)
      .setAudience(this.#o.audience)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(expiresAt / 1000))
      .sign(this.#signKey);
    return { token, claims: { username, jti, kind, expiresAt: Math.floor(expiresAt / 1000) * 1000, ...(csrf ? { csrf } : {}) } };
  }

  /** The claims of a valid token; throws `unauthorized` for a bad signature, wrong issuer/audience or expiry. */
  async verify(token: string, now: number): Promise<SessionClaims> {
    try {
      const { payload } = await jwtVerify(token, this.#verifyKey, {
        algorithms: [this.#o.algorithm],
        issuer: this.#o.issuer,
        audience: this.#o.audience,
        currentDate: new Date(now),
        requiredClaims: ['sub', 'jti', 'exp'],
      });
      const kind = payload['kind'];
      if (typeof payload.sub !== 'string' || typeof payload.jti !== 'string' || typeof payload.exp !== 'number' || (kind !== 'session' && kind !== 'bearer')) {
        throw new CapstanError('unauthorized', 'the token has the wrong claims');
      }
      const csrf = payload['csrf'];
      return { username: payload.sub, jti: payload.jti, kind, expiresAt: payload.exp * 1000, ...(typeof csrf === 'string' ? { csrf } : {}) };
    } catch (err) {
      if (err instanceof CapstanError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new CapstanError('unauthorized', 'the token has expired', { hint: 'sign in again' });
      throw new CapstanError('unauthorized', 'the token is not valid');
    }
  }
}
