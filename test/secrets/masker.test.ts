import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SecretMasker } from '../../src/secrets/masker.ts';

void test('masks every occurrence of a secret, leaving the rest of the text', () => {
  const m = new SecretMasker();
  assert.equal(m.mask('nothing registered: hunter2'), 'nothing registered: hunter2');
  m.add('hunter2');
  assert.equal(m.mask('pw=hunter2, again hunter2.'), 'pw=***, again ***.');
  assert.equal(m.mask('hunter'), 'hunter');
});

void test('ignores values shorter than the minimum so ordinary text survives', () => {
  const m = new SecretMasker();
  for (const short of ['', 'a', 'ab', 'abc', '   ']) m.add(short);
  assert.equal(m.size, 0);
  assert.equal(m.mask('a b abc'), 'a b abc');
  const strict = new SecretMasker({ minLength: 2 });
  strict.add('ab');
  assert.equal(strict.mask('xaby'), 'x***y');
});

void test('masks the JSON-escaped and URL-encoded forms of a secret', () => {
  const m = new SecretMasker();
  m.add('p@ss "w/rd" ü');
  assert.equal(m.mask(JSON.stringify({ password: 'p@ss "w/rd" ü' })), '{"password":"***"}');
  assert.equal(m.mask(`postgres://me:${encodeURIComponent('p@ss "w/rd" ü')}@db/x`), 'postgres://me:***@db/x');
  assert.equal(m.mask('form: ' + encodeURIComponent('p@ss "w/rd" ü').replace(/%20/g, '+')), 'form: ***');
});

void test('regex metacharacters in secrets are matched literally', () => {
  const m = new SecretMasker();
  m.add('a.b*c(d)[e]$^|\\f');
  assert.equal(m.mask('x a.b*c(d)[e]$^|\\f y axbbc'), 'x *** y axbbc');
});

void test('the longest overlapping secret wins and new secrets apply to later masks', () => {
  const m = new SecretMasker();
  m.add('secret');
  m.add('secret-extended');
  assert.equal(m.mask('secret-extended secret'), '*** ***');
  assert.equal(m.mask('later-one'), 'later-one');
  m.add('later-one');
  assert.equal(m.mask('later-one'), '***');
});

void test('multi-line secrets are masked whole and line by line', () => {
  const m = new SecretMasker();
  const key = 'BEGIN KEY\nAAAABBBBCCCC\nDDDDEEEE\nEND KEY';
  m.add(key);
  assert.equal(m.mask(`key:\n${key}\n`), 'key:\n***\n');
  assert.equal(m.mask('log line: DDDDEEEE'), 'log line: ***');
});

void test('variables: only secret-named keys, plus secret-named fields inside JSON values', () => {
  const m = new SecretMasker();
  m.addVariable('bucket', 'my-public-bucket');
  m.addVariable('slack_api_key', 'xoxb-1234');
  m.addVariable('service', JSON.stringify({ user: 'svc-user', password: 'nested-pw', deep: [{ access_token: 'tok-5678' }] }));
  assert.equal(m.mask('my-public-bucket xoxb-1234 svc-user nested-pw tok-5678'), 'my-public-bucket *** svc-user *** ***');
});

void test('connections: the password and secret-named extras', () => {
  const m = new SecretMasker();
  m.addConnection({ password: 'conn-pass', extra: { region: 'eu-west-1', aws_secret_access_key: 'AKIA-secret-value' } });
  m.addConnection({ password: null, extra: {} });
  assert.equal(m.mask('conn-pass eu-west-1 AKIA-secret-value'), '*** eu-west-1 ***');
});

void test('maskDeep masks strings everywhere and secret-named fields outright', () => {
  const m = new SecretMasker();
  m.add('hunter2');
  const input = { msg: 'pw hunter2', list: ['hunter2', 3, null], nested: { api_key: 'short', ok: true, password: '' } };
  assert.deepEqual(m.maskDeep(input), { msg: 'pw ***', list: ['***', 3, null], nested: { api_key: '***', ok: true, password: '' } });
  assert.equal(input.msg, 'pw hunter2');
});

test('maskBytes keeps the byte length (shipped-log offsets stay valid), multi-byte secrets included, and sees additions made after a mask()', () => {
  const m = new SecretMasker();
  m.add('hunter2');
  assert.equal(m.mask('x hunter2'), 'x ***');
  m.add('pässwörd'); // added after the text regex was built
  const chunk = Buffer.from('a hunter2 b pässwörd c\n');
  const masked = Buffer.from(m.maskBytes(chunk));
  assert.equal(masked.length, chunk.length);
  assert.equal(masked.toString('utf8'), `a ******* b ${'*'.repeat(Buffer.byteLength('pässwörd'))} c\n`);
  // A chunk cut in the middle of a multi-byte character outside any secret passes through unchanged.
  const cut = Buffer.from('ü ok').subarray(1);
  assert.deepEqual(Buffer.from(m.maskBytes(cut)), cut);
  assert.equal(new SecretMasker().maskBytes(chunk), chunk);
});
