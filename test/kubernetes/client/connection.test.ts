// Kubernetes connections: extras validated with the field named, kubeconfig from a file, inline text, the
// in-cluster service account or the default lookup; namespace resolution order; reload in place.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionFromUri } from '../../../src/store/connections.ts';
import type { Connection } from '../../../src/store/connections.ts';
import { parseKubernetesConnection, resolveKubeConfig, resolveNamespace } from '../../../src/kubernetes/index.ts';

function conn(extra: Record<string, unknown>, connType = 'kubernetes'): Connection {
  return { connId: 'k8s_test', connType, description: null, host: null, schema: null, login: null, password: null, port: null, extra };
}

function kubeconfig(server: string, token: string, context = 'main'): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: 'c', cluster: { server } }, { name: 'other', cluster: { server: 'https://other:6443' } }],
    users: [{ name: 'u', user: { token } }],
    contexts: [{ name: context, context: { cluster: 'c', user: 'u', namespace: 'ctx-ns' } }, { name: 'second', context: { cluster: 'other', user: 'u' } }],
    'current-context': context,
  });
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'capstan-conn-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

void describe('parseKubernetesConnection', () => {
  void test('reads camelCase fields, Airflow snake_case aliases and URI-style strings', () => {
    const parsed = parseKubernetesConnection(conn({
      kube_config_path: '/etc/kube/config', cluster_context: 'prod', namespace: 'etl',
      xcom_sidecar_container_image: 'alpine:3.20', xcomSidecarResources: '{"requests":{"cpu":"10m","memory":"16Mi"}}',
      qps: '7.5', burst: '15', requestTimeoutMs: 20000,
    }));
    assert.deepEqual(parsed.source, { kind: 'file', path: '/etc/kube/config' });
    assert.equal(parsed.context, 'prod');
    assert.equal(parsed.namespace, 'etl');
    assert.equal(parsed.xcomSidecarImage, 'alpine:3.20');
    assert.deepEqual(parsed.xcomSidecarResources, { requests: { cpu: '10m', memory: '16Mi' } });
    assert.equal(parsed.qps, 7.5);
    assert.equal(parsed.burst, 15);
    assert.equal(parsed.requestTimeoutMs, 20000);
    assert.deepEqual(parseKubernetesConnection(conn({ extra__kubernetes__in_cluster: 'true' })).source, { kind: 'inCluster' });
    assert.deepEqual(parseKubernetesConnection(conn({})).source, { kind: 'default' });
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['two sources', { kubeconfigPath: '/a', inCluster: true }, /extra\.kubeconfigPath and extra\.inCluster are exclusive/],
    ['unknown field', { kubeconfg: 'x' }, /extra\.kubeconfg is not a Kubernetes connection field/],
    ['bad boolean', { inCluster: 'yes' }, /extra\.inCluster must be true or false/],
    ['bad qps', { qps: 'fast' }, /extra\.qps must be a positive number/],
    ['fractional burst', { burst: 2.5 }, /extra\.burst must be a positive integer/],
    ['bad sidecar resources', { xcomSidecarResources: { limits: { memory: '1GG' } } }, /extra\.xcomSidecarResources\.limits\.memory: '1GG' is not a quantity/],
    ['inline not a kubeconfig', { kubeconfig: 'just: text' }, /extra\.kubeconfig has no clusters list/],
    ['context with inCluster', { inCluster: true, context: 'x' }, /extra\.context does not apply with extra\.inCluster/],
    ['alias and name disagree', { namespace: 'a', extra__kubernetes__namespace: 'b' }, /extra\.namespace is given twice/],
  ];
  for (const [what, extra, pattern] of bad) {
    void test(`refuses ${what}`, () => assert.throws(() => parseKubernetesConnection(conn(extra)), (err: Error) => {
      assert.match(err.message, /^connection 'k8s_test': /);
      assert.match(err.message, pattern);
      return true;
    }));
  }

  void test('a URI-form connection parses the same way', () => {
    const parsed = parseKubernetesConnection(connectionFromUri('k8s_prod', 'kubernetes://?kubeconfigPath=/etc/kube/prod&namespace=etl&qps=10&inCluster=false'));
    assert.deepEqual(parsed.source, { kind: 'file', path: '/etc/kube/prod' });
    assert.equal(parsed.qps, 10);
    assert.equal(parsed.namespace, 'etl');
  });

  void test('refuses a connection of another type', () => {
    assert.throws(() => parseKubernetesConnection(conn({}, 'postgres')), /has type 'postgres', not 'kubernetes'/);
  });
});

void describe('resolveKubeConfig', () => {
  void test('from a file, with a chosen context; reload() reads the file again in place', () => {
    const path = join(dir, 'kubeconfig');
    writeFileSync(path, kubeconfig('https://one:6443', 'first'));
    const kc = resolveKubeConfig(conn({ kubeconfigPath: path }));
    assert.equal(kc.getCurrentCluster()?.server, 'https://one:6443');
    assert.equal(kc.getCurrentUser()?.token, 'first');
    writeFileSync(path, kubeconfig('https://one:6443', 'second'));
    kc.reload();
    assert.equal(kc.getCurrentUser()?.token, 'second');
    assert.equal(kc.reloads, 1);
    const other = resolveKubeConfig(conn({ kubeconfigPath: path, context: 'second' }));
    assert.equal(other.getCurrentCluster()?.server, 'https://other:6443');
  });

  void test('inline YAML or JSON; a missing context is named', () => {
    const kc = resolveKubeConfig(conn({ kubeconfig: kubeconfig('https://inline:6443', 't') }));
    assert.equal(kc.getCurrentCluster()?.server, 'https://inline:6443');
    assert.throws(() => resolveKubeConfig(conn({ kubeconfig: kubeconfig('https://inline:6443', 't'), context: 'nope' })),
      /connection 'k8s_test': context: the kubeconfig has no context 'nope'.*/);
  });

  void test('a missing kubeconfig file is named', () => {
    assert.throws(() => resolveKubeConfig(conn({ kubeconfigPath: join(dir, 'missing') })), /kubeconfigPath: no file at .*missing/);
  });

  void test('in cluster: service-account token and CA from the standard files, server from the environment', () => {
    const sa = join(dir, 'sa');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), 'sa-token-1\n');
    writeFileSync(join(sa, 'ca.crt'), 'not used here');
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    const kc = resolveKubeConfig(conn({ inCluster: true }), { env, serviceAccountDir: sa });
    assert.equal(kc.getCurrentCluster()?.server, 'https://10.96.0.1:443');
    assert.equal(kc.getCurrentCluster()?.caFile, join(sa, 'ca.crt'));
    assert.equal(kc.getCurrentUser()?.token, 'sa-token-1');
    writeFileSync(join(sa, 'token'), 'sa-token-2');
    kc.reload();
    assert.equal(kc.getCurrentUser()?.token, 'sa-token-2', 'a rotated token is read again');
    assert.throws(() => resolveKubeConfig(conn({ inCluster: true }), { env: {}, serviceAccountDir: sa }), /KUBERNETES_SERVICE_HOST/);
  });

  void test('no connection: KUBECONFIG (several files merged, first context wins), else ~/.kube/config', () => {
    const a = join(dir, 'a.kubeconfig');
    const b = join(dir, 'b.kubeconfig');
    writeFileSync(a, kubeconfig('https://a:6443', 'ta', 'ctx-a'));
    writeFileSync(b, JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'cb', cluster: { server: 'https://b:6443' } }], users: [{ name: 'ub', user: { token: 'tb' } }], contexts: [{ name: 'ctx-b', context: { cluster: 'cb', user: 'ub' } }], 'current-context': 'ctx-b' }));
    const kc = resolveKubeConfig(undefined, { env: { KUBECONFIG: `${a}:${b}` } });
    assert.equal(kc.getCurrentCluster()?.server, 'https://a:6443');
    assert.ok(kc.getContextObject('ctx-b'), 'the second file is merged');
    const home = join(dir, 'home');
    mkdirSync(join(home, '.kube'), { recursive: true });
    writeFileSync(join(home, '.kube', 'config'), kubeconfig('https://home:6443', 'th'));
    assert.equal(resolveKubeConfig(undefined, { env: { HOME: home } }).getCurrentCluster()?.server, 'https://home:6443');
    assert.throws(() => resolveKubeConfig(undefined, { env: { HOME: join(dir, 'nowhere') } }), /the default kubeconfig: no kubeconfig/);
  });
});

void describe('resolveNamespace: operator → connection → in-cluster file → default', () => {
  void test('each level in turn', () => {
    const sa = join(dir, 'ns-sa');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'namespace'), 'pod-ns\n');
    const connection = parseKubernetesConnection(conn({ namespace: 'conn-ns' }));
    const environment = { serviceAccountDir: sa };
    assert.equal(resolveNamespace({ operatorNamespace: 'op-ns', connection, environment }), 'op-ns');
    assert.equal(resolveNamespace({ connection, environment }), 'conn-ns');
    assert.equal(resolveNamespace({ connection: parseKubernetesConnection(conn({})), environment }), 'pod-ns');
    assert.equal(resolveNamespace({ environment: { serviceAccountDir: join(dir, 'none') } }), 'default');
  });
});
