/**
 * Fernet symmetric encryption (the published Fernet spec), used to keep connection passwords, connection
 * extras and secret-named variables encrypted at rest in the metadata database.
 *
 * A token is base64url( 0x80 | timestamp (u64 BE seconds) | IV (16) | AES-128-CBC ciphertext (PKCS#7) |
 * HMAC-SHA256 (32) over everything before it ). A key is base64url of 32 bytes: the first 16 sign, the
 * last 16 encrypt. Tokens interoperate with other Fernet implementations (e.g. Python's `cryptography`).
 *
 * Why no npm package: the spec is about a page long, `node:crypto` provides every primitive (AES-CBC,
 * HMAC, constant-time compare, random bytes), and the `fernet` npm package is unmaintained and pulls in a
 * pure-JS crypto library. Sixty lines we test against the spec's vectors are the smaller risk.
 *
 * Key rotation: {@link createFernet} takes a comma-separated list `new,old,...`; tokens are made with the
 * first key and decrypted with whichever key's HMAC matches. {@link Fernet.rotate} re-encrypts a token
 * under the first key.
 *
 * @example
 * const f = createFernet(generateFernetKey());
 * const token = f.encrypt('s3cret');
 * f.decrypt(token); // 's3cret'
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CapstanError } from '../core/index.ts';

const VERSION = 0x80;
const HEADER_BYTES = 1 + 8 + 16;
const HMAC_BYTES = 32;
/** Tokens stamped this far in the future still pass a TTL check, as in the spec's reference code. */
const MAX_CLOCK_SKEW_SECONDS = 60;

/** Encrypts with the first configured key and decrypts with any of them. */
export interface Fernet {
  /** A new token for `plaintext` (UTF-8 for strings). `now` (epoch ms) and `iv` exist for test vectors. */
  encrypt(plaintext: string | Uint8Array, options?: { now?: number; iv?: Uint8Array }): string;
  /** The UTF-8 plaintext of `token`; throws a `crypto_error` CapstanError when no key verifies it. */
  decrypt(token: string, options?: DecryptOptions): string;
  /** Like {@link Fernet.decrypt} but returns raw bytes. */
  decryptBytes(token: string, options?: DecryptOptions): Buffer;
  /** Re-encrypt `token` under the first key, keeping its original timestamp. */
  rotate(token: string): string;
  /** How many keys are configured (1 unless rotating). */
  readonly keyCount: number;
}

/** Optional freshness check for {@link Fernet.decrypt}. */
export interface DecryptOptions {
  /** Reject tokens older than this many milliseconds. Default: no limit. */
  ttlMs?: number;
  /** Current time in epoch ms for the TTL check. Default `Date.now()`. */
  now?: number;
}

interface KeyPair {
  signing: Buffer;
  encryption: Buffer;
}

/** A new random key: 32 bytes, base64url with padding (44 characters). */
export function generateFernetKey(): string {
  return toBase64Url(randomBytes(32));
}

/**
 * Build a {@link Fernet} from one key or a comma-separated list (`new,old`) for rotation.
 * Throws `crypto_error` naming the position of a malformed key (never the key itself).
 */
export function createFernet(keys: string | readonly string[]): Fernet {
  const list = (typeof keys === 'string' ? keys.split(',') : [...keys]).map((k) => k.trim()).filter((k) => k !== '');
  if (list.length === 0) {
    throw new CapstanError('crypto_error', 'no Fernet key configured', {
      hint: 'set core.fernetKey (CAPSTAN__CORE__FERNET_KEY) to a key printed by `capstan config generate-key`',
    });
  }
  const pairs = list.map((k, i) => parseKey(k, i));
  const first = pairs[0] as KeyPair;
  return {
    keyCount: pairs.length,
    encrypt: (plaintext, options = {}) =>
      encryptWith(first, toBytes(plaintext), options.now ?? Date.now(), options.iv ?? randomBytes(16)),
    decrypt: (token, options = {}) => decryptWithAny(pairs, token, options).plaintext.toString('utf8'),
    decryptBytes: (token, options = {}) => decryptWithAny(pairs, token, options).plaintext,
    rotate: (token) => {
      const { plaintext, timestampSeconds } = decryptWithAny(pairs, token, {});
      return encryptWith(first, plaintext, timestampSeconds * 1000, randomBytes(16));
    },
  };
}

