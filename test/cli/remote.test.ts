/**
 * The remote CLI against a real standalone server in another process: `capstan login` (wrong password, 0600
 * profile), README's quick start through the API (list the DAGs, trigger one, follow its log until the run
 * succeeds), `--output json` equal to the local CLI's on the server's own database, the rest of README's CLI
 * table (show, history, marks, notes, clear, backfills, variables, pools, connections, users, roles, tokens) each checked, a Viewer's 403 on
 * trigger, 404/400 exit codes as locally, commands that only work on this machine refusing with --local named,
 * env overrides, and logout revoking the token.
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
/** A daily example DAG, for backfills. */
const BACKFILL_DAG = 'example_bash';
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

/** The run of `dagId` with id `runId` once it has finished (in state `want`, when given), read through the API. */
async function finishedRun(dagId: string, runId: string, want?: 'success' | 'failed'): Promise<{ runId: string; state: string; note: string | null }> {
  return pollUntil(
    `${dagId} ${runId} finishes`,
    async () => {
      const runs = json(await remote(['-o', 'json', 'dags', 'list-runs', dagId, '--limit', '100'])) as Array<{ runId: string; state: string; note: string | null }>;
      const r = runs.find((x) => x.runId === runId);
      return (want === undefined ? r?.state === 'success' || r?.state === 'failed' : r?.state === want) ? r : undefined;
    },
    { timeoutMs: 120_000 },
  );
}

