import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CapstanError } from '../../src/core/errors.ts';
import { createFernet, generateFernetKey } from '../../src/crypto/fernet.ts';

// The Fernet spec's generate/verify vector: key, IV 0..15, 1985-10-26T01:20:00-07:00, plaintext "hello".
const SPEC_KEY = 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';
const SPEC_TOKEN = 'gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==';
const SPEC_NOW_MS = Date.parse('1985-10-26T01:20:00-07:00');

function assertCryptoError(fn: () => unknown, pattern: RegExp): CapstanError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CapstanError, `expected a CapstanError, got ${String(caught)}`);
  assert.equal(caught.code, 'crypto_error');
  assert.match(caught.message, pattern);
  return caught;
}

function flipByte(token: string, index: number): string {
  const raw = Buffer.from(token, 'base64url');
  raw[index] = (raw[index] ?? 0) ^ 0x01;
  return raw.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

void describe('fernet spec vectors', () => {
  void test('generate: encrypting with the spec key, time and IV gives the spec token', () => {
    const f = createFernet(SPEC_KEY);
    const iv = Uint8Array.from({ length: 16 }, (_, i) => i);
    assert.equal(f.encrypt('hello', { now: SPEC_NOW_MS, iv }), SPEC_TOKEN);
  });

  void test('verify: the spec token decrypts to hello, within a 60 s TTL one second later', () => {
    const f = createFernet(SPEC_KEY);
    assert.equal(f.decrypt(SPEC_TOKEN, { ttlMs: 60_000, now: SPEC_NOW_MS + 1000 }), 'hello');
  });

  void test('an expired token is refused under a TTL but accepted without one', () => {
    const f = createFernet(SPEC_KEY);
    assertCryptoError(() => f.decrypt(SPEC_TOKEN, { ttlMs: 60_000, now: SPEC_NOW_MS + 120_000 }), /expired/);
    assert.equal(f.decrypt(SPEC_TOKEN), 'hello');
  });

  void test('a token stamped far in the future is refused under a TTL', () => {
    const f = createFernet(SPEC_KEY);
    assertCryptoError(() => f.decrypt(SPEC_TOKEN, { ttlMs: 60_000, now: SPEC_NOW_MS - 3_600_000 }), /future/);
  });
});

void describe('fernet', () => {
  void test('round-trips text, unicode, empty and binary plaintexts with fresh IVs', () => {
    const f = createFernet(generateFernetKey());
    for (const text of ['', 'p@ss:word/with?chars', 'ünïcødé ✓', 'x'.repeat(1000)]) {
      assert.equal(f.decrypt(f.encrypt(text)), text);
    }
    const bytes = Uint8Array.from([0, 255, 1, 254]);
    assert.deepEqual([...f.decryptBytes(f.encrypt(bytes))], [...bytes]);
    assert.notEqual(f.encrypt('same'), f.encrypt('same'));
  });

  void test('generated keys are 44 url-safe base64 characters and distinct', () => {
    const a = generateFernetKey();
    assert.match(a, /^[A-Za-z0-9_-]{43}=$/);
    assert.notEqual(a, generateFernetKey());
  });

  void test('a wrong key fails with crypto_error and never reveals the plaintext or key', () => {
    const key = generateFernetKey();
    const token = createFernet(generateFernetKey()).encrypt('top-secret-value');
    const err = assertCryptoError(() => createFernet(key).decrypt(token), /no configured Fernet key/);
    assert.doesNotMatch(err.message + (err.hint ?? ''), /top-secret-value/);
    assert.doesNotMatch(err.message + (err.hint ?? ''), new RegExp(key.slice(0, 20)));
  });

  void test('tampering with any part of the token is detected', () => {
    const f = createFernet(generateFernetKey());
    const token = f.encrypt('payload that spans two blocks...');
    const length = Buffer.from(token, 'base64url').length;
    for (const index of [3, 12, 30, length - 40, length - 1]) {
      assertCryptoError(() => f.decrypt(flipByte(token, index)), /no configured Fernet key/);
    }
    assertCryptoError(() => f.decrypt(flipByte(token, 0)), /version/);
    assertCryptoError(() => f.decrypt(token.slice(0, 40)), /length/);
    assertCryptoError(() => f.decrypt(token.replace(/^.{4}/, 'gA+/')), /base64/);
  });

  void test('rotation: encrypt with the first key, decrypt with any, rotate onto the first', () => {
    const oldKey = generateFernetKey();
    const newKey = generateFernetKey();
    const oldToken = createFernet(oldKey).encrypt('hunter2');
    const rotating = createFernet(` ${newKey}, ${oldKey} `);
    assert.equal(rotating.keyCount, 2);
    assert.equal(rotating.decrypt(oldToken), 'hunter2');
    const fresh = rotating.encrypt('fresh');
    assert.equal(createFernet(newKey).decrypt(fresh), 'fresh');
    assertCryptoError(() => createFernet(oldKey).decrypt(fresh), /no configured/);
    const rotated = rotating.rotate(oldToken);
    assert.equal(createFernet(newKey).decrypt(rotated), 'hunter2');
  });

  void test('malformed keys are refused by position without echoing them', () => {
    const err = assertCryptoError(() => createFernet(`${generateFernetKey()},not-a-key`), /key #2/);
    assert.doesNotMatch(err.message, /not-a-key/);
    assertCryptoError(() => createFernet(''), /no Fernet key/);
    assertCryptoError(() => createFernet(Buffer.alloc(16).toString('base64url')), /key #1/);
  });
});

// Python's `cryptography` is an independent implementation; when it is installed it checks interop both ways.
const python = spawnSync('python3', ['-c', 'import cryptography.fernet'], { encoding: 'utf8' });
void describe('fernet interop with Python cryptography', { skip: python.status === 0 ? false : 'python3 with cryptography not installed' }, () => {
  void test('tokens made here decrypt there, and tokens made there decrypt here', () => {
    const key = generateFernetKey();
    const f = createFernet(key);
    const script = [
      'import sys',
      'from cryptography.fernet import Fernet',
      'f = Fernet(sys.argv[1].encode())',
      'print(f.decrypt(sys.argv[2].encode()).decode())',
      'print(f.encrypt("from python ✓".encode()).decode())',
    ].join('\n');
    const out = spawnSync('python3', ['-c', script, key, f.encrypt('from node ✓')], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const [decrypted, token] = out.stdout.trim().split('\n');
    assert.equal(decrypted, 'from node ✓');
    assert.equal(f.decrypt(token ?? ''), 'from python ✓');
  });
});
