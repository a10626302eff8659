// The chart against the real test control plane (kube-apiserver with RBAC and admission): every object
// rendered by every values file, and by the options that add objects, is accepted by a server-side dry run
// with strict field validation and no warnings; the rendered RBAC really lets the scheduler launch the worker
// pod the executor builds from the chart's template, and keeps the other components from it; and `helm
// template --dry-run=server` reads generated secrets back from the live Secrets (lookup), so they are stable.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  createConfiguration,
  KubernetesObjectApi,
  ServerConfiguration,
  type KubeConfig,
  type KubernetesObject,
  type V1Pod,
} from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { buildWorkerPod } from '../../../src/executors/kubernetes/index.ts';
import { binariesAvailable, connectTestCluster } from '../../support/k8s/index.ts';
import type { TestCluster } from '../../support/k8s/index.ts';
import { find, helm, HELM_MISSING, parseObjects, render, REPO, secretData, template } from '../../chart/helm.ts';
import type { K8sObject, RenderOptions } from '../../chart/helm.ts';

const available = await binariesAvailable();
if (!available && process.env['CAPSTAN_K8S_REQUIRED'] === '1') {
  throw new Error('CAPSTAN_K8S_REQUIRED=1 but the Kubernetes test binaries are not built');
}
if (available && !helm && process.env['CAPSTAN_K8S_REQUIRED'] === '1') {
  throw new Error(`the chart's server-side tests need helm: ${HELM_MISSING}`);
}
const skip = (!available && 'binaries not built (bash scripts/k8s-testcluster.sh build)') || (!helm && HELM_MISSING);

const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding', 'PersistentVolume', 'Namespace']);

/** The chart's objects placed in `namespace` (helm template leaves metadata.namespace to the client, like kubectl -n). */
function placed(objects: readonly K8sObject[], namespace: string): K8sObject[] {
  return objects.map((o) => (CLUSTER_SCOPED.has(o.kind) ? o : { ...o, metadata: { ...o.metadata, namespace } }));
}

/**
 * A KubernetesObjectApi whose create sends `raw` exactly as rendered, with fieldValidation=Strict, and records the
 * server's warnings. (client-node serializes known kinds through its models, which would silently drop an unknown
 * field before the server could refuse it.)
 */
function strictObjectApi(kc: KubeConfig, raw: K8sObject, warnings: string[]): KubernetesObjectApi {
  const cluster = kc.getCurrentCluster();
  assert.ok(cluster);
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    promiseMiddleware: [
      {
        pre: async (ctx) => {
          if (ctx.getHttpMethod() === 'POST') {
            ctx.setQueryParam('fieldValidation', 'Strict');
            ctx.setBody(JSON.stringify(raw));
          }
          return ctx;
        },
        post: async (rsp) => {
          const warning = rsp.headers['warning'];
          if (warning) warnings.push(`${raw.kind}/${raw.metadata.name}: ${warning}`);
          return rsp;
        },
      },
    ],
  });
  return new KubernetesObjectApi(configuration);
}

/** Server-side dry run of `create` for every object; the failures, one line each. */
async function dryRunAll(kc: KubeConfig, objects: readonly K8sObject[]): Promise<{ failures: string[]; warnings: string[]; accepted: number }> {
  const failures: string[] = [];
  const warnings: string[] = [];
  let accepted = 0;
  for (const obj of objects) {
    try {
      await strictObjectApi(kc, obj, warnings).create(obj as KubernetesObject, undefined, 'All');
      accepted++;
    } catch (err) {
      const body = err instanceof ApiException ? String(err.body) : String(err);
      failures.push(`${obj.kind}/${obj.metadata.name}: ${body}`);
    }
  }
  return { failures, warnings, accepted };
}

