/**
 * Password hashing with scrypt (memory-hard, in `node:crypto`, no native addon). A stored hash names its
 * own parameters — `scrypt$<log2 N>$<r>$<p>$<salt>$<key>` — so raising the cost later leaves old hashes
 * verifiable. Hashing runs on libuv's thread pool and never blocks the event loop.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { InvalidArgument } from '../core/index.ts';

/**
 * Default cost: N = 2^15, r = 8, p = 1 — 32 MiB and tens of milliseconds per hash, the parameters Werkzeug (and so
 * Airflow's FAB login) uses; `auth.passwordHashCost` raises it.
 */
export const DEFAULT_LOG2_COST = 15;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

/** Shortest password accepted when one is set. */
export const MIN_PASSWORD_LENGTH = 8;
/** Longest password accepted (scrypt takes any length; this bounds the work one request can ask for). */
export const MAX_PASSWORD_LENGTH = 1024;

function derive(password: string, salt: Buffer, log2N: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** log2N, r, p, maxmem: 256 * 2 ** log2N * r + 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFKC'), salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** Throws `invalid_argument` naming `field` when the password is too short or too long. */
export function checkPasswordPolicy(password: string, field = 'password'): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw new InvalidArgument(`${field}: must be at least ${MIN_PASSWORD_LENGTH} characters`, 'choose a longer password');
  if (password.length > MAX_PASSWORD_LENGTH) throw new InvalidArgument(`${field}: must be at most ${MAX_PASSWORD_LENGTH} characters`);
}

/**
 * A new hash of `password`.
 *
 * @example
 * const stored = await hashPassword('correct horse battery staple');
 * await verifyPassword('correct horse battery staple', stored); // true
 */
export async function hashPassword(password: string, log2Cost = DEFAULT_LOG2_COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, log2Cost, 8, 1);
  return ['scrypt', log2Cost, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** True when `password` matches `stored`; false for a wrong password or a malformed hash. Constant-time compare. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [log2N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![log2N, r, p].every(Number.isInteger) || log2N < 1 || log2N > 22 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  if (expected.length !== KEY_BYTES) return false;
  const actual = await derive(password, salt, log2N, r, p);
  return timingSafeEqual(actual, expected);
}

/** A hash of a random password, verified against when the user is unknown so both answers cost the same. */
export async function decoyHash(log2Cost = DEFAULT_LOG2_COST): Promise<string> {
  return hashPassword(randomBytes(24).toString('base64url'), log2Cost);
}

/** A random password for generated accounts: 24 characters from an unambiguous alphabet. */
export function generatePassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = randomBytes(24);
  let out = '';
  // 256 % 57 != 0 skews slightly toward the first letters; 24 characters keep ~140 bits either way.
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}
