/**
 * The remote CLI against a real standalone server in another process: `capstan login` (wrong password, 0600
 * profile), README's quick start through the API (list the DAGs, trigger one, follow its log until the run
 * succeeds), `--output json` equal to the local CLI's on the server's own database, a Viewer's 403 on trigger,
 * 404/400 exit codes as locally, commands that cannot work remotely, env overrides, and logout revoking the token.
 * The client side runs with its own home and a database URL that does not exist, so nothing is read locally.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, killAllRoles, pollUntil, startRole } from '../support/roles.ts';
import { runCapstan, type CliResult } from './capstan.ts';

const serverHome = mkdtempSync(join(tmpdir(), 'capstan-remote-server-'));
const clientHome = mkdtempSync(join(tmpdir(), 'capstan-remote-client-'));
const serverDb = `sqlite://${join(serverHome, 'capstan.db')}`;
const NO_LOCAL_DB = 'sqlite:///nonexistent-capstan-remote-test/capstan.db';
const profileFile = join(clientHome, 'cli-profiles.json');
const DAG = 'example_params_and_variables';
const RUN = 'remote_quickstart_1';
let apiUrl = '';
let adminPassword = '';
/** Everything the CLI printed in this file, to check that no token ever appears. */
const printed: string[] = [];

/** `capstan <args>` on the client machine (no local DB), optionally with extra environment. */
async function remote(args: string[], o: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const r = await runCapstan(args, clientHome, NO_LOCAL_DB, o.stdin, o.env);
  printed.push(r.stdout, r.stderr);
  return r;
}

/** `capstan <args>` on the server's machine, on its own metadata DB. */
async function local(args: string[], stdin?: string): Promise<CliResult> {
  const r = await runCapstan(['--local', ...args], serverHome, serverDb, stdin);
  printed.push(r.stdout, r.stderr);
  return r;
}

const json = (r: CliResult): unknown => {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
};

before(async () => {
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  const server = startRole('standalone', ['standalone'], {
    CAPSTAN_HOME: serverHome,
    CAPSTAN__API__PORT: String(port),
    CAPSTAN__LOGGING__LEVEL: 'warn',
    CAPSTAN__AUTH__PASSWORD_HASH_COST: '12',
  });
  await pollUntil('standalone banner', () => server.output().includes('Press Ctrl+C'), { timeoutMs: 120_000, diagnose: () => server.output() });
  adminPassword = readFileSync(join(serverHome, 'standalone_admin_password.txt'), 'utf8').trim();
  await pollUntil(`${DAG} parsed`, async () => (await local(['dags', 'list'])).stdout.includes(DAG), { timeoutMs: 120_000, diagnose: () => server.output() });
  const viewer = await local(['users', 'create', '--username', 'viewer', '--role', 'Viewer', '--password-stdin'], 'viewer-password-1\n');
  assert.equal(viewer.code, 0, viewer.stderr);
});

after(async () => {
  await killAllRoles();
  rmSync(serverHome, { recursive: true, force: true });
  rmSync(clientHome, { recursive: true, force: true });
});

test('login: a wrong password is a clear refusal and stores nothing', async () => {
  const r = await remote(['login', '--api-url', apiUrl, '--username', 'admin', '--password-stdin'], { stdin: 'not-the-password\n' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error \[unauthorized\]: .* refused the sign-in of 'admin': wrong user name or password/);
  assert.equal(existsSync(profileFile), false);
});

test('login stores the URL and an API token in a 0600 profile, and prints no token', async () => {
  const r = await remote(['login', '--api-url', `${apiUrl}/`, '--username', 'admin', '--password-stdin'], { stdin: `${adminPassword}\n` });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`signed in to ${apiUrl} as admin \\(Admin\\); API token \\S+ kept in profile 'default'`));
  assert.equal(statSync(profileFile).mode & 0o777, 0o600);
  const stored = (JSON.parse(readFileSync(profileFile, 'utf8')) as { profiles: Record<string, { apiUrl: string; token: string; username: string }> }).profiles['default'];
  assert.equal(stored?.apiUrl, apiUrl);
  assert.equal(stored.username, 'admin');
  assert.ok(stored.token.length > 20);
  assert.ok(!r.stdout.includes(stored.token) && !r.stderr.includes(stored.token));
});