/** The option combinations that add objects or fields beyond the values files. */
const EVERYTHING_ON: RenderOptions['values'] = {
  executor: { multiNamespaceMode: true, namespaces: ['etl', 'ml'] },
  rbac: { podOperators: true, jobs: true, sparkApplications: true },
  networkPolicies: { enabled: true, metricsNamespaceSelector: { matchLabels: { team: 'obs' } }, apiServerIngressFrom: [{ matchLabels: { team: 'web' } }] },
  dags: { delivery: 'gitSync', gitSync: { repo: 'git@git.example.com:data/dags.git', subPath: 'dags', sshKeySecret: 'git-ssh', credentialsSecret: 'git-creds', resources: { requests: { cpu: '10m' } } } },
  logs: { persistence: { enabled: true, storageClassName: 'shared' } },
  migrateJob: { useHelmHooks: false },
  createUserJob: { useHelmHooks: false },
  cleanup: { enabled: true, retention: '30d', tables: ['dag_run'] },
  imagePullSecrets: [{ name: 'regcred' }],
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'capstan', effect: 'NoSchedule' }],
  scheduler: { replicas: 2, podDisruptionBudget: { enabled: true, maxUnavailable: 1 }, env: [{ name: 'EXTRA', value: '1' }] },
  apiServer: {
    service: { type: 'NodePort', nodePort: 30007 },
    podDisruptionBudget: { enabled: true, maxUnavailable: '50%' },
    ingress: { enabled: true, className: 'nginx', hosts: ['capstan.example.com'], tls: [{ secretName: 'capstan-tls', hosts: ['capstan.example.com'] }] },
  },
  triggerer: { podDisruptionBudget: { enabled: true, maxUnavailable: 1 } },
  dagProcessor: { podDisruptionBudget: { enabled: true, maxUnavailable: 1 } },
};

