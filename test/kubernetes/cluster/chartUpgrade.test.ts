// The upgrade path of issue 16 §4: a database made by the previous release migrates under `helm upgrade`. The
// previous release's chart and app (its sources at PREVIOUS_RELEASE, from this repository's history, run by the
// local kubelet as that release's image) are installed into the test control plane on the test's PostgreSQL and
// used: the admin signs in, writes a connection, runs a DAG. Then `helm upgrade` to this checkout's chart and
// image: its migration Job brings the schema to the current one while the old pods are replaced, and the new
// pods read what the old release wrote (the run and its try, the sign-in token, the connection's encrypted
// password), and the new schema's columns work on old rows (a note on the old task instance).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { waitFor } from '../../support/k8s/index.ts';
import { apiCall as call, chartTestSkip, chartTestValues, openChartHarness, type ChartHarness } from '../../support/k8s/chartHarness.ts';
import { capstanAppImage, type LocalImage } from '../../support/k8s/localImage.ts';
import { CHART } from '../../chart/helm.ts';
import { MIGRATION_NAMES } from '../../../src/store/migrations/index.ts';

/**
 * The previous release: the last commit before migration 012 (task-instance notes), so its database is one
 * schema step behind this checkout's at least. Move it forward when a release is cut.
 */
const PREVIOUS_RELEASE = '964b61238499cffd39bc95f729ea73c93eebbd75';
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const hasPrevious = spawnSync('git', ['-C', repoRoot, 'cat-file', '-e', `${PREVIOUS_RELEASE}^{commit}`]).status === 0;
const skip = await chartTestSkip('chart upgrade test', {
  missing: !hasPrevious && `commit ${PREVIOUS_RELEASE} is not in this clone (git fetch --unshallow)`,
  requiredMessage: `the chart upgrade test needs the previous release's sources (commit ${PREVIOUS_RELEASE}) in this clone's history: run \`git fetch --unshallow\``,
});

const RELEASE = 'up';
const SECRET = 'pw-written-by-the-previous-release';

// Written in the authoring API both releases share.
const PROBE_DAG = `import { dag, task, getCurrentContext } from 'capstan';

const probe = task({ taskId: 'probe', retries: 0 }, async () => {
  const ctx = getCurrentContext();
  const conn = await ctx.getConnection('upgrade_conn');
  if (conn.password !== ctx.params['expect']) throw new Error('the connection password did not decrypt to the value written');
  return 'ok';
});

export default dag({ dagId: 'upgrade_probe', schedule: null, params: { expect: '' } }, () => {
  probe();
});
`;

/** The values of both releases; each release's image has its own tag, so the upgrade rolls every pod. */
const values = (tag: string): Record<string, unknown> => chartTestValues({ image: { tag } });

