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
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import pg from 'pg';
import { stringify } from 'yaml';
import { binariesAvailable, connectTestCluster, waitFor } from '../../support/k8s/index.ts';
import type { TestCluster } from '../../support/k8s/index.ts';
import { capstanAppImage, type LocalImage } from '../../support/k8s/localImage.ts';
import { startLocalKubelet, type LocalKubelet } from '../../support/k8s/localKubelet.ts';
import { createTestDatabase, stopPostgres, type TestDatabase } from '../../support/postgres.ts';
import { CHART, helm, HELM_MISSING, runHelmAsync } from '../../chart/helm.ts';
import { MIGRATION_NAMES } from '../../../src/store/migrations/index.ts';

/**
 * The previous release: the last commit before migration 012 (task-instance notes), so its database is one
 * schema step behind this checkout's at least. Move it forward when a release is cut.
 */
const PREVIOUS_RELEASE = '964b61238499cffd39bc95f729ea73c93eebbd75';
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const available = await binariesAvailable();
const required = process.env['CAPSTAN_K8S_REQUIRED'] === '1';
if (!available && required) throw new Error('CAPSTAN_K8S_REQUIRED=1 but the Kubernetes test binaries are not built');
if (available && !helm && required) throw new Error(`the chart upgrade test needs helm: ${HELM_MISSING}`);
const hasPrevious = spawnSync('git', ['-C', repoRoot, 'cat-file', '-e', `${PREVIOUS_RELEASE}^{commit}`]).status === 0;
if (available && helm && !hasPrevious && required) {
  throw new Error(`the chart upgrade test needs the previous release's sources (commit ${PREVIOUS_RELEASE}) in this clone's history: run \`git fetch --unshallow\``);
}
const skip = (!available && 'binaries not built (bash scripts/k8s-testcluster.sh build)') || (!helm && HELM_MISSING)
  || (!hasPrevious && `commit ${PREVIOUS_RELEASE} is not in this clone (git fetch --unshallow)`)
  || (process.getuid?.() !== 0 && 'the sandboxed local kubelet needs root (mount namespaces)');

const RELEASE = 'up';
const NAME = `${RELEASE}-capstan`;
const RUN_FOREVER = { 'capstan.test/outcome': 'run-forever' };
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
const values = (tag: string): Record<string, unknown> => ({
  image: { tag },
  postgresql: { enabled: false },
  database: { existingSecret: 'capstan-external-db', existingSecretKey: 'url' },
  workers: { podAnnotations: RUN_FOREVER },
  migrateJob: { podAnnotations: RUN_FOREVER },
  createUserJob: { podAnnotations: RUN_FOREVER },
});

async function call(base: string, path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: res.status, body: text };
  }
}