test("README's quick start through the API: list the DAGs, trigger one, follow its log until the run succeeds", async () => {
  const list = await remote(['dags', 'list']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^dagId\s+schedule\s+isPaused/);
  assert.match(list.stdout, new RegExp(`^${DAG}\\s`, 'm'));

  const paused = await remote(['-o', 'json', 'dags', 'pause', DAG]);
  assert.deepEqual(json(paused), { dagId: DAG, isPaused: true });
  assert.deepEqual(json(await remote(['-o', 'json', 'dags', 'unpause', DAG])), { dagId: DAG, isPaused: false });

  const triggered = await remote(['dags', 'trigger', DAG, '--run-id', RUN, '--conf', '{"region": "us-east-1"}']);
  assert.equal(triggered.code, 0, triggered.stderr);
  assert.match(triggered.stdout, new RegExp(`^runId\\s+${RUN}$`, 'm'));
  assert.match(triggered.stdout, /^state\s+queued$/m);

  // Right after the trigger the run has no task instances yet: the follow waits for the task and its try.
  const logs = await remote(['tasks', 'logs', DAG, RUN, 'greet', '--follow']);
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /Hello from us-east-1 \(batch size 100\)/);

  const run = await pollUntil(
    'the run succeeds',
    async () => {
      const runs = json(await remote(['-o', 'json', 'dags', 'list-runs', DAG])) as Array<{ runId: string; state: string }>;
      const r = runs.find((x) => x.runId === RUN);
      return r?.state === 'success' || r?.state === 'failed' ? r : undefined;
    },
    { timeoutMs: 120_000 },
  );
  assert.equal(run.state, 'success');
  const tasks = await remote(['tasks', 'list', DAG, RUN]);
  assert.match(tasks.stdout, /^greet\s+success\s+1/m);
  assert.match(tasks.stdout, /^summarize\s+success\s+1/m);
  const show = await remote(['dags', 'show', DAG]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^greet \[TaskFlow\]\n└── summarize \[TaskFlow\]$/m);
});

test('--output json through the API equals the local CLI on the same database', async () => {
  const commands = [
    ['dags', 'list'],
    ['dags', 'list-runs', DAG],
    ['dags', 'list-import-errors'],
    ['dags', 'list-warnings'],
    ['tasks', 'list', DAG, RUN],
    ['tasks', 'state', DAG, RUN, 'greet'],
    ['tasks', 'logs', DAG, RUN, 'greet'],
    ['tasks', 'clear', DAG, '--run-id', RUN, '-t', '^nothing-matches$'],
  ];
  for (const args of commands) {
    const [r, l] = await Promise.all([remote(['-o', 'json', ...args]), local(['-o', 'json', ...args])]);
    assert.deepEqual(json(r), json(l), `capstan ${args.join(' ')}`);
  }
  const [tableR, tableL] = await Promise.all([remote(['tasks', 'list', DAG, RUN]), local(['tasks', 'list', DAG, RUN])]);
  assert.equal(tableR.stdout, tableL.stdout);
});

test('errors keep the local exit codes; a Viewer gets a clear 403 on trigger', async () => {
  const [missingR, missingL] = await Promise.all([remote(['dags', 'list-runs', 'no_such_dag']), local(['dags', 'list-runs', 'no_such_dag'])]);
  assert.equal(missingL.code, 3);
  assert.equal(missingR.code, 3, missingR.stderr);
  assert.match(missingR.stderr, /no_such_dag/);

  const bad = await remote(['dags', 'trigger', DAG, '--conf', '{"batchSize": "many"}']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /error \[invalid_argument\]: conf\.batchSize/);

  const viewerLogin = await remote(['--profile', 'viewer', 'login', '--api-url', apiUrl, '--username', 'viewer', '--password-stdin'], { stdin: 'viewer-password-1\n' });
  assert.equal(viewerLogin.code, 0, viewerLogin.stderr);
  assert.equal((await remote(['--profile', 'viewer', 'dags', 'list'])).code, 0);
  const refused = await remote(['--profile', 'viewer', 'dags', 'trigger', DAG]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`error \\[forbidden\\]: ${apiUrl} refused: .+`));
  assert.match(refused.stderr, /hint: /);

  const unsupported = await remote(['dags', 'test', DAG]);
  assert.equal(unsupported.code, 2);
  assert.match(unsupported.stderr, /`capstan dags test` works only on the local metadata DB, not through the API server .*: it runs the DAG in this process/);
  const noProfile = await remote(['--profile', 'nobody', 'dags', 'list']);
  assert.equal(noProfile.code, 3);
  assert.match(noProfile.stderr, /there is no CLI profile 'nobody'/);
});

test('CAPSTAN_API_URL and CAPSTAN_API_TOKEN work without a profile; logout revokes the token and removes the profile', async () => {
  const token = (JSON.parse(readFileSync(profileFile, 'utf8')) as { profiles: Record<string, { token: string }> }).profiles['default']?.token ?? '';
  const viaEnv = await remote(['--profile', 'unused', 'dags', 'list'], { env: { CAPSTAN_API_URL: apiUrl, CAPSTAN_API_TOKEN: token } });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.match(viaEnv.stdout, new RegExp(DAG));

  const out = await remote(['logout']);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /signed out of .*: API token \S+ revoked, profile 'default' removed/);
  const left = JSON.parse(readFileSync(profileFile, 'utf8')) as { profiles: Record<string, unknown> };
  assert.deepEqual(Object.keys(left.profiles), ['viewer']);

  const revoked = await remote(['dags', 'list', '--api-url', apiUrl], { env: { CAPSTAN_API_TOKEN: token } });
  assert.equal(revoked.code, 1);
  assert.match(revoked.stderr, /error \[unauthorized\]: .* did not accept the API token/);
  assert.match(revoked.stderr, /hint: sign in again with `capstan login --api-url/);

  assert.equal((await remote(['--profile', 'viewer', 'logout'])).code, 0);
  assert.equal(existsSync(profileFile), false);
  for (const text of printed) assert.ok(!text.includes(token), 'no output carries the API token');
});