void describe('helm upgrade from the previous release migrates its database and keeps its data', { skip }, () => {
  let h: ChartHarness;
  /** The two releases' images by tag: `capstan/worker:previous` and `capstan/worker:current`. */
  const images = new Map<string, LocalImage>();
  const diagnostics = (): string => h.diagnostics();
  const runsOf = (arg: string) => h.runsOf(arg);
  /** The api-server's base URL once it answers /health and differs from `not`. */
  const apiBase = (not?: string): Promise<string> => waitFor('a healthy api-server', async () => {
    const { base } = await h.apiEndpoint(RELEASE);
    if (base === not) return undefined;
    return (await call(base, '/health').catch(() => ({ status: 0 }))).status === 200 ? base : undefined;
  }, 180_000, 500);

  const runProbe = async (base: string, token: string): Promise<{ runId: string; state: string }> => {
    const created = await call(base, '/api/v2/dags/upgrade_probe/dagRuns', { method: 'POST', token, body: { conf: { expect: SECRET } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const runId = (created.body as { dagRunId: string }).dagRunId;
    const state = await waitFor(`run ${runId} to end`, async () => {
      const s = ((await call(base, `/api/v2/dags/upgrade_probe/dagRuns/${encodeURIComponent(runId)}`, { token })).body as { state?: string }).state;
      return s === 'success' || s === 'failed' ? s : undefined;
    }, 240_000, 1000);
    return { runId, state };
  };

  before(async () => {
    h = await openChartHarness('chart-upgrade');
    // The previous release's sources, as its image would hold them; its dependencies are this checkout's.
    const previous = join(h.tmp, 'previous');
    mkdirSync(previous);
    const archive = spawnSync('sh', ['-c', `git -C "${repoRoot}" archive ${PREVIOUS_RELEASE} | tar -x -C "${previous}"`], { encoding: 'utf8' });
    assert.equal(archive.status, 0, archive.stderr);
    symlinkSync(join(repoRoot, 'node_modules'), join(previous, 'node_modules'));
    const dags = join(h.tmp, 'dags');
    mkdirSync(dags);
    writeFileSync(join(dags, 'upgrade_probe.ts'), PROBE_DAG);
    images.set('capstan/worker:previous', capstanAppImage({ dir: join(h.tmp, 'image-previous'), dagsDir: dags, root: previous }));
    images.set('capstan/worker:current', capstanAppImage({ dir: join(h.tmp, 'image-current'), dagsDir: dags }));
    await h.startKubelet((ref) => images.get(ref));
  });

  after(async () => {
    await h?.stop();
  });

  void test('install the previous release, use it, upgrade to this one: the schema migrates and the old data stays readable', async () => {
    const valuesFile = (tag: string): string => h.valuesFile(`values-${tag}.yaml`, values(tag));
    await h.helm(['install', RELEASE, join(h.tmp, 'previous', 'chart'), '--values', valuesFile('previous')]);
    assert.deepEqual(runsOf('db migrate').map((r) => r.exitCode), [0], diagnostics());
    const applied = async (): Promise<string[]> => {
      const client = new pg.Client({ connectionString: h.db.url });
      await client.connect();
      try {
        return (await client.query<{ name: string }>('select name from capstan_migration order by name')).rows.map((r) => r.name);
      } finally {
        await client.end();
      }
    };
    const before = await applied();
    assert.ok(before.length < MIGRATION_NAMES.length, `the previous release's schema (${before.join(', ')}) is behind this one's`);
    assert.deepEqual(before, MIGRATION_NAMES.slice(0, before.length), 'the previous release applied a prefix of the current migrations');

    // Use the previous release: sign in, write a connection (encrypted with the chart's key), run a DAG.
    const oldBase = await apiBase();
    const password = await h.adminPassword(RELEASE);
    const login = await call(oldBase, '/auth/token', { method: 'POST', body: { username: 'admin', password } });
    assert.equal(login.status, 201, JSON.stringify(login.body));
    const token = (login.body as { access_token: string }).access_token;
    await waitFor('the previous release to parse upgrade_probe', async () => ((await call(oldBase, '/api/v2/dags/upgrade_probe', { token })).status === 200 ? true : undefined), 180_000, 1000);
    assert.equal((await call(oldBase, '/api/v2/dags/upgrade_probe', { method: 'PATCH', token, body: { isPaused: false } })).status, 200);
    const conn = await call(oldBase, '/api/v2/connections', { method: 'POST', token, body: { connectionId: 'upgrade_conn', connType: 'generic', password: SECRET } });
    assert.equal(conn.status, 201, JSON.stringify(conn.body));
    const oldRun = await runProbe(oldBase, token);
    assert.equal(oldRun.state, 'success', diagnostics());

    // Upgrade to this checkout's chart and image: every pod is replaced by one of the current release.
    const migrations = runsOf('db migrate').length;
    await h.helm(['upgrade', RELEASE, CHART, '--values', valuesFile('current')]);
    assert.equal(runsOf('db migrate').length, migrations + 1, diagnostics());
    assert.ok(runsOf('db migrate').every((r) => r.exitCode === 0), diagnostics());
    assert.deepEqual(await applied(), [...MIGRATION_NAMES], 'the upgrade applied every newer migration');

    // The new pods read what the previous release wrote.
    const base = await apiBase(oldBase).catch((err: unknown) => assert.fail(`${String(err)}\n${diagnostics()}`));
    assert.equal((await call(base, '/api/v2/dags', { token })).status, 200, 'a token the previous release issued verifies');
    const run = await call(base, `/api/v2/dags/upgrade_probe/dagRuns/${encodeURIComponent(oldRun.runId)}`, { token });
    assert.equal((run.body as { state?: string }).state, 'success', JSON.stringify(run.body));
    const tries = await call(base, `/api/v2/dags/upgrade_probe/dagRuns/${encodeURIComponent(oldRun.runId)}/taskInstances/probe/tries`, { token });
    assert.deepEqual((tries.body as { taskInstances: Array<{ state: string }> }).taskInstances.map((t) => t.state), ['success'], JSON.stringify(tries.body));
    // A column the newer schema added works on the old row; the old connection decrypts in a new worker.
    const note = await call(base, `/api/v2/dags/upgrade_probe/dagRuns/${encodeURIComponent(oldRun.runId)}/taskInstances/probe/note`, { method: 'PATCH', token, body: { note: 'ran before the upgrade' } });
    assert.equal(note.status, 200, JSON.stringify(note.body));
    assert.equal((note.body as { note?: string }).note, 'ran before the upgrade');
    const newRun = await runProbe(base, token);
    assert.equal(newRun.state, 'success', diagnostics());
  });
});