void describe('helm upgrade from the previous release migrates its database and keeps its data', { skip }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let kubelet: LocalKubelet | undefined;
  let db: TestDatabase | undefined;
  let ns = '';
  let tmp = '';
  /** The two releases' images by tag: `capstan/worker:previous` and `capstan/worker:current`. */
  const images = new Map<string, LocalImage>();

  const helmIn = async (args: readonly string[]): Promise<void> => {
    const r = await runHelmAsync([...args, '--namespace', ns, '--kubeconfig', cluster.kubeconfigPath, '--timeout', '5m']);
    assert.equal(r.status, 0, `helm ${args[0] ?? ''} failed:\n${r.stderr}\n${r.stdout}\n${diagnostics()}`);
  };
  /** What the kubelet ran, with the end of each api-server and migration container's output, for failure messages. */
  const diagnostics = (): string => [...(kubelet?.runs.values() ?? [])]
    .map((r) => `${r.pod}: ${r.argv.join(' ')} → ${r.exitCode ?? 'running'}${r.startError ? ` (${r.startError})` : ''}${/api-server|migrate/.test(r.pod) ? `\n${logTail(r.pod)}` : ''}`).join('\n');
  const logTail = (pod: string): string => {
    const dir = join(cluster.descriptor.dir, 'logs', ns, pod);
    if (!existsSync(dir)) return '';
    return readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8').split('\n').slice(-12).map((l) => `    | ${l}`).join('\n')).join('\n');
  };
  const runsOf = (arg: string): Array<{ exitCode: number | undefined; pod: string }> =>
    [...(kubelet?.runs.values() ?? [])].filter((r) => r.argv.join(' ').includes(arg));

  /** The api-server's ready endpoint, as this machine reaches it, once it differs from `not`. */
  const apiBase = (not?: string): Promise<string> => waitFor('a ready api-server endpoint', async () => {
    const slices = await cluster.kubeConfig.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: ns, labelSelector: `kubernetes.io/service-name=${NAME}-api-server` });
    const port = slices.items[0]?.ports?.[0]?.port;
    const address = slices.items.flatMap((s) => s.endpoints ?? []).find((e) => e.conditions?.ready === true)?.addresses[0];
    const local = address === undefined ? undefined : kubelet?.localAddress(address);
    if (local === undefined || port === undefined) return undefined;
    const base = `http://${local}:${port}`;
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
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    ns = await cluster.createNamespace('chart-upgrade');
    tmp = mkdtempSync(join(tmpdir(), 'capstan-chart-upgrade-'));
    chmodSync(tmp, 0o755);
    // The previous release's sources, as its image would hold them; its dependencies are this checkout's.
    const previous = join(tmp, 'previous');
    mkdirSync(previous);
    const archive = spawnSync('sh', ['-c', `git -C "${repoRoot}" archive ${PREVIOUS_RELEASE} | tar -x -C "${previous}"`], { encoding: 'utf8' });
    assert.equal(archive.status, 0, archive.stderr);
    symlinkSync(join(repoRoot, 'node_modules'), join(previous, 'node_modules'));
    const dags = join(tmp, 'dags');
    mkdirSync(dags);
    writeFileSync(join(dags, 'upgrade_probe.ts'), PROBE_DAG);
    const compileCache = join(tmp, 'node-compile-cache');
    mkdirSync(compileCache);
    chmodSync(compileCache, 0o777);
    images.set('capstan/worker:previous', capstanAppImage({ dir: join(tmp, 'image-previous'), dagsDir: dags, root: previous }));
    images.set('capstan/worker:current', capstanAppImage({ dir: join(tmp, 'image-current'), dagsDir: dags }));
    db = await createTestDatabase();
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'capstan-external-db' }, stringData: { url: db.url } } });
    kubelet = await startLocalKubelet({
      kubeConfig: cluster.kubeConfig,
      namespace: ns,
      logsDir: join(cluster.descriptor.dir, 'logs'),
      sandbox: { images: (ref) => images.get(ref) },
      baseEnv: { NODE_COMPILE_CACHE: compileCache },
    });
  });

  after(async () => {
    await kubelet?.stop();
    if (ns !== '') await core?.deleteNamespace({ name: ns }).catch(() => {});
    await db?.drop().catch(() => {});
    await stopPostgres();
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
    await cluster?.stop();
  });

  void test('install the previous release, use it, upgrade to this one: the schema migrates and the old data stays readable', async () => {
    const valuesFile = (tag: string): string => {
      const file = join(tmp, `values-${tag}.yaml`);
      writeFileSync(file, stringify(values(tag)));
      return file;
    };
    await helmIn(['install', RELEASE, join(tmp, 'previous', 'chart'), '--values', valuesFile('previous')]);
    assert.deepEqual(runsOf('db migrate').map((r) => r.exitCode), [0], diagnostics());
    const applied = async (): Promise<string[]> => {
      const client = new pg.Client({ connectionString: db?.url });
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
    const secret = await core.readNamespacedSecret({ namespace: ns, name: `${NAME}-admin` });
    const password = Buffer.from(secret.data?.['password'] ?? '', 'base64').toString('utf8');
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
    await helmIn(['upgrade', RELEASE, CHART, '--values', valuesFile('current')]);
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