test("README's CLI table through the API: show, history, marks, notes, clear, backfills, variables and pools, each checked", async () => {
  // dags show and list-import-errors: the same table as on the server's machine.
  for (const args of [['dags', 'show', DAG], ['dags', 'list-import-errors']]) {
    const [r, l] = await Promise.all([remote(args), local(args)]);
    assert.equal(r.code, l.code, r.stderr);
    assert.equal(r.stdout, l.stdout, `capstan ${args.join(' ')}`);
  }
  // dags show --output json: the serialized DAG, byte for byte as on the server's machine.
  const [showJson, localShowJson] = await Promise.all([remote(['-o', 'json', 'dags', 'show', DAG]), local(['-o', 'json', 'dags', 'show', DAG])]);
  assert.equal(showJson.code, 0, showJson.stderr);
  assert.equal(showJson.stdout, localShowJson.stdout);
  assert.equal((json(showJson) as { dagId: string; tasks: unknown[] }).dagId, DAG);
  assert.equal((await remote(['-o', 'json', 'dags', 'show', 'no_such_dag'])).code, 3);

  // tasks history: the state moves of the quick start's run, as locally.
  const history = json(await remote(['-o', 'json', 'tasks', 'history', DAG, RUN, 'greet'])) as Array<{ to: string; try: number }>;
  assert.deepEqual(history, json(await local(['-o', 'json', 'tasks', 'history', DAG, RUN, 'greet'])));
  assert.equal(history.at(-1)?.to, 'success');
  const historyTable = await remote(['tasks', 'history', DAG, RUN, 'greet']);
  assert.match(historyTable.stdout, /^at\s+mapIndex\s+try\s+from\s+to\s+actor/);
  assert.equal((await remote(['tasks', 'history', DAG, RUN, 'no_such_task'])).code, 3);

  // tasks mark-failed: a dry run answers what the local one does; then for real, judged again as a failed run.
  const dry = ['-o', 'json', 'tasks', 'mark-failed', DAG, RUN, 'summarize', '--dry-run'];
  assert.deepEqual(json(await remote(dry)), json(await local(dry)));
  assert.deepEqual(json(await remote(dry)), { dryRun: true, state: 'failed', taskInstances: [{ runId: RUN, taskId: 'summarize', mapIndex: -1, previousState: 'success' }] });
  const markedFailed = await remote(['tasks', 'mark-failed', DAG, RUN, 'summarize']);
  assert.equal(markedFailed.code, 0, markedFailed.stderr);
  assert.match(markedFailed.stdout, /^runId\s+taskId\s+previousState\n.*\nremote_quickstart_1\s+summarize\s+success\n\nmarked 1 task instance\(s\) failed$/m);
  assert.equal((await remote(['tasks', 'state', DAG, RUN, 'summarize'])).stdout, 'failed\n');
  // A finished run is judged again: it fails now.
  await finishedRun(DAG, RUN, 'failed');

  // dags mark-run: the run back to success, with the task instance it moved.
  const markRun = json(await remote(['-o', 'json', 'dags', 'mark-run', DAG, RUN, '--state', 'success']));
  assert.deepEqual(markRun, { runId: RUN, previousState: 'failed', state: 'success', taskInstances: [{ runId: RUN, taskId: 'summarize', mapIndex: -1, previousState: 'failed', state: 'success' }] });
  const summarizeMoves = json(await remote(['-o', 'json', 'tasks', 'history', DAG, RUN, 'summarize'])) as Array<{ from: string; to: string; actor: string }>;
  assert.deepEqual(summarizeMoves, json(await local(['-o', 'json', 'tasks', 'history', DAG, RUN, 'summarize'])));
  assert.deepEqual(summarizeMoves.slice(-2).map((m) => [m.from, m.to]), [['success', 'failed'], ['failed', 'success']]);

  // Notes on the run and on a task instance.
  const runNote = await remote(['dags', 'note', DAG, RUN, 'checked from a laptop']);
  assert.equal(runNote.code, 0, runNote.stderr);
  assert.equal(runNote.stdout, 'note saved\n');
  assert.equal((await finishedRun(DAG, RUN)).note, 'checked from a laptop');
  const tiNote = await remote(['tasks', 'note', DAG, RUN, 'greet', 'greeting looked right']);
  assert.equal(tiNote.code, 0, tiNote.stderr);
  assert.equal(tiNote.stdout, 'note saved\n');
  const noted = json(await remote(['-o', 'json', 'tasks', 'state', DAG, RUN, 'greet'])) as { note: string | null };
  assert.equal(noted.note, 'greeting looked right');
  assert.equal((json(await local(['-o', 'json', 'tasks', 'state', DAG, RUN, 'greet'])) as { note: string | null }).note, 'greeting looked right');
  assert.equal((await remote(['tasks', 'note', DAG, RUN, 'greet', '--clear'])).stdout, 'note removed\n');
  assert.equal((json(await remote(['-o', 'json', 'tasks', 'state', DAG, RUN, 'greet'])) as { note: string | null }).note, null);
  assert.equal((await remote(['tasks', 'note', DAG, RUN, 'no_such_task', 'x'])).code, 3);

  // tasks clear with a task regex and --downstream: the run goes back to queued and runs again.
  const clear = await remote(['tasks', 'clear', DAG, '--run-id', RUN, '-t', '^greet$', '--downstream', '--yes']);
  assert.equal(clear.code, 0, clear.stderr);
  assert.match(clear.stdout, /^cleared 2 task instance\(s\) in 1 run\(s\)$/m);
  assert.match(clear.stdout, /^remote_quickstart_1\s+success\s+queued\s+1$/m);
  await finishedRun(DAG, RUN, 'success');
  assert.match((await remote(['tasks', 'list', DAG, RUN])).stdout, /^greet\s+success\s+2/m);

  // Backfills of a daily DAG: the plan as locally, a run followed to the end, the list as locally, a cancel.
  assert.equal((await remote(['dags', 'unpause', BACKFILL_DAG])).code, 0);
  const plan = ['-o', 'json', 'dags', 'backfill', BACKFILL_DAG, '--start', '2026-01-01', '--end', '2026-01-02', '--dry-run'];
  assert.deepEqual(json(await remote(plan)), json(await local(plan)));
  const backfill = await remote(['dags', 'backfill', BACKFILL_DAG, '--start', '2026-01-01', '--end', '2026-01-02', '--max-active-runs', '2', '--wait', '--poll-interval', '200']);
  assert.equal(backfill.code, 0, backfill.stderr);
  assert.match(backfill.stdout, /^backfill (\d+) of DAG 'example_bash': 2 run\(s\) created, 0 re-run, 0 skipped; max 2 active$/m);
  assert.match(backfill.stdout, /^backfill \d+: runs 0 queued, 0 running, 2 success, 0 failed \(of 2\); tasks 10\/10 done$/m);
  const backfills = ['-o', 'json', 'dags', 'list-backfills', BACKFILL_DAG];
  const listed = json(await remote(backfills)) as Array<{ success: number; tasksDone: number }>;
  assert.deepEqual(listed, json(await local(backfills)));
  assert.equal(listed[0]?.success, 2);
  const again = json(await remote(['-o', 'json', 'dags', 'backfill', BACKFILL_DAG, '--start', '2026-01-01', '--end', '2026-01-02', '--dry-run'])) as { plan: Array<{ action: string }> };
  assert.deepEqual(again.plan.map((p) => p.action), ['skip (exists: success)', 'skip (exists: success)']);
  const second = json(await remote(['-o', 'json', 'dags', 'backfill', BACKFILL_DAG, '--start', '2026-02-01', '--end', '2026-02-03', '--max-active-runs', '1'])) as { backfill: { id: number; from: number } };
  assert.equal(second.backfill.from, Date.parse('2026-02-01T00:00:00Z'));
  const cancelled = json(await remote(['-o', 'json', 'dags', 'cancel-backfill', String(second.backfill.id)])) as { id: number; cancelled: boolean; completedAt: string | null };
  assert.equal(cancelled.id, second.backfill.id);
  assert.equal(cancelled.cancelled, true);
  assert.notEqual(cancelled.completedAt, null);
  assert.equal((await remote(['dags', 'cancel-backfill', '999999'])).code, 3);

  // Variables: set, get, list and delete through the API; a secret-named value is not readable remotely.
  const setVar = json(await remote(['-o', 'json', 'variables', 'set', 'region', 'eu-west-1', '--description', 'where to run']));
  assert.deepEqual(setVar, { key: 'region', description: 'where to run', encrypted: false });
  assert.deepEqual(json(await remote(['-o', 'json', 'variables', 'set', 'region', 'us-east-2'])), { key: 'region', description: 'where to run', encrypted: false });
  assert.equal((await remote(['variables', 'get', 'region'])).stdout, 'us-east-2\n');
  assert.equal((await remote(['variables', 'set', 'api_password', 's3cret'])).code, 0);
  const secret = await remote(['variables', 'get', 'api_password']);
  assert.equal(secret.code, 2);
  assert.match(secret.stderr, /never returns such a value/);
  assert.equal((await local(['variables', 'get', 'api_password'])).stdout, 's3cret\n');
  assert.deepEqual(json(await remote(['-o', 'json', 'variables', 'list'])), json(await local(['-o', 'json', 'variables', 'list'])));
  assert.equal((await remote(['variables', 'get', 'nope', '--default', 'fallback'])).stdout, 'fallback\n');
  assert.equal((await remote(['variables', 'get', 'nope'])).code, 3);
  assert.deepEqual(json(await remote(['-o', 'json', 'variables', 'delete', 'region'])), { key: 'region', deleted: true });
  assert.equal((await remote(['variables', 'delete', 'region'])).code, 3);

  // Pools: create, resize, get, list and delete through the API, the same rows as locally.
  assert.deepEqual(json(await remote(['-o', 'json', 'pools', 'set', 'warehouse', '4', '--description', 'the DWH'])), { name: 'warehouse', slots: 4, include_deferred: false, description: 'the DWH' });
  assert.deepEqual(json(await remote(['-o', 'json', 'pools', 'set', 'warehouse', '6'])), { name: 'warehouse', slots: 6, include_deferred: false, description: 'the DWH' });
  assert.deepEqual(json(await remote(['-o', 'json', 'pools', 'get', 'warehouse'])), json(await local(['-o', 'json', 'pools', 'get', 'warehouse'])));
  assert.deepEqual(json(await remote(['-o', 'json', 'pools', 'list'])), json(await local(['-o', 'json', 'pools', 'list'])));
  assert.equal((await remote(['pools', 'get', 'nope'])).code, 3);
  assert.deepEqual(json(await remote(['-o', 'json', 'pools', 'delete', 'warehouse'])), { name: 'warehouse', deleted: true });
  assert.equal((await remote(['pools', 'delete', 'default_pool'])).code, 2);
});

