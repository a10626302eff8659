/**
 * `standalone` as a user first meets it: the first start creates `admin` with a generated password, prints it
 * once and keeps it in a 0600 file the banner names; the API refuses anonymous calls and accepts that login;
 * a restart keeps the account and no longer prints the password.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort, killAllRoles, pollUntil, startRole } from '../support/roles.ts';

const waitUntil = (check: () => boolean, what: string, timeoutMs: number) => pollUntil(what, check, { timeoutMs });

const home = mkdtempSync(join(tmpdir(), 'capstan-standalone-'));
after(async () => {
  await killAllRoles();
  rmSync(home, { recursive: true, force: true });
});

test('standalone: first-start admin, printed once, 0600 file, login works, restart keeps it quiet', async () => {
  const port = await freePort();
  const env = { CAPSTAN_HOME: home, CAPSTAN__API__PORT: String(port), CAPSTAN__CORE__LOAD_EXAMPLES: 'false', CAPSTAN__LOGGING__LEVEL: 'warn', CAPSTAN__AUTH__PASSWORD_HASH_COST: '12' };
  const first = startRole('standalone#1', ['standalone'], env);
  await waitUntil(() => first.output().includes('Press Ctrl+C'), 'standalone banner', 60_000);
  const banner = first.output();
  const m = /Sign-in +admin \/ (\S+) +\(shown once; also in (\S+)\)/.exec(banner);
  assert.ok(m, banner);
  const [, password, file] = m;
  assert.equal(file, join(home, 'standalone_admin_password.txt'));
  assert.equal(readFileSync(file!, 'utf8').trim(), password);
  assert.equal(statSync(file!).mode & 0o777, 0o600);

  const base = `http://127.0.0.1:${port}`;
  assert.equal((await fetch(`${base}/api/v2/dags`)).status, 401);
  const login = await fetch(`${base}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
  assert.equal(login.status, 201);
  const { access_token } = (await login.json()) as { access_token: string };
  assert.equal((await fetch(`${base}/api/v2/dags`, { headers: { authorization: `Bearer ${access_token}` } })).status, 200);
  first.kill('SIGTERM');
  await first.exited;

  const second = startRole('standalone#2', ['standalone'], env);
  await waitUntil(() => second.output().includes('Press Ctrl+C'), 'standalone banner after restart', 60_000);
  assert.ok(!second.output().includes(password!), 'the password is printed only on the first start');
  assert.match(second.output(), /Sign-in +admin, password in /);
  const again = await fetch(`${base}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
  assert.equal(again.status, 201);
  second.kill('SIGTERM');
  await second.exited;
});
