// `helm install` of the chart into the test control plane with Capstan's pods really running: the local kubelet
// runs every pod of the app image in a sandbox (test/support/k8s/podSandbox.ts: the image's entrypoint and env
// from docker/Dockerfile, init containers, ConfigMap/Secret/projected volumes at their mount paths, the pod's
// own service-account token, its own loopback IP behind the Service). The database is the test's PostgreSQL,
// given to the chart as an external-database Secret. Checked: the migration and admin Jobs complete, the API
// answers /health and a login at the Service's endpoint address, a DAG triggered through API v2 runs in a worker
// pod launched by the scheduler with the chart's ServiceAccount (removing the pod-launcher Role makes the try
// fail naming the grant), and `helm upgrade` with changed values migrates again and keeps the keys: a
// connection written before still decrypts in the new pods, and a token issued before still verifies.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, DiscoveryV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { binariesAvailable, connectTestCluster, waitFor } from '../../support/k8s/index.ts';
import type { TestCluster } from '../../support/k8s/index.ts';
import { capstanAppImage } from '../../support/k8s/localImage.ts';
import { startLocalKubelet, type LocalKubelet } from '../../support/k8s/localKubelet.ts';
import { createTestDatabase, stopPostgres, type TestDatabase } from '../../support/postgres.ts';
import { CHART, helm, HELM_MISSING, runHelmAsync } from '../../chart/helm.ts';

const available = await binariesAvailable();
if (!available && process.env['CAPSTAN_K8S_REQUIRED'] === '1') {
  throw new Error('CAPSTAN_K8S_REQUIRED=1 but the Kubernetes test binaries are not built');
}
if (available && !helm && process.env['CAPSTAN_K8S_REQUIRED'] === '1') {
  throw new Error(`the chart install test needs helm: ${HELM_MISSING}`);
}
const skip = (!available && 'binaries not built (bash scripts/k8s-testcluster.sh build)') || (!helm && HELM_MISSING)
  || (process.getuid?.() !== 0 && 'the sandboxed local kubelet needs root (mount namespaces)');

const RELEASE = 'rel';
const NAME = `${RELEASE}-capstan`;
/** kwok must leave the pods' fate to the local kubelet (Deployments' pods already run until deleted). */
const RUN_FOREVER = { 'capstan.test/outcome': 'run-forever' };

const PROBE_DAG = `import { dag, task, getCurrentContext } from 'capstan';

// Reads a connection written through the API (decrypted by the API server for the worker) and checks its password.
const probe = task({ taskId: 'probe', retries: 0 }, async () => {
  const ctx = getCurrentContext();
  const conn = await ctx.getConnection('chart_probe_conn');
  if (conn.password !== ctx.params['expect']) throw new Error('the connection password did not decrypt to the value written');
  ctx.log.info('connection decrypted');
  return 'ok';
});

export default dag({ dagId: 'chart_probe', schedule: null, params: { expect: '' } }, () => {
  probe();
});
`;

function values(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    postgresql: { enabled: false },
    database: { existingSecret: 'capstan-external-db', existingSecretKey: 'url' },
    workers: { podAnnotations: RUN_FOREVER },
    migrateJob: { podAnnotations: RUN_FOREVER },
    createUserJob: { podAnnotations: RUN_FOREVER },
    ...extra,
  };
}

interface Api {
  base: string;
  fetch(path: string, init?: { method?: string; body?: unknown; token?: string }): Promise<{ status: number; body: unknown }>;
}

