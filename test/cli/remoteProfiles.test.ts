/**
 * The remote CLI's profile file and target choice, on the real file system: 0600 whatever the umask, replaced
 * atomically, removed with its last profile; which of --local, --api-url, CAPSTAN_API_URL/CAPSTAN_API_TOKEN and
 * the stored profile wins; URLs that are refused.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CapstanError } from '../../src/core/errors.ts';
import { normalizeApiUrl, resolveRemoteTarget } from '../../src/cli/remote/connection.ts';
import { profilesPath, readProfiles, removeProfile, saveProfile, type Profile } from '../../src/cli/remote/profiles.ts';

const home = mkdtempSync(join(tmpdir(), 'capstan-profiles-'));
after(() => rmSync(home, { recursive: true, force: true }));
const profile = (apiUrl: string, token: string): Profile => ({ apiUrl, username: 'alice', token, tokenId: `id-${token}`, createdAt: '2026-12-07T00:00:00.000Z' });

test('the profile file lives in CAPSTAN_HOME, else the XDG config folder', () => {
  assert.equal(profilesPath({ CAPSTAN_HOME: '/h' }), '/h/cli-profiles.json');
  assert.equal(profilesPath({ XDG_CONFIG_HOME: '/x' }), '/x/capstan/profiles.json');
  assert.match(profilesPath({}), /\/\.config\/capstan\/profiles\.json$/);
});

test('profiles are written 0600 even under a permissive umask, replaced atomically, and the file goes with the last one', () => {
  const path = join(home, 'nested', 'profiles.json');
  const old = process.umask(0o000);
  try {
    saveProfile(path, 'default', profile('http://a:8080', 'tok-a'));
  } finally {
    process.umask(old);
  }
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(join(home, 'nested')).mode & 0o777, 0o700);
  saveProfile(path, 'staging', profile('http://b:8080', 'tok-b'));
  saveProfile(path, 'default', profile('http://a:8080', 'tok-a2'));
  assert.deepEqual(Object.keys(readProfiles(path)).sort(), ['default', 'staging']);
  assert.equal(readProfiles(path)['default']?.token, 'tok-a2');
  assert.deepEqual(readdirSync(join(home, 'nested')), ['profiles.json'], 'no temporary file is left behind');
  assert.equal(removeProfile(path, 'default')?.token, 'tok-a2');
  assert.equal(removeProfile(path, 'default'), undefined);
  removeProfile(path, 'staging');
  assert.equal(existsSync(path), false);
});

test('a damaged profile file is a config error naming the file', () => {
  const path = join(home, 'broken.json');
  writeFileSync(path, '{ not json');
  assert.throws(() => readProfiles(path), (e: unknown) => e instanceof CapstanError && e.code === 'config_invalid' && e.message.includes(path));
});

test('target: --local wins, then --api-url / CAPSTAN_API_URL, then the named or default profile', () => {
  const env = { CAPSTAN_HOME: join(home, 'targets') };
  const path = profilesPath(env);
  saveProfile(path, 'default', profile('http://a:8080', 'tok-a'));
  saveProfile(path, 'staging', profile('http://b:8080', 'tok-b'));

  assert.equal(resolveRemoteTarget({ local: true, apiUrl: 'http://a:8080' }, env), undefined);
  assert.deepEqual(resolveRemoteTarget({}, env), { apiUrl: 'http://a:8080', token: 'tok-a', source: "profile 'default'", profile: 'default' });
  assert.equal(resolveRemoteTarget({ profile: 'staging' }, env)?.token, 'tok-b');
  assert.equal(resolveRemoteTarget({}, { ...env, CAPSTAN_PROFILE: 'staging' })?.apiUrl, 'http://b:8080');
  // --api-url of the profile's own server uses its token; another server gets none (the server answers 401).
  assert.equal(resolveRemoteTarget({ apiUrl: 'http://a:8080/' }, env)?.token, 'tok-a');
  assert.deepEqual(resolveRemoteTarget({ apiUrl: 'http://c:8080' }, env), { apiUrl: 'http://c:8080', token: undefined, source: '--api-url', profile: 'default' });
  assert.deepEqual(resolveRemoteTarget({}, { ...env, CAPSTAN_API_URL: 'http://c:8080', CAPSTAN_API_TOKEN: 'tok-env' }), { apiUrl: 'http://c:8080', token: 'tok-env', source: 'CAPSTAN_API_URL', profile: 'default' });
  assert.equal(resolveRemoteTarget({}, { ...env, CAPSTAN_API_TOKEN: 'tok-env' })?.token, 'tok-env', 'CAPSTAN_API_TOKEN overrides the profile token');
  assert.throws(() => resolveRemoteTarget({ profile: 'nobody' }, env), (e: unknown) => e instanceof CapstanError && e.code === 'not_found' && /no CLI profile 'nobody'/.test(e.message));
  assert.equal(resolveRemoteTarget({}, { CAPSTAN_HOME: join(home, 'empty') }), undefined, 'no profile and no URL: the local DB');
});

test('API URLs: http(s) only, no credentials, trailing slashes dropped, a path prefix kept', () => {
  assert.equal(normalizeApiUrl('https://capstan.example.com/'), 'https://capstan.example.com');
  assert.equal(normalizeApiUrl('http://host:8080/capstan//'), 'http://host:8080/capstan');
  for (const bad of ['ftp://host', 'not a url', 'http://user:secret@host']) {
    assert.throws(() => normalizeApiUrl(bad), (e: unknown) => e instanceof CapstanError && e.code === 'invalid_argument' && !e.message.includes('secret'), bad);
  }
});
