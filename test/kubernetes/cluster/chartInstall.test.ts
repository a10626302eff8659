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
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { waitFor } from '../../support/k8s/index.ts';
import { apiCall, chartTestSkip, chartTestValues, openChartHarness, type ChartHarness } from '../../support/k8s/chartHarness.ts';
import { capstanAppImage } from '../../support/k8s/localImage.ts';
import { CHART } from '../../chart/helm.ts';

const skip = await chartTestSkip('chart install test');

const RELEASE = 'rel';
const NAME = `${RELEASE}-capstan`;

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

interface Api {
  base: string;
  fetch(path: string, init?: { method?: string; body?: unknown; token?: string }): Promise<{ status: number; body: unknown }>;
}

const apiAt = (base: string): Api => ({ base, fetch: (path, init) => apiCall(base, path, init) });

void describe('helm install with the Capstan pods running (local kubelet sandbox)', { skip }, () => {
  let h: ChartHarness;
  let api: Api;
  let apiEndpoint = '';
  let adminToken = '';
  const diagnostics = (): string => h.diagnostics();
  const runsOf = (arg: string) => h.runsOf(arg);

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
    h = await openChartHarness('chart-install');
    const dags = join(h.tmp, 'dags');
    mkdirSync(dags);
    writeFileSync(join(dags, 'chart_probe.ts'), PROBE_DAG);
    const image = capstanAppImage({ dir: join(h.tmp, 'image'), dagsDir: dags });
    await h.startKubelet((ref) => (ref.startsWith('capstan/worker:') ? image : undefined));
  });

  after(async () => {
    await h?.stop();
  });

  void test('helm install: the migration and admin Jobs complete; the API answers /health and a login at the Service endpoint', async () => {
    await h.helm(['install', RELEASE, CHART, '--values', h.valuesFile('install.yaml', chartTestValues())]);
    assert.deepEqual(runsOf('db migrate').map((r) => r.exitCode), [0], diagnostics());
    assert.deepEqual(runsOf('users create').map((r) => r.exitCode), [0], diagnostics());

    const { endpoint, base: local } = await h.apiEndpoint(RELEASE);
    const pods = await h.core.listNamespacedPod({ namespace: h.ns, labelSelector: 'app.kubernetes.io/component=api-server' });
    assert.equal(endpoint, `${pods.items[0]?.status?.podIP ?? ''}:8080`, 'the Service endpoint is the api-server pod');
    assert.match(local, /^http:\/\/127\./);
    api = apiAt(local);
    apiEndpoint = endpoint;
    await h.healthy(api.base);

    const password = await h.adminPassword(RELEASE);
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
    const scheduler = (await h.core.listNamespacedPod({ namespace: h.ns, labelSelector: 'app.kubernetes.io/component=scheduler' })).items[0];
    assert.equal(scheduler?.spec?.serviceAccountName, `${NAME}-scheduler`);
    assert.ok(scheduler?.spec?.volumes?.some((v) => v.projected?.sources?.some((s) => s.serviceAccountToken)), 'a projected token volume');
    assert.ok(!scheduler?.spec?.containers[0]?.env?.some((e) => e.name === 'KUBECONFIG'), 'no kubeconfig given');
  });

  void test('without the pod-launcher Role the try fails naming the missing grant', async () => {
    assert.ok(adminToken, 'the install test signed in');
    const rbac = h.cluster.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await rbac.deleteNamespacedRole({ namespace: h.ns, name: `${NAME}-pod-launcher` });
    const run = await triggerAndWait('pw-kept-across-upgrade');
    assert.equal(run.state, 'failed');
    const reason = run.tries.map((t) => t.failureReason ?? '').join('\n');
    assert.match(reason, /forbidden/i);
    assert.match(reason, new RegExp(`system:serviceaccount:${h.ns}:${NAME}-scheduler`));
    assert.match(reason, /cannot create resource "pods"/);
  });

  void test('helm upgrade with changed values migrates again and keeps the keys (old connection decrypts, old token verifies)', async () => {
    assert.ok(adminToken, 'the install test signed in');
    const before = await h.core.readNamespacedSecret({ namespace: h.ns, name: `${NAME}-keys` });
    const migrationsBefore = runsOf('db migrate').length;
    await h.helm(['upgrade', RELEASE, CHART, '--values', h.valuesFile('upgrade.yaml', chartTestValues({ config: { core: { parallelism: 8 } } }))]);
    assert.equal(runsOf('db migrate').length, migrationsBefore + 1, diagnostics());
    assert.ok(runsOf('db migrate').every((r) => r.exitCode === 0), diagnostics());
    const afterUpgrade = await h.core.readNamespacedSecret({ namespace: h.ns, name: `${NAME}-keys` });
    assert.deepEqual(afterUpgrade.data, before.data, 'the keys Secret is unchanged');

    // The config change rolls the api-server: a new pod, with a new address behind the Service.
    const moved = await h.apiEndpoint(RELEASE, apiEndpoint);
    api = apiAt(moved.base);
    await h.healthy(api.base);
    const cm = await h.core.readNamespacedConfigMap({ namespace: h.ns, name: `${NAME}-config` });
    assert.match(cm.data?.['capstan.yaml'] ?? '', /parallelism: 8/);

    const stillValid = await api.fetch('/api/v2/dags', { token: adminToken });
    assert.equal(stillValid.status, 200, 'a token issued before the upgrade verifies in the new pod');
    // The upgrade put the deleted Role back; the connection written before decrypts in the new pods.
    const run = await triggerAndWait('pw-kept-across-upgrade');
    assert.equal(run.state, 'success', `${JSON.stringify(run.tries)}\n${diagnostics()}`);
  });
});