function parseKey(key: string, index: number): KeyPair {
  const raw = /^[A-Za-z0-9_-]+={0,2}$/.test(key) ? Buffer.from(key, 'base64url') : Buffer.alloc(0);
  if (raw.length !== 32) {
    throw new CapstanError('crypto_error', `Fernet key #${index + 1} is not 32 bytes of url-safe base64`, {
      hint: 'a Fernet key is 32 random bytes in url-safe base64 (44 characters); `capstan config generate-key` prints one',
    });
  }
  return { signing: raw.subarray(0, 16), encryption: raw.subarray(16) };
}

function encryptWith(key: KeyPair, plaintext: Buffer, nowMs: number, iv: Uint8Array): string {
  if (iv.length !== 16) throw new CapstanError('crypto_error', 'a Fernet IV is 16 bytes');
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(VERSION, 0);
  header.writeBigUInt64BE(BigInt(Math.floor(nowMs / 1000)), 1);
  header.set(iv, 9);
  const cipher = createCipheriv('aes-128-cbc', key.encryption, iv);
  const body = Buffer.concat([header, cipher.update(plaintext), cipher.final()]);
  const mac = createHmac('sha256', key.signing).update(body).digest();
  return toBase64Url(Buffer.concat([body, mac]));
}

function decryptWithAny(
  keys: readonly KeyPair[],
  token: string,
  options: DecryptOptions,
): { plaintext: Buffer; timestampSeconds: number } {
  const data = decodeToken(token);
  const body = data.subarray(0, data.length - HMAC_BYTES);
  const mac = data.subarray(data.length - HMAC_BYTES);
  const timestampSeconds = Number(data.readBigUInt64BE(1));
  if (options.ttlMs !== undefined) {
    const nowSeconds = Math.floor((options.now ?? Date.now()) / 1000);
    if (timestampSeconds + Math.floor(options.ttlMs / 1000) < nowSeconds) throw invalid('the token has expired');
    if (nowSeconds + MAX_CLOCK_SKEW_SECONDS < timestampSeconds) throw invalid('the token is stamped in the future');
  }
  for (const key of keys) {
    const expected = createHmac('sha256', key.signing).update(body).digest();
    if (!timingSafeEqual(expected, mac)) continue;
    const iv = data.subarray(9, HEADER_BYTES);
    try {
      const decipher = createDecipheriv('aes-128-cbc', key.encryption, iv);
      const plaintext = Buffer.concat([decipher.update(data.subarray(HEADER_BYTES, data.length - HMAC_BYTES)), decipher.final()]);
      return { plaintext, timestampSeconds };
    } catch {
      throw invalid('the token is signed but its ciphertext is malformed');
    }
  }
  throw invalid('no configured Fernet key verifies this token (wrong key, or the token was altered)');
}

function decodeToken(token: string): Buffer {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(token)) throw invalid('the token is not url-safe base64');
  const data = Buffer.from(token, 'base64url');
  const ciphertextBytes = data.length - HEADER_BYTES - HMAC_BYTES;
  if (ciphertextBytes < 16 || ciphertextBytes % 16 !== 0) throw invalid('the token has the wrong length');
  if (data[0] !== VERSION) throw invalid('the token has an unknown version byte');
  return data;
}

function invalid(reason: string): CapstanError {
  return new CapstanError('crypto_error', `cannot decrypt: ${reason}`, {
    hint: 'check core.fernetKey; after a key change list the new key first and the old one after it: "new,old"',
  });
}

function toBytes(value: string | Uint8Array): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
}

/** base64url WITH padding, as the spec's tokens and keys are written. */
function toBase64Url(bytes: Buffer): string {
  return bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}
