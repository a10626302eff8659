/**
 * The text of a personal API token: `cap_<id>_<secret>`. The id (12 base64url characters) finds the row; the
 * secret (32 random bytes) proves possession and is stored only as its SHA-256. The `cap_` prefix lets secret
 * scanners and log maskers recognise a leaked token.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_TOKEN_PREFIX = 'cap_';
const ID_RE = /^[A-Za-z0-9_-]{12}$/;
const SECRET_RE = /^[A-Za-z0-9_-]{43}$/;

export interface NewApiTokenText {
  /** The whole token, shown to its owner once. */
  text: string;
  tokenId: string;
  secretHash: string;
}

/** A fresh token. */
export function newApiTokenText(): NewApiTokenText {
  // The id uses no '_' so the first '_' after the prefix always ends it.
  const tokenId = randomBytes(9).toString('base64url').replaceAll('_', 'x');
  const secret = randomBytes(32).toString('base64url');
  return { text: `${API_TOKEN_PREFIX}${tokenId}_${secret}`, tokenId, secretHash: hashSecret(secret) };
}

/** True when `text` looks like a personal API token (rather than a signed JWT). */
export function isApiTokenText(text: string): boolean {
  return text.startsWith(API_TOKEN_PREFIX);
}

/** The id and secret of a well-formed token, or undefined. */
export function parseApiTokenText(text: string): { tokenId: string; secret: string } | undefined {
  if (!isApiTokenText(text)) return undefined;
  const rest = text.slice(API_TOKEN_PREFIX.length);
  const tokenId = rest.slice(0, 12);
  const secret = rest.slice(13);
  if (rest[12] !== '_' || !ID_RE.test(tokenId) || !SECRET_RE.test(secret)) return undefined;
  return { tokenId, secret };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time check of a presented secret against the stored hash. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