function apiAt(base: string): Api {
  return {
    base,
    async fetch(path, init = {}) {
      const res = await fetch(`${base}${path}`, {
        method: init.method ?? 'GET',
        headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        signal: AbortSignal.timeout(20_000),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body };
    },
  };
}

void describe('helm install with the Capstan pods running (local kubelet sandbox)', { skip }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let kubelet: LocalKubelet | undefined;
  let db: TestDatabase | undefined;
  let ns = '';
  let tmp = '';
  let api: Api;
  let apiEndpoint = '';
  let adminToken = '';

  const helmIn = async (args: readonly string[]): Promise<void> => {
    const r = await runHelmAsync([...args, '--namespace', ns, '--kubeconfig', cluster.kubeconfigPath, '--timeout', '5m']);
    assert.equal(r.status, 0, `helm ${args[0] ?? ''} failed:\n${r.stderr}\n${r.stdout}\n${diagnostics()}`);
  };
  const valuesFile = (name: string, v: Record<string, unknown>): string => {
    const file = join(tmp, name);
    writeFileSync(file, stringify(v));
    return file;
  };
  /** What the kubelet ran, for failure messages. */
  const diagnostics = (): string => [...(kubelet?.runs.values() ?? [])]
    .map((r) => `${r.pod}: ${r.argv.join(' ')} → ${r.exitCode ?? 'running'}${r.startError ? ` (${r.startError})` : ''}`).join('\n');
  const runsOf = (arg: string): Array<{ exitCode: number | undefined; pod: string }> =>
    [...(kubelet?.runs.values() ?? [])].filter((r) => r.argv.join(' ').includes(arg));

  /**
   * The api-server Service's ready endpoint (pod IP and port) once it differs from `not`, and the loopback address
   * of this machine where the local kubelet runs that pod.
   */
  const serviceEndpoint = (not?: string): Promise<{ endpoint: string; local: string }> => waitFor('a ready api-server endpoint', async () => {
    const slices = await cluster.kubeConfig.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: ns, labelSelector: `kubernetes.io/service-name=${NAME}-api-server` });
    const port = slices.items[0]?.ports?.[0]?.port;
    const address = slices.items.flatMap((s) => s.endpoints ?? []).find((e) => e.conditions?.ready === true)?.addresses[0];
    if (address === undefined || port === undefined) return undefined;
    const endpoint = `${address}:${port}`;
    const local = kubelet?.localAddress(address);
    if (endpoint === not || local === undefined) return undefined;
    return { endpoint, local: `http://${local}:${port}` };
  }, 120_000, 250);

  const healthy = (target: Api): Promise<true> => waitFor(`GET ${target.base}/health → 200`, async () => {
    const r = await target.fetch('/health');
    return r.status === 200 ? true : undefined;
  }, 180_000, 500);

  const triggerAndWait = async (expect: string): Promise<{ state: string; tries: Array<{ failureReason: string | null; state: string | null }> }> => {
    const created = await api.fetch('/api/v2/dags/chart_probe/dagRuns', { method: 'POST', token: adminToken, body: { conf: { expect } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const runId = (created.body as { dagRunId: string }).dagRunId;
    const state = await waitFor(`run ${runId} to end`, async () => {
      const r = await api.fetch(`/api/v2/dags/chart_probe/dagRuns/${encodeURIComponent(runId)}`, { token: adminToken });
      const s = (r.body as { state?: string }).state;
      return s === 'success' || s === 'failed' ? s : undefined;
    }, 240_000, 1000);
    const tries = await api.fetch(`/api/v2/dags/chart_probe/dagRuns/${encodeURIComponent(runId)}/taskInstances/probe/tries`, { token: adminToken });
    return { state, tries: ((tries.body as { taskInstances?: Array<{ failureReason: string | null; state: string | null }> }).taskInstances ?? []) };
  };

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    ns = await cluster.createNamespace('chart-install');
    tmp = mkdtempSync(join(tmpdir(), 'capstan-chart-install-'));
    const dags = join(tmp, 'dags');
    mkdirSync(dags);
    writeFileSync(join(dags, 'chart_probe.ts'), PROBE_DAG);
    const compileCache = join(tmp, 'node-compile-cache');
    mkdirSync(compileCache);
    chmodSync(compileCache, 0o777);
    chmodSync(tmp, 0o755);
    const image = capstanAppImage({ dir: join(tmp, 'image'), dagsDir: dags });
    db = await createTestDatabase();
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'capstan-external-db' }, stringData: { url: db.url } } });
    kubelet = await startLocalKubelet({
      kubeConfig: cluster.kubeConfig,
      namespace: ns,
      logsDir: join(cluster.descriptor.dir, 'logs'),
      sandbox: { images: (ref) => (ref.startsWith('capstan/worker:') ? image : undefined) },
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

  void test('helm install: the migration and admin Jobs complete; the API answers /health and a login at the Service endpoint', async () => {
    await helmIn(['install', RELEASE, CHART, '--values', valuesFile('install.yaml', values())]);
    assert.deepEqual(runsOf('db migrate').map((r) => r.exitCode), [0], diagnostics());
    assert.deepEqual(runsOf('users create').map((r) => r.exitCode), [0], diagnostics());

    const { endpoint, local } = await serviceEndpoint();
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/component=api-server' });
    assert.equal(endpoint, `${pods.items[0]?.status?.podIP ?? ''}:8080`, 'the Service endpoint is the api-server pod');
    assert.match(local, /^http:\/\/127\./);
    api = apiAt(local);
    apiEndpoint = endpoint;
    await healthy(api);

    const secret = await core.readNamespacedSecret({ namespace: ns, name: `${NAME}-admin` });
    const password = Buffer.from(secret.data?.['password'] ?? '', 'base64').toString('utf8');
    assert.ok(password.length >= 16, 'a generated admin password');
    const wrong = await api.fetch('/auth/token', { method: 'POST', body: { username: 'admin', password: `${password}x` } });
    assert.equal(wrong.status, 401);
    const login = await api.fetch('/auth/token', { method: 'POST', body: { username: 'admin', password } });
    assert.equal(login.status, 201, JSON.stringify(login.body));
    adminToken = (login.body as { access_token: string }).access_token;
    const me = await api.fetch('/api/v2/dags', { token: adminToken });
    assert.equal(me.status, 200, JSON.stringify(me.body));
  });

  void test('a DAG triggered through API v2 runs in a worker pod the scheduler launches with the chart ServiceAccount', async () => {
    assert.ok(adminToken, 'the install test signed in');
    await waitFor('the DAG processor to parse chart_probe', async () => {
      const r = await api.fetch('/api/v2/dags/chart_probe', { token: adminToken });
      return r.status === 200 ? true : undefined;
    }, 180_000, 1000);
    const unpaused = await api.fetch('/api/v2/dags/chart_probe', { method: 'PATCH', token: adminToken, body: { isPaused: false } });
    assert.equal(unpaused.status, 200, JSON.stringify(unpaused.body));
    const conn = await api.fetch('/api/v2/connections', { method: 'POST', token: adminToken, body: { connectionId: 'chart_probe_conn', connType: 'generic', password: 'pw-kept-across-upgrade' } });
    assert.equal(conn.status, 201, JSON.stringify(conn.body));

    const run = await triggerAndWait('pw-kept-across-upgrade');
    assert.equal(run.state, 'success', `${JSON.stringify(run.tries)}\n${diagnostics()}`);
    const workers = runsOf('tasks run');
    assert.equal(workers.length, 1, diagnostics());
    // The run is over once the worker reported; its process exits a moment later.
    const exitCode = await waitFor('the worker pod to exit', async () => runsOf('tasks run')[0]?.exitCode, 60_000, 250);
    assert.equal(exitCode, 0, diagnostics());

    // The scheduler's Kubernetes client is the in-cluster one: its pod's own token, of the chart's ServiceAccount.
    const scheduler = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/component=scheduler' })).items[0];
    assert.equal(scheduler?.spec?.serviceAccountName, `${NAME}-scheduler`);
    assert.ok(scheduler?.spec?.volumes?.some((v) => v.projected?.sources?.some((s) => s.serviceAccountToken)), 'a projected token volume');
    assert.ok(!scheduler?.spec?.containers[0]?.env?.some((e) => e.name === 'KUBECONFIG'), 'no kubeconfig given');
  });

  void test('without the pod-launcher Role the try fails naming the missing grant', async () => {
    assert.ok(adminToken, 'the install test signed in');
    const rbac = cluster.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await rbac.deleteNamespacedRole({ namespace: ns, name: `${NAME}-pod-launcher` });
    const run = await triggerAndWait('pw-kept-across-upgrade');
    assert.equal(run.state, 'failed');
    const reason = run.tries.map((t) => t.failureReason ?? '').join('\n');
    assert.match(reason, /forbidden/i);
    assert.match(reason, new RegExp(`system:serviceaccount:${ns}:${NAME}-scheduler`));
    assert.match(reason, /cannot create resource "pods"/);
  });

  void test('helm upgrade with changed values migrates again and keeps the keys (old connection decrypts, old token verifies)', async () => {
    assert.ok(adminToken, 'the install test signed in');
    const before = await core.readNamespacedSecret({ namespace: ns, name: `${NAME}-keys` });
    const migrationsBefore = runsOf('db migrate').length;
    await helmIn(['upgrade', RELEASE, CHART, '--values', valuesFile('upgrade.yaml', values({ config: { core: { parallelism: 8 } } }))]);
    assert.equal(runsOf('db migrate').length, migrationsBefore + 1, diagnostics());
    assert.ok(runsOf('db migrate').every((r) => r.exitCode === 0), diagnostics());
    const afterUpgrade = await core.readNamespacedSecret({ namespace: ns, name: `${NAME}-keys` });
    assert.deepEqual(afterUpgrade.data, before.data, 'the keys Secret is unchanged');

    // The config change rolls the api-server: a new pod, with a new address behind the Service.
    const moved = await serviceEndpoint(apiEndpoint);
    api = apiAt(moved.local);
    await healthy(api);
    const cm = await core.readNamespacedConfigMap({ namespace: ns, name: `${NAME}-config` });
    assert.match(cm.data?.['capstan.yaml'] ?? '', /parallelism: 8/);

    const stillValid = await api.fetch('/api/v2/dags', { token: adminToken });
    assert.equal(stillValid.status, 200, 'a token issued before the upgrade verifies in the new pod');
    // The upgrade put the deleted Role back; the connection written before decrypts in the new pods.
    const run = await triggerAndWait('pw-kept-across-upgrade');
    assert.equal(run.state, 'success', `${JSON.stringify(run.tries)}\n${diagnostics()}`);
  });
});