test('connections, users, roles and tokens through the API: the same rows as locally, secrets never served', async () => {
  // Connections: the password and secret extras come back masked, as the local command prints them by default.
  const uri = 'postgresql://etl:pw-remote-1@db.example:5432/dw?sslmode=require&api_key=key-remote-1';
  const added = json(await remote(['-o', 'json', 'connections', 'add', 'warehouse', '--conn-uri', uri, '--conn-description', 'the DWH'])) as Record<string, unknown>;
  assert.deepEqual(added, json(await local(['-o', 'json', 'connections', 'get', 'warehouse'])));
  assert.equal(added['password'], '***');
  assert.deepEqual(added['extra'], { sslmode: 'require', api_key: '***' });
  // The secrets were stored (read on the server's machine, outside `printed`).
  assert.match((await runCapstan(['--local', '-o', 'json', 'connections', 'get', 'warehouse', '--show-secrets'], serverHome, serverDb)).stdout, /pw-remote-1/);
  assert.deepEqual(json(await remote(['-o', 'json', 'connections', 'get', 'warehouse'])), added);
  assert.deepEqual(json(await remote(['-o', 'json', 'connections', 'list'])), json(await local(['-o', 'json', 'connections', 'list'])));
  const shown = await remote(['connections', 'get', 'warehouse', '--show-secrets']);
  assert.equal(shown.code, 2);
  assert.match(shown.stderr, /--show-secrets: the API server never returns a connection's password/);
  assert.match(shown.stderr, /capstan --local connections get warehouse --show-secrets/);
  const [twiceR, twiceL] = [await remote(['connections', 'add', 'warehouse', '--conn-type', 'http']), await local(['connections', 'add', 'warehouse', '--conn-type', 'http'])];
  assert.equal(twiceR.code, twiceL.code, twiceR.stderr);
  assert.match(twiceR.stderr, /connection 'warehouse' already exists/);
  const badPort = await remote(['connections', 'add', 'other', '--conn-type', 'http', '--conn-port', '99999']);
  assert.equal(badPort.code, 2);
  assert.match(badPort.stderr, /--conn-port: '99999' is not a port number/);
  assert.deepEqual(json(await remote(['-o', 'json', 'connections', 'delete', 'warehouse'])), { conn_id: 'warehouse', deleted: true });
  assert.equal((await remote(['connections', 'get', 'warehouse'])).code, 3);
  assert.equal((await remote(['connections', 'delete', 'warehouse'])).code, 3);

  // Users: create, change, deactivate, list, delete; the rows equal the local command's.
  const created = json(await remote(['-o', 'json', 'users', 'create', '--username', 'ops1', '--role', 'Op', '--random-password', '--email', 'ops1@example.com'])) as { username: string; role: string; password: string };
  assert.equal(created.role, 'Op');
  assert.ok(created.password.length >= 12);
  assert.deepEqual(json(await remote(['-o', 'json', 'users', 'set-role', 'ops1', 'User'])), { username: 'ops1', role: 'User' });
  assert.deepEqual(json(await remote(['-o', 'json', 'users', 'reset-password', 'ops1', '--password-stdin'], { stdin: 'ops1-new-password-1\n' })), { username: 'ops1', password: 'changed' });
  assert.deepEqual(json(await remote(['-o', 'json', 'users', 'deactivate', 'ops1'])), { username: 'ops1', active: false });
  assert.deepEqual(json(await remote(['-o', 'json', 'users', 'activate', 'ops1'])), { username: 'ops1', active: true });
  assert.deepEqual(json(await remote(['-o', 'json', 'users', 'list'])), json(await local(['-o', 'json', 'users', 'list'])));
  const demoteLastAdmin = await remote(['users', 'set-role', 'admin', 'Viewer']);
  assert.equal(demoteLastAdmin.code, await local(['users', 'set-role', 'admin', 'Viewer']).then((r) => r.code));
  assert.notEqual(demoteLastAdmin.code, 0);

  // Tokens: listed without secrets, revoked through the API.
  const token = json(await local(['-o', 'json', 'users', 'create-token', 'ops1', 'ci'])) as { token_id: string; token: string };
  assert.deepEqual(json(await remote(['-o', 'json', 'users', 'list-tokens', '--username', 'ops1'])), json(await local(['-o', 'json', 'users', 'list-tokens', '--username', 'ops1'])));
  assert.deepEqual(json(await remote(['-o', 'json', 'users', 'revoke-token', token.token_id])), { token_id: token.token_id, revoked: true });
  const revoked = json(await remote(['-o', 'json', 'users', 'list-tokens', '--username', 'ops1', '--include-revoked'])) as Array<{ token_id: string; revoked: string | null }>;
  assert.notEqual(revoked.find((t) => t.token_id === token.token_id)?.revoked ?? null, null);
  assert.equal((await remote(['users', 'list-tokens', '--username', 'ops1'])).stdout.includes(token.token), false);

  // Custom roles: create, list, delete; a bad base role is refused before the call.
  assert.deepEqual(json(await remote(['-o', 'json', 'roles', 'create', 'bash_viewers', '--base', 'Viewer', '--dags', `${BACKFILL_DAG}`, '--description', 'read example_bash'])), { name: 'bash_viewers', base_role: 'Viewer', dag_ids: [BACKFILL_DAG], dag_tags: [] });
  assert.deepEqual(json(await remote(['-o', 'json', 'roles', 'list'])), json(await local(['-o', 'json', 'roles', 'list'])));
  const badBase = await remote(['roles', 'create', 'x', '--base', 'Admin']);
  assert.equal(badBase.code, 2);
  assert.match(badBase.stderr, /--base: 'Admin' is not a base role/);
  assert.deepEqual(json(await remote(['-o', 'json', 'roles', 'delete', 'bash_viewers'])), { name: 'bash_viewers', deleted: true });
  assert.deepEqual(json(await remote(['-o', 'json', 'users', 'delete', 'ops1'])), { username: 'ops1', deleted: true });
  assert.equal((await remote(['users', 'delete', 'ops1'])).code, 3);
  assert.equal(printed.some((p) => p.includes('pw-remote-1') || p.includes('key-remote-1') || p.includes('ops1-new-password-1')), false);
});

test('commands that only work on this machine refuse a remote target, naming --local', async () => {
  for (const [args, why] of [
    [['db', 'migrate'], 'it manages the metadata database itself'],
    [['users', 'create-token', 'admin', 'ci'], 'the API mints a token only for the signed-in user'],
    [['scheduler'], 'it runs a Capstan role in this process'],
    [['config', 'list'], "it shows this machine's configuration"],
    [['variables', 'export', '-'], 'it writes every value in plain text'],
  ] as const) {
    const r = await remote([...args]);
    assert.equal(r.code, 2, `capstan ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`error \\[invalid_argument\\]: \`capstan ${args[0]}[^\`]*\` works only on the local metadata DB, not through the API server ${apiUrl} \\(profile 'default'\\): ${why.replace(/[()]/g, '\\$&')}`));
    assert.match(r.stderr, /hint: add --local/);
  }
  // With --local the same command runs on this machine's metadata DB, whatever target is set.
  const checked = await runCapstan(['--local', 'db', 'check'], serverHome, serverDb, undefined, { CAPSTAN_API_URL: apiUrl });
  assert.equal(checked.code, 0, checked.stderr);
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
