// The chart rendered with chosen values (`helm template`), its objects asserted the way Airflow's chart tests
// assert theirs: RBAC per component and mode, the database choice, hooks vs plain Jobs, kept secrets, probes
// and resources, placement, NetworkPolicies, DAG delivery, and the values that must fail rendering.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { at, CHART, containers, find, helm, HELM_MISSING, ofKind, podSpec, render, renderError, runHelm, secretData } from './helm.ts';
import type { Container, K8sObject } from './helm.ts';

const skip = !helm && HELM_MISSING;
const COMPONENTS = ['scheduler', 'api-server', 'dag-processor', 'triggerer'] as const;

function deployment(objects: K8sObject[], component: string): K8sObject {
  return find(objects, 'Deployment', `rel-capstan-${component}`);
}

function mainContainer(objects: K8sObject[], component: string): Container {
  const c = containers(deployment(objects, component)).find((x) => x.name === component);
  assert.ok(c, `${component} has a container named ${component}`);
  return c;
}

function envValue(c: Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

function rules(role: K8sObject): Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> {
  return role['rules'] as Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
}

function subjects(binding: K8sObject): string[] {
  return (binding['subjects'] as Array<{ name: string }>).map((s) => s.name).sort();
}

void describe('chart: RBAC', { skip }, () => {
  void test('by default: a pod-launcher Role for the scheduler and a pod-log reader Role for the api-server, nothing more', () => {
    const objects = render();
    assert.deepEqual(ofKind(objects, 'Role').map((r) => r.metadata.name).sort(), ['rel-capstan-pod-launcher', 'rel-capstan-pod-log-reader']);
    assert.deepEqual(ofKind(objects, 'ClusterRole'), []);
    const launcher = find(objects, 'Role', 'rel-capstan-pod-launcher');
    assert.equal(launcher.metadata.namespace, 'capstan');
    assert.deepEqual(rules(launcher), [
      { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'watch', 'delete', 'patch'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      { apiGroups: [''], resources: ['events'], verbs: ['list'] },
    ]);
    assert.deepEqual(subjects(find(objects, 'RoleBinding', 'rel-capstan-pod-launcher')), ['rel-capstan-scheduler']);
    const reader = find(objects, 'Role', 'rel-capstan-pod-log-reader');
    assert.ok(rules(reader).every((r) => r.verbs.every((v) => ['get', 'list', 'watch'].includes(v))), 'the log reader only reads');
    assert.deepEqual(subjects(find(objects, 'RoleBinding', 'rel-capstan-pod-log-reader')), ['rel-capstan-api-server']);
  });

  void test('rbac.create=false renders no Role, ClusterRole or binding', () => {
    const objects = render({ values: { rbac: { create: false } } });
    for (const kind of ['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']) assert.deepEqual(ofKind(objects, kind), [], kind);
    assert.equal(ofKind(objects, 'ServiceAccount').length, 5, 'service accounts stay');
  });

  void test('multi-namespace mode: ClusterRoles and ClusterRoleBindings named after the release namespace, no Role', () => {
    const objects = render({ values: { executor: { multiNamespaceMode: true, namespaces: ['etl', 'ml'] } } });
    assert.deepEqual(ofKind(objects, 'Role'), []);
    assert.deepEqual(ofKind(objects, 'ClusterRole').map((r) => r.metadata.name).sort(), ['capstan-rel-capstan-pod-launcher', 'capstan-rel-capstan-pod-log-reader']);
    const binding = find(objects, 'ClusterRoleBinding', 'capstan-rel-capstan-pod-launcher');
    assert.deepEqual(binding['roleRef'], { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'capstan-rel-capstan-pod-launcher' });
    assert.deepEqual(binding['subjects'], [{ kind: 'ServiceAccount', name: 'rel-capstan-scheduler', namespace: 'capstan' }]);
    const config = parseYaml(configYaml(objects)) as Record<string, Record<string, unknown>>;
    assert.equal(config['kubernetesExecutor']?.['multiNamespaceMode'], true);
    assert.equal(config['kubernetesExecutor']?.['multiNamespaceModeNamespaceList'], 'etl,ml');
  });

  void test('Job, SparkApplication and pod-operator rights only when enabled, bound to the worker and triggerer accounts', () => {
    const off = render();
    assert.ok(!JSON.stringify(ofKind(off, 'Role')).includes('"batch"'), 'no Job rights by default');
    assert.ok(!JSON.stringify(ofKind(off, 'Role')).includes('sparkoperator.k8s.io'), 'no Spark rights by default');
    assert.equal(find(off, 'ServiceAccount', 'rel-capstan-worker')['automountServiceAccountToken'], false, 'workers get no API token by default');

    const on = render({ values: { rbac: { jobs: true, sparkApplications: true, podOperators: true } } });
    const jobs = find(on, 'Role', 'rel-capstan-job-launcher');
    assert.deepEqual(rules(jobs)[0], { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create', 'get', 'list', 'watch', 'delete', 'patch'] });
    const spark = find(on, 'Role', 'rel-capstan-spark-launcher');
    assert.deepEqual(rules(spark)[0]?.apiGroups, ['sparkoperator.k8s.io']);
    assert.deepEqual(rules(find(on, 'Role', 'rel-capstan-pod-operator')), [
      { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'watch', 'delete', 'patch'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      { apiGroups: [''], resources: ['events'], verbs: ['list', 'watch'] },
    ], 'what docs/kubernetes-pod-operator.md asks for');
    for (const name of ['job-launcher', 'spark-launcher', 'pod-operator']) {
      assert.deepEqual(subjects(find(on, 'RoleBinding', `rel-capstan-${name}`)), ['rel-capstan-triggerer', 'rel-capstan-worker'], name);
    }
    assert.equal(find(on, 'ServiceAccount', 'rel-capstan-worker')['automountServiceAccountToken'], true);
    assert.deepEqual(subjects(find(on, 'RoleBinding', 'rel-capstan-pod-launcher')), ['rel-capstan-scheduler'], 'the scheduler binding is unchanged');
  });

  void test('one ServiceAccount per component, each pod running as its own', () => {
    const objects = render();
    assert.deepEqual(ofKind(objects, 'ServiceAccount').map((s) => s.metadata.name).sort(), [
      'rel-capstan-api-server', 'rel-capstan-dag-processor', 'rel-capstan-scheduler', 'rel-capstan-triggerer', 'rel-capstan-worker',
    ]);
    for (const component of COMPONENTS) assert.equal(podSpec(deployment(objects, component))['serviceAccountName'], `rel-capstan-${component}`);
    assert.equal(find(objects, 'ServiceAccount', 'rel-capstan-dag-processor')['automountServiceAccountToken'], false);
    assert.equal(find(objects, 'ServiceAccount', 'rel-capstan-scheduler')['automountServiceAccountToken'], true);
  });
});

function configYaml(objects: K8sObject[]): string {
  const data = find(objects, 'ConfigMap', 'rel-capstan-config')['data'] as Record<string, string>;
  const text = data['capstan.yaml'];
  assert.ok(text, 'the ConfigMap has capstan.yaml');
  return text;
}

function podTemplate(objects: K8sObject[]): K8sObject {
  const data = find(objects, 'ConfigMap', 'rel-capstan-config')['data'] as Record<string, string>;
  return parseYaml(data['pod-template.yaml'] ?? '') as K8sObject;
}

void describe('chart: database', { skip }, () => {
  void test('bundled PostgreSQL: StatefulSet with a PVC template, Service, and a URL Secret every component reads', () => {
    const objects = render();
    const sts = find(objects, 'StatefulSet', 'rel-capstan-postgresql');
    assert.equal(containers(sts)[0]?.image, 'postgres:17-alpine');
    assert.equal(at(sts, 'spec.volumeClaimTemplates.0.spec.resources.requests.storage'), '8Gi');
    find(objects, 'Service', 'rel-capstan-postgresql');
    const { url } = secretData(find(objects, 'Secret', 'rel-capstan-database'));
    const { password } = secretData(find(objects, 'Secret', 'rel-capstan-postgresql'));
    assert.ok(password && password.length >= 32);
    assert.equal(url, `postgresql://capstan:${password}@rel-capstan-postgresql.capstan.svc:5432/capstan`);
    for (const component of COMPONENTS) {
      const ref = mainContainer(objects, component).env?.find((e) => e.name === 'CAPSTAN__DATABASE__URL')?.valueFrom?.secretKeyRef;
      assert.deepEqual(ref, { name: 'rel-capstan-database', key: 'url' }, component);
    }
  });

  void test('the PostgreSQL image is configurable', () => {
    const sts = find(render({ values: { postgresql: { image: { repository: 'mirror.example.com/postgres', tag: '16.4' } } } }), 'StatefulSet', 'rel-capstan-postgresql');
    assert.equal(containers(sts)[0]?.image, 'mirror.example.com/postgres:16.4');
  });

  void test('external database through an existing Secret: no StatefulSet, no generated URL, components read that Secret', () => {
    const objects = render({ values: { postgresql: { enabled: false }, database: { existingSecret: 'my-db', existingSecretKey: 'dsn' } } });
    assert.deepEqual(ofKind(objects, 'StatefulSet'), []);
    assert.equal(objects.filter((o) => o.metadata.name.includes('postgresql')).length, 0);
    assert.equal(objects.filter((o) => o.kind === 'Secret' && o.metadata.name === 'rel-capstan-database').length, 0);
    for (const component of COMPONENTS) {
      assert.deepEqual(mainContainer(objects, component).env?.find((e) => e.name === 'CAPSTAN__DATABASE__URL')?.valueFrom?.secretKeyRef, { name: 'my-db', key: 'dsn' });
    }
  });

  void test('no database configured fails rendering, naming what to set; several schedulers say why PostgreSQL matters', () => {
    assert.match(renderError({ values: { postgresql: { enabled: false } } }), /no metadata database: set postgresql\.enabled=true.*database\.existingSecret/);
    assert.match(renderError({ values: { postgresql: { enabled: false }, scheduler: { replicas: 2 } } }), /scheduler\.replicas is 2, and several schedulers are only safe on PostgreSQL/);
    assert.match(renderError({ values: { database: { existingSecret: 'my-db' } } }), /set postgresql\.enabled=false to use it/);
  });

  void test('several schedulers on PostgreSQL render', () => {
    const objects = render({ values: { scheduler: { replicas: 3 } } });
    assert.equal(at(deployment(objects, 'scheduler'), 'spec.replicas'), 3);
  });
});

void describe('chart: migration and admin user Jobs', { skip }, () => {
  void test('as Helm hooks: migrate after install objects exist and before an upgrade rolls out; the user Job after it', () => {
    const objects = render();
    const migrate = find(objects, 'Job', 'rel-capstan-migrate');
    assert.deepEqual(migrate.metadata.annotations, {
      'helm.sh/hook': 'post-install,pre-upgrade',
      'helm.sh/hook-weight': '1',
      'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
    });
    assert.deepEqual(containers(migrate)[0]?.args, ['db', 'migrate']);
    const user = find(objects, 'Job', 'rel-capstan-create-user');
    assert.equal(user.metadata.annotations?.['helm.sh/hook'], 'post-install,post-upgrade');
    assert.equal(user.metadata.annotations?.['helm.sh/hook-weight'], '2');
    assert.deepEqual(containers(user, 'initContainers'), [], 'a hook runs after the migration hook, no wait needed');
  });

  void test('useHelmHooks=false (GitOps): plain Jobs, and the user Job waits for the schema itself', () => {
    const objects = render({ values: { migrateJob: { useHelmHooks: false }, createUserJob: { useHelmHooks: false } } });
    for (const name of ['rel-capstan-migrate', 'rel-capstan-create-user']) {
      const job = find(objects, 'Job', name);
      assert.equal(Object.keys(job.metadata.annotations ?? {}).filter((k) => k.startsWith('helm.sh/hook')).length, 0, name);
    }
    const wait = containers(find(objects, 'Job', 'rel-capstan-create-user'), 'initContainers')[0];
    assert.equal(wait?.name, 'wait-for-migrations');
    assert.match(wait?.args?.[0] ?? '', /capstan db check/);
  });

  void test('every component waits for the current schema before it starts', () => {
    const objects = render();
    for (const component of COMPONENTS) {
      const init = containers(deployment(objects, component), 'initContainers');
      assert.deepEqual(init.map((c) => c.name), ['wait-for-migrations'], component);
    }
  });

  void test('create-user: capstan users create --role Admin --password-stdin, the password from a Secret; admin/admin in dev', () => {
    const objects = render({ files: ['values-dev.yaml'] });
    const job = find(objects, 'Job', 'rel-capstan-create-user');
    const script = containers(job)[0]?.args?.[0] ?? '';
    assert.match(script, /capstan users create --username "\$CAPSTAN_ADMIN_USERNAME" --role Admin --password-stdin < \/opt\/capstan\/admin\/password/);
    assert.equal(envValue(containers(job)[0] as Container, 'CAPSTAN_ADMIN_USERNAME'), 'admin');
    assert.deepEqual(at(podSpec(job), 'volumes.1.secret.secretName'), 'rel-capstan-admin');
    assert.deepEqual(secretData(find(objects, 'Secret', 'rel-capstan-admin')), { username: 'admin', password: 'admin' });

    const generated = secretData(find(render(), 'Secret', 'rel-capstan-admin'));
    assert.ok(generated['password'] && generated['password'] !== 'admin' && generated['password'].length >= 24, 'generated otherwise');
    assert.equal(ofKind(render({ values: { createUserJob: { existingSecret: 'mine' } } }), 'Secret').filter((s) => s.metadata.name === 'rel-capstan-admin').length, 0);
  });
});

void describe('chart: metadata cleanup', { skip }, () => {
  void test('a db clean CronJob only when asked: retention and groups as arguments, never two at once, schema-checked', () => {
    assert.deepEqual(ofKind(render(), 'CronJob'), []);
    const objects = render({ values: { cleanup: { enabled: true, retention: '30d', tables: ['dag_run', 'audit_log'] } } });
    const cron = find(objects, 'CronJob', 'rel-capstan-cleanup');
    assert.equal(at(cron, 'spec.schedule'), '15 3 * * *');
    assert.equal(at(cron, 'spec.concurrencyPolicy'), 'Forbid');
    const pod = at(cron, 'spec.jobTemplate.spec.template.spec') as { containers: Container[]; restartPolicy: string };
    assert.equal(pod.restartPolicy, 'Never');
    assert.deepEqual(pod.containers[0]?.args, ['db', 'clean', '--older-than', '30d', '--tables', 'dag_run,audit_log', '--yes']);
    assert.equal(envValue(pod.containers[0] as Container, 'CAPSTAN_CONFIG'), '/opt/capstan/config/capstan.yaml');
    const all = find(render({ values: { cleanup: { enabled: true } } }), 'CronJob', 'rel-capstan-cleanup');
    assert.deepEqual((at(all, 'spec.jobTemplate.spec.template.spec') as { containers: Container[] }).containers[0]?.args, ['db', 'clean', '--older-than', '90d', '--yes']);
    assert.match(renderError({ values: { cleanup: { enabled: true, retention: 'ninety days' } } }), /retention/);
    assert.match(renderError({ values: { cleanup: { enabled: true, tables: ['dag'] } } }), /tables/);
  });
});

void describe('chart: secrets', { skip }, () => {
  void test('the keys, PostgreSQL and admin Secrets are kept (resource-policy keep) and generated through lookup', () => {
    const objects = render();
    for (const name of ['rel-capstan-keys', 'rel-capstan-postgresql', 'rel-capstan-admin']) {
      assert.equal(find(objects, 'Secret', name).metadata.annotations?.['helm.sh/resource-policy'], 'keep', name);
    }
    const keys = secretData(find(objects, 'Secret', 'rel-capstan-keys'));
    assert.match(keys['fernet-key'] ?? '', /^[A-Za-z0-9_-]{43}=$/, 'a Fernet key: base64url of 32 bytes');
    assert.equal(Buffer.from(keys['fernet-key'] ?? '', 'base64url').length, 32);
    assert.ok((keys['secret-key'] ?? '').length >= 32);
    // helm template sees no cluster, so lookup finds nothing and every render generates anew; the
    // server-side test (test/kubernetes/cluster/chartServerSide.test.ts) proves the value is read back from a live Secret.
    assert.notEqual(secretData(find(render(), 'Secret', 'rel-capstan-keys'))['fernet-key'], keys['fernet-key']);
    const helpers = readFileSync(join(CHART, 'templates', '_helpers.tpl'), 'utf8');
    assert.match(helpers, /lookup "v1" "Secret" \.root\.Release\.Namespace \.secret/);
  });

  void test('given keys are used as they are, and keys.existingSecret replaces the chart Secret', () => {
    const fernetKey = Buffer.alloc(32, 7).toString('base64url') + '=';
    const keys = secretData(find(render({ values: { keys: { fernetKey, secretKey: 'a-long-enough-signing-key' } } }), 'Secret', 'rel-capstan-keys'));
    assert.deepEqual(keys, { 'fernet-key': fernetKey, 'secret-key': 'a-long-enough-signing-key' });
    const objects = render({ values: { keys: { existingSecret: 'my-keys' } } });
    assert.equal(objects.filter((o) => o.metadata.name === 'rel-capstan-keys').length, 0);
    const env = mainContainer(objects, 'scheduler').env ?? [];
    assert.deepEqual(env.find((e) => e.name === 'CAPSTAN__CORE__FERNET_KEY')?.valueFrom?.secretKeyRef, { name: 'my-keys', key: 'fernet-key' });
    assert.deepEqual(env.find((e) => e.name === 'CAPSTAN__API__SECRET_KEY')?.valueFrom?.secretKeyRef, { name: 'my-keys', key: 'secret-key' });
  });
});

void describe('chart: configuration', { skip }, () => {
  void test('capstan.yaml: KubernetesExecutor in the release namespace, the app image as worker image, the Service as Execution API', () => {
    const objects = render({ namespace: 'data' });
    const config = parseYaml(configYaml(objects)) as Record<string, Record<string, unknown>>;
    assert.equal(config['core']?.['executor'], 'KubernetesExecutor');
    assert.equal(config['kubernetesExecutor']?.['namespace'], 'data');
    assert.equal(config['kubernetesExecutor']?.['workerContainerImage'], 'capstan/worker:0.1.0');
    assert.equal(config['kubernetesExecutor']?.['podTemplateFile'], '/opt/capstan/config/pod-template.yaml');
    assert.equal(config['api']?.['executionApiUrl'], 'http://rel-capstan-api-server.data.svc:8080');
    for (const component of COMPONENTS) {
      const c = mainContainer(objects, component);
      assert.equal(envValue(c, 'CAPSTAN__API__HOST'), '0.0.0.0', `${component} binds every address in its pod`);
      assert.equal(envValue(c, 'CAPSTAN_CONFIG'), '/opt/capstan/config/capstan.yaml');
      assert.ok(c.volumeMounts?.some((m) => m.name === 'config' && m.mountPath === '/opt/capstan/config'));
      assert.deepEqual(c.args, [component]);
    }
  });

  void test('.Values.config reaches capstan.yaml and may override the chart defaults it does not own', () => {
    const config = parseYaml(configYaml(render({ values: { config: { core: { executor: 'LocalKubernetesExecutor', parallelism: 7 }, auth: { sessionTtlMs: '2h' } } } }))) as Record<string, Record<string, unknown>>;
    assert.equal(config['core']?.['executor'], 'LocalKubernetesExecutor');
    assert.equal(config['core']?.['parallelism'], 7);
    assert.equal(config['auth']?.['sessionTtlMs'], '2h');
  });

  void test('settings the chart owns are refused in .Values.config, naming the value to use', () => {
    assert.match(renderError({ values: { config: { database: { url: 'sqlite:///tmp/x.db' } } } }), /config\.database\.url is set by the chart; use postgresql\.\* or database\.existingSecret/);
    assert.match(renderError({ values: { config: { api: { host: '127.0.0.1' } } } }), /config\.api\.host is set by the chart/);
    assert.match(renderError({ values: { config: { kubernetesExecutor: { namespace: 'other' } } } }), /config\.kubernetesExecutor\.namespace is set by the chart/);
  });

  void test('the worker pod template: the app image, the worker account, config and logs mounted, no database credentials', () => {
    const template = podTemplate(render({ values: { workers: { resources: { requests: { cpu: '250m' } }, nodeSelector: { pool: 'tasks' } } } }));
    const spec = template['spec'] as Record<string, unknown>;
    assert.equal(spec['serviceAccountName'], 'rel-capstan-worker');
    const base = (spec['containers'] as Container[])[0];
    assert.equal(base?.name, 'base');
    assert.equal(base?.image, 'capstan/worker:0.1.0');
    assert.deepEqual(base?.resources, { requests: { cpu: '250m' } });
    assert.deepEqual(spec['nodeSelector'], { pool: 'tasks' });
    assert.ok(!JSON.stringify(template).includes('CAPSTAN__DATABASE__URL'), 'worker pods hold no database credentials');
    assert.ok(!JSON.stringify(template).includes('FERNET'), 'nor the Fernet key');
  });
});

void describe('chart: pods', { skip }, () => {
  void test('probes: /health on the scheduler and triggerer health ports, TCP on the api-server port; none on the dag-processor', () => {
    const objects = render();
    for (const [component, port] of [['scheduler', 8974], ['triggerer', 8976]] as const) {
      const c = mainContainer(objects, component);
      assert.deepEqual(c.ports, [{ name: 'health', containerPort: port, protocol: 'TCP' }]);
      assert.deepEqual(at(c, 'livenessProbe.httpGet'), { path: '/health', port: 'health' }, component);
      assert.deepEqual(at(c, 'readinessProbe.httpGet'), { path: '/health', port: 'health' }, component);
    }
    const api = mainContainer(objects, 'api-server');
    assert.deepEqual(api.ports, [{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    assert.deepEqual(at(api, 'livenessProbe.tcpSocket'), { port: 'http' });
    assert.deepEqual(at(api, 'readinessProbe.tcpSocket'), { port: 'http' });
    const dp = mainContainer(objects, 'dag-processor');
    assert.equal(dp.livenessProbe, undefined);
    assert.equal(dp.ports, undefined);
  });

  void test('every container gets the resources set for it (components, jobs, git-sync, PostgreSQL), none by default', () => {
    const none = render();
    for (const w of [...ofKind(none, 'Deployment'), ...ofKind(none, 'Job'), ...ofKind(none, 'StatefulSet')]) {
      for (const c of containers(w)) assert.equal(c.resources, undefined, `${w.metadata.name}/${c.name}`);
    }
    const r = (cpu: string) => ({ requests: { cpu }, limits: { memory: '1Gi' } });
    const objects = render({ values: {
      scheduler: { resources: r('1') }, apiServer: { resources: r('2') }, dagProcessor: { resources: r('3') }, triggerer: { resources: r('4') },
      migrateJob: { resources: r('5') }, createUserJob: { resources: r('6') }, postgresql: { resources: r('7') },
      dags: { delivery: 'gitSync', gitSync: { repo: 'https://git.example.com/dags.git', resources: r('8') } },
    } });
    const expected: Record<string, string> = { scheduler: '1', 'api-server': '2', 'dag-processor': '3', triggerer: '4', migrate: '5', 'create-user': '6', postgresql: '7', 'git-sync': '8' };
    let seen = 0;
    for (const w of [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'Job'), ...ofKind(objects, 'StatefulSet')]) {
      for (const c of containers(w)) {
        assert.deepEqual(c.resources, r(expected[c.name] ?? 'none'), `${w.metadata.name}/${c.name}`);
        seen++;
      }
    }
    assert.equal(seen, 4 * 2 + 2 + 1, 'four components with a git-sync sidecar each, two Jobs, PostgreSQL');
  });

  void test('probe timings come from values', () => {
    const c = mainContainer(render({ values: { scheduler: { probes: { liveness: { initialDelaySeconds: 42, periodSeconds: 7, timeoutSeconds: 3, failureThreshold: 9 } } } } }), 'scheduler');
    assert.deepEqual(c.livenessProbe, { httpGet: { path: '/health', port: 'health' }, initialDelaySeconds: 42, periodSeconds: 7, timeoutSeconds: 3, failureThreshold: 9 });
  });

  void test('placement: chart-wide nodeSelector/tolerations, replaced by a component’s own', () => {
    const objects = render({ values: {
      nodeSelector: { pool: 'capstan' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'capstan', effect: 'NoSchedule' }],
      scheduler: { nodeSelector: { pool: 'critical' }, affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [] } } },
    } });
    assert.deepEqual(podSpec(deployment(objects, 'scheduler'))['nodeSelector'], { pool: 'critical' });
    assert.deepEqual(podSpec(deployment(objects, 'scheduler'))['affinity'], { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [] } });
    assert.deepEqual(podSpec(deployment(objects, 'triggerer'))['nodeSelector'], { pool: 'capstan' });
    assert.equal((podSpec(deployment(objects, 'api-server'))['tolerations'] as unknown[]).length, 1);
    assert.deepEqual((podTemplate(objects)['spec'] as Record<string, unknown>)['nodeSelector'], { pool: 'capstan' });
  });

  void test('PodDisruptionBudgets only for components that enable them', () => {
    assert.deepEqual(ofKind(render(), 'PodDisruptionBudget'), []);
    const pdbs = ofKind(render({ values: { scheduler: { podDisruptionBudget: { enabled: true, maxUnavailable: 1 } }, apiServer: { podDisruptionBudget: { enabled: true, maxUnavailable: '50%' } } } }), 'PodDisruptionBudget');
    assert.deepEqual(pdbs.map((p) => [p.metadata.name, at(p, 'spec.maxUnavailable')]).sort(), [
      ['rel-capstan-api-server', '50%'], ['rel-capstan-scheduler', 1],
    ]);
  });

  void test('Prometheus scrape annotations on the health ports; on the api-server only when /metrics is anonymous', () => {
    const objects = render();
    const annotations = (component: string, objs = objects) => at(deployment(objs, component), 'spec.template.metadata.annotations') as Record<string, string>;
    assert.equal(annotations('scheduler')['prometheus.io/scrape'], 'true');
    assert.equal(annotations('scheduler')['prometheus.io/port'], '8974');
    assert.equal(annotations('triggerer')['prometheus.io/port'], '8976');
    assert.equal(annotations('api-server')['prometheus.io/scrape'], undefined);
    assert.equal(annotations('dag-processor')['prometheus.io/scrape'], undefined);
    const open = render({ values: { config: { auth: { metricsRequireAuth: false } } } });
    assert.equal(annotations('api-server', open)['prometheus.io/port'], '8080');
    const off = render({ values: { metrics: { prometheusAnnotations: false } } });
    assert.equal(annotations('scheduler', off)['prometheus.io/scrape'], undefined);
  });

  void test('a config change rolls the pods (checksum annotation)', () => {
    const checksum = (objs: K8sObject[]) => at(deployment(objs, 'scheduler'), 'spec.template.metadata.annotations') as Record<string, string>;
    assert.notEqual(checksum(render())['checksum/config'], checksum(render({ values: { config: { core: { parallelism: 3 } } } }))['checksum/config']);
  });
});

void describe('chart: Service, DAGs, logs, NetworkPolicies', { skip }, () => {
  void test('the dev values expose the api-server on NodePort 30007', () => {
    const service = find(render({ files: ['values-dev.yaml'] }), 'Service', 'rel-capstan-api-server');
    assert.equal(at(service, 'spec.type'), 'NodePort');
    assert.deepEqual(at(service, 'spec.ports'), [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP', nodePort: 30007 }]);
    assert.equal(at(find(render(), 'Service', 'rel-capstan-api-server'), 'spec.type'), 'ClusterIP');
    assert.match(renderError({ values: { apiServer: { service: { nodePort: 30007 } } } }), /use type NodePort/);
  });

  void test('an Ingress only when asked, to the api-server Service; its hosts join api.allowedHosts unless config sets them', () => {
    assert.deepEqual(ofKind(render(), 'Ingress'), []);
    const ingress = { enabled: true, className: 'nginx', hosts: ['capstan.example.com'], tls: [{ secretName: 'capstan-tls', hosts: ['capstan.example.com'] }], annotations: { 'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600' } };
    const objects = render({ values: { apiServer: { ingress } } });
    const ing = find(objects, 'Ingress', 'rel-capstan-api-server');
    assert.equal(at(ing, 'spec.ingressClassName'), 'nginx');
    assert.deepEqual(at(ing, 'spec.tls'), ingress.tls);
    assert.deepEqual(at(ing, 'metadata.annotations'), ingress.annotations);
    assert.deepEqual(at(ing, 'spec.rules'), [{
      host: 'capstan.example.com',
      http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'rel-capstan-api-server', port: { name: 'http' } } } }] },
    }]);
    const api = (parseYaml(configYaml(objects)) as { api: Record<string, unknown> }).api;
    assert.equal(api['allowedHosts'], 'localhost,rel-capstan-api-server.capstan.svc,capstan.example.com', 'the Service name stays allowed for worker pods');
    const own = render({ values: { apiServer: { ingress }, config: { api: { allowedHosts: '*.example.com' } } } });
    assert.equal((parseYaml(configYaml(own)) as { api: Record<string, unknown> }).api['allowedHosts'], '*.example.com');
    assert.match(renderError({ values: { apiServer: { ingress: { enabled: true } } } }), /apiServer\.ingress\.enabled needs apiServer\.ingress\.hosts/);
    assert.match(renderError({ values: { apiServer: { ingress: { enabled: true, hosts: ['Not A Host'] } } } }), /hosts/);
  });

  void test('DAGs by image: nothing mounted; by PVC: the claim read-only everywhere; by git-sync: init container and sidecar', () => {
    const image = render();
    assert.ok(!mainContainer(image, 'dag-processor').volumeMounts?.some((m) => m.name === 'dags'));
    assert.match(renderError({ values: { dags: { delivery: 'pvc' } } }), /set dags\.persistence\.existingClaim/);

    const pvc = render({ values: { dags: { delivery: 'pvc', persistence: { existingClaim: 'team-dags' } } } });
    for (const component of COMPONENTS) {
      assert.deepEqual(at(podSpec(deployment(pvc, component)), 'volumes.1'), { name: 'dags', persistentVolumeClaim: { claimName: 'team-dags', readOnly: true } });
    }
    const worker = podTemplate(pvc)['spec'] as Record<string, unknown>;
    assert.ok((worker['volumes'] as Array<{ name: string }>).some((v) => v.name === 'dags'), 'worker pods mount the DAGs too');

    const git = render({ values: { dags: { delivery: 'gitSync', gitSync: { repo: 'https://git.example.com/dags.git', subPath: 'pipelines' } } } });
    const dp = deployment(git, 'dag-processor');
    assert.deepEqual(containers(dp).map((c) => c.name), ['dag-processor', 'git-sync']);
    assert.deepEqual(containers(dp, 'initContainers').map((c) => c.name), ['git-sync-init', 'wait-for-migrations']);
    assert.equal(envValue(mainContainer(git, 'dag-processor'), 'CAPSTAN__CORE__DAGS_FOLDER'), '/opt/capstan/dags/repo/pipelines');
    assert.deepEqual((podTemplate(git)['spec'] as { initContainers: Container[] }).initContainers.map((c) => c.name), ['git-sync-init']);
    assert.match(renderError({ values: { dags: { delivery: 'gitSync' } } }), /set dags\.gitSync\.repo/);
  });

  void test('task logs on a shared PVC when enabled', () => {
    const off = render();
    assert.deepEqual(ofKind(off, 'PersistentVolumeClaim'), []);
    const on = render({ values: { logs: { persistence: { enabled: true, size: '3Gi' } } } });
    const claim = find(on, 'PersistentVolumeClaim', 'rel-capstan-logs');
    assert.deepEqual(at(claim, 'spec.accessModes'), ['ReadWriteMany']);
    for (const component of COMPONENTS) assert.deepEqual(at(podSpec(deployment(on, component)), 'volumes.1'), { name: 'logs', persistentVolumeClaim: { claimName: 'rel-capstan-logs' } });
    assert.ok(JSON.stringify(podTemplate(on)).includes('"claimName":"rel-capstan-logs"'), 'worker pods write to the same volume');
  });

  void test('NetworkPolicies: none by default; when on, one per pod kind, PostgreSQL open only to Capstan pods', () => {
    assert.deepEqual(ofKind(render(), 'NetworkPolicy'), []);
    const objects = render({ values: { networkPolicies: { enabled: true } } });
    assert.deepEqual(ofKind(objects, 'NetworkPolicy').map((p) => p.metadata.name).sort(), [
      'rel-capstan-api-server', 'rel-capstan-dag-processor', 'rel-capstan-postgresql', 'rel-capstan-scheduler', 'rel-capstan-triggerer', 'rel-capstan-worker',
    ]);
    assert.deepEqual(at(find(objects, 'NetworkPolicy', 'rel-capstan-scheduler'), 'spec.ingress'), [], 'health ports closed without a metrics namespace');
    assert.deepEqual(at(find(objects, 'NetworkPolicy', 'rel-capstan-api-server'), 'spec.ingress'), [{ ports: [{ port: 'http', protocol: 'TCP' }] }]);
    const pg = find(objects, 'NetworkPolicy', 'rel-capstan-postgresql');
    assert.deepEqual(at(pg, 'spec.ingress.0.ports'), [{ port: 'postgresql', protocol: 'TCP' }]);
    const scraped = render({ values: { networkPolicies: { enabled: true, metricsNamespaceSelector: { matchLabels: { team: 'obs' } } } } });
    assert.deepEqual(at(find(scraped, 'NetworkPolicy', 'rel-capstan-triggerer'), 'spec.ingress.0.from'), [{ namespaceSelector: { matchLabels: { team: 'obs' } } }]);
  });

  void test('NOTES.txt says where the UI is and how to sign in', () => {
    const r = renderNotes(['values-dev.yaml']);
    assert.match(r, /http:\/\/localhost:30007/);
    assert.match(r, /username: admin/);
    const generated = renderNotes([]);
    assert.match(generated, /kubectl -n capstan get secret rel-capstan-admin -o jsonpath='\{\.data\.password\}' \| base64 -d/);
    assert.match(generated, /port-forward svc\/rel-capstan-api-server 8080:8080/);
  });
});

function renderNotes(files: string[]): string {
  // `helm template` does not print NOTES.txt; `helm install --dry-run=client` renders it with no cluster.
  const args = ['install', 'rel', CHART, '--namespace', 'capstan', '--dry-run=client', ...files.flatMap((f) => ['--values', join(CHART, f)])];
  const r = runHelmChecked(args);
  const notes = r.split(/^NOTES:$/m)[1];
  assert.ok(notes, 'helm prints NOTES');
  return notes;
}

function runHelmChecked(args: string[]): string {
  const r = runHelm(args);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}