void describe('chart on the real API server', { skip }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  const namespaces: string[] = [];

  before(async () => {
    cluster = await connectTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  });
  after(async () => {
    for (const name of namespaces) await core?.deleteNamespace({ name }).catch(() => {});
    await cluster?.stop();
  });

  async function namespace(prefix: string): Promise<string> {
    const name = await cluster.createNamespace(prefix);
    namespaces.push(name);
    return name;
  }

  const cases: Array<[string, RenderOptions]> = [
    ['the default values', {}],
    ['values-dev.yaml', { files: ['values-dev.yaml'] }],
    ['values-staging.yaml', { files: ['values-staging.yaml'] }],
    ['values-prod.yaml', { files: ['values-prod.yaml'] }],
    ['every optional object switched on', { values: EVERYTHING_ON }],
  ];
  for (const [name, options] of cases) {
    void test(`server-side dry run accepts every object of ${name}`, async () => {
      const ns = await namespace('chart');
      const objects = placed(render({ ...options, namespace: ns }), ns);
      if (options.files?.includes('values-dev.yaml')) {
        // The kind storage the dev values name (deploy/kind/storage.yaml) goes through the same check.
        objects.push(...placed(parseObjects(readFileSync(join(REPO, 'deploy', 'kind', 'storage.yaml'), 'utf8')), ns));
      }
      assert.ok(objects.length >= 20, `rendered ${objects.length} objects`);
      const { failures, warnings, accepted } = await dryRunAll(cluster.kubeConfig, objects);
      assert.deepEqual(failures, []);
      assert.deepEqual(warnings, []);
      assert.equal(accepted, objects.length);
    });
  }

  void test('the dry run does refuse what the chart must never render (an unknown field, a bad reference)', async () => {
    const ns = await namespace('chart-neg');
    const objects = placed(render({ namespace: ns }), ns);
    const scheduler = structuredClone(find(objects, 'Deployment', 'rel-capstan-scheduler'));
    (scheduler['spec'] as Record<string, unknown>)['replica'] = 2;
    const binding = structuredClone(find(objects, 'RoleBinding', 'rel-capstan-pod-launcher'));
    (binding['roleRef'] as Record<string, unknown>)['kind'] = 'Rolle';
    const { failures } = await dryRunAll(cluster.kubeConfig, [scheduler, binding]);
    assert.equal(failures.length, 2, failures.join('\n'));
    assert.match(failures[0] ?? '', /strict decoding error: unknown field \\*"spec\.replica/);
    assert.match(failures[1] ?? '', /roleRef\.kind/);
  });

  void test('RBAC: the scheduler may launch the worker pod built from the chart template; the other components may not', async () => {
    const ns = await namespace('chart-rbac');
    const objects = placed(render({ namespace: ns }), ns);
    const rbacKinds = new Set(['ServiceAccount', 'Role', 'RoleBinding']);
    const objectApi = KubernetesObjectApi.makeApiClient(cluster.kubeConfig);
    for (const obj of objects.filter((o) => rbacKinds.has(o.kind))) await objectApi.create(obj as KubernetesObject);

    const data = find(objects, 'ConfigMap', 'rel-capstan-config')['data'] as Record<string, string>;
    const config = parseYaml(data['capstan.yaml'] ?? '') as { api: { executionApiUrl: string }; kubernetesExecutor: { workerContainerImage: string } };
    const pod = buildWorkerPod({
      workload: { tiId: 'ti-1', tryNumber: 1, dagId: 'etl', runId: 'manual__2026-12-07T00:00:00+00:00', taskId: 'extract', mapIndex: -1 },
      executorId: 'scheduler-job-1',
      executionApiUrl: config.api.executionApiUrl,
      token: 'try-token',
      namespace: ns,
      watched: { kind: 'list', namespaces: [ns] },
      image: config.kubernetesExecutor.workerContainerImage,
      baseTemplate: parseYaml(data['pod-template.yaml'] ?? '') as Record<string, unknown>,
    });
    assert.equal(pod.spec?.serviceAccountName, 'rel-capstan-worker');

    const as = async (serviceAccount: string): Promise<CoreV1Api> => (await cluster.serviceAccountKubeConfig(ns, serviceAccount)).makeApiClient(CoreV1Api);
    const launch = async (serviceAccount: string): Promise<V1Pod> =>
      (await as(serviceAccount)).createNamespacedPod({ namespace: ns, body: pod, dryRun: 'All', fieldValidation: 'Strict' });
    const accepted = await launch('rel-capstan-scheduler');
    assert.equal(accepted.spec?.containers[0]?.image, 'capstan/worker:0.1.0');
    assert.ok(accepted.spec?.volumes?.some((v) => v.configMap?.name === 'rel-capstan-config'));

    for (const other of ['rel-capstan-api-server', 'rel-capstan-dag-processor', 'rel-capstan-triggerer', 'rel-capstan-worker']) {
      await assert.rejects(launch(other), (err: unknown) => err instanceof ApiException && err.code === 403, `${other} must not create pods`);
    }
    // The api-server reads pods and their logs; the DAG processor reads nothing.
    await (await as('rel-capstan-api-server')).listNamespacedPod({ namespace: ns });
    await assert.rejects((await as('rel-capstan-dag-processor')).listNamespacedPod({ namespace: ns }), (err: unknown) => err instanceof ApiException && err.code === 403);
    await assert.rejects((await as('rel-capstan-api-server')).listNamespacedSecret({ namespace: ns }), (err: unknown) => err instanceof ApiException && err.code === 403, 'no secret access');
  });

  void test('generated secrets are read back from the live Secrets on the next render (lookup), so upgrades keep them', async () => {
    const ns = await namespace('chart-lookup');
    const serverSide: RenderOptions = { namespace: ns, extraArgs: ['--dry-run=server', '--kubeconfig', cluster.kubeconfigPath] };
    const renderSecrets = (): Record<string, Record<string, string>> => {
      const r = template(serverSide);
      assert.equal(r.status, 0, r.stderr);
      const objects = parseObjects(r.stdout);
      return Object.fromEntries(['keys', 'postgresql', 'database', 'admin'].map((s) => [s, secretData(find(objects, 'Secret', `rel-capstan-${s}`))]));
    };
    const first = renderSecrets();
    const second = renderSecrets();
    assert.notEqual(first['keys']?.['fernet-key'], second['keys']?.['fernet-key'], 'no live Secret yet: each render generates');

    // Install the first render's Secrets for real, as `helm install` would (with its ownership annotations).
    const objects = placed(parseObjects(template(serverSide).stdout), ns)
      .filter((o) => o.kind === 'Secret')
      .map((o) => ({ ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, 'meta.helm.sh/release-name': 'rel', 'meta.helm.sh/release-namespace': ns } } }));
    const objectApi = KubernetesObjectApi.makeApiClient(cluster.kubeConfig);
    for (const secret of objects) await objectApi.create(secret as KubernetesObject);
    const live = Object.fromEntries(objects.map((o) => [o.metadata.name.replace('rel-capstan-', ''), secretData(o)]));

    const upgrade = renderSecrets();
    assert.deepEqual(upgrade['keys'], live['keys'], 'the Fernet and signing keys are kept');
    assert.deepEqual(upgrade['postgresql'], live['postgresql'], 'the PostgreSQL password is kept');
    assert.deepEqual(upgrade['admin'], live['admin'], 'the admin password is kept');
    assert.equal(upgrade['database']?.['url'], `postgresql://capstan:${live['postgresql']?.['password']}@rel-capstan-postgresql.${ns}.svc:5432/capstan`, 'the URL is built from the kept password');
    const again = renderSecrets();
    assert.deepEqual(again, upgrade, 'stable render after render');
  });
});
