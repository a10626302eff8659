/**
 * Keys Capstan generates for itself when the operator sets none: the Fernet key that encrypts stored
 * secrets and the key that signs task-try tokens. They are created once under `<home>` with mode 0600 and
 * read back on every later start, so restarts (and every process sharing the home folder) agree on them.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FERNET_KEY_FILE, SECRET_KEY_FILE } from './defaults.ts';
import { ConfigError } from './errors.ts';

/** A new Fernet key: 32 random bytes, base64url with padding (44 characters). */
export function generateFernetKey(): string {
  return randomBytes(32).toString('base64url') + '=';
}

/** A new signing key for task-try tokens: 32 random bytes, base64url (43 characters). */
export function generateSecretKey(): string {
  return randomBytes(32).toString('base64url');
}

/** True when `key` is base64url (padding optional) and decodes to exactly 32 bytes. */
export function isFernetKey(key: string): boolean {
  if (!/^[A-Za-z0-9_-]{43}=?$/.test(key)) return false;
  return Buffer.from(key, 'base64url').length === 32;
}

/** Shortest signing key accepted from the operator. */
export const MIN_SECRET_KEY_LENGTH = 16;

/** The keys in effect, and which of them came from a file under `<home>`. */
export interface GeneratedSecrets {
  fernetKey: string;
  secretKey: string;
  /** Path of the file each key was read from or written to; absent for keys the operator set. */
  files: { fernetKey?: string; secretKey?: string };
}

/**
 * Return the configured keys, filling each unset one from `<home>/fernet.key` or `<home>/secret.key`,
 * creating that file (mode 0600) with a fresh key the first time. Creation is atomic: two processes
 * starting together end up with the same key. Throws `ConfigError` when a file is unreadable, unwritable
 * or holds a malformed key.
 *
 * @example
 * const { fernetKey, secretKey } = ensureGeneratedSecrets('/var/lib/capstan', {});
 */
export function ensureGeneratedSecrets(home: string, configured: { fernetKey?: string; secretKey?: string }): GeneratedSecrets {
  const files: GeneratedSecrets['files'] = {};
  let fernetKey = configured.fernetKey;
  if (fernetKey === undefined) {
    files.fernetKey = join(home, FERNET_KEY_FILE);
    fernetKey = readOrCreate(files.fernetKey, generateFernetKey, isFernetKey, 'core.fernetKey');
  }
  let secretKey = configured.secretKey;
  if (secretKey === undefined) {
    files.secretKey = join(home, SECRET_KEY_FILE);
    secretKey = readOrCreate(files.secretKey, generateSecretKey, (k) => k.length >= MIN_SECRET_KEY_LENGTH, 'api.secretKey');
  }
  return { fernetKey, secretKey, files };
}

function readOrCreate(path: string, generate: () => string, valid: (key: string) => boolean, key: string): string {
  const existing = readKeyFile(path, key);
  const value = existing ?? createKeyFile(path, generate(), key);
  if (!valid(value)) {
    throw new ConfigError([
      {
        source: path,
        key,
        value: '***',
        problem: 'the stored key is malformed',
        fix: `delete ${path} to have a new key generated (data encrypted with the old key becomes unreadable), or set ${key} explicitly`,
      },
    ]);
  }
  return value;
}

function readKeyFile(path: string, key: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw new ConfigError([{ source: path, key, value: '***', problem: `cannot read the generated key: ${String(err)}`, fix: `make ${path} readable by this user, or set ${key} explicitly` }], err);
  }
}

/** Write `value` to a private temp file, then hard-link it into place; losing the race means reading the winner's key. */
function createKeyFile(path: string, value: string, key: string): string {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(temp, value + '\n', { mode: 0o600, flag: 'wx' });
    chmodSync(temp, 0o600);
    try {
      linkSync(temp, path);
      return value;
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      return readKeyFile(path, key) ?? value;
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([{ source: path, key, value: undefined, problem: `cannot store a generated key: ${String(err)}`, fix: `make the home folder writable, or set ${key} explicitly` }], err);
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // The temp file was never created; nothing to clean up.
    }
  }
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
