// The client layer and pod building against a real API server: every golden pod is accepted (server-side dry
// run), retries through the fault proxy (429 waits Retry-After, 503 and resets retried, a create that got a
// reset is not repeated), timeouts that never cut streams, the rate limiter's cap (counted at the proxy), 401
// credential reload, in-cluster credentials, and clear RBAC and quota errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { PatchStrategy, SchedulingV1Api, setHeaderOptions } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import {
  KubernetesApiError,
  buildPod,
  createKubeClients,
  resolveKubeConfig,
} from '../../../src/kubernetes/index.ts';
import type { KubeClients, KubeClientOptions } from '../../../src/kubernetes/index.ts';
import type { Connection } from '../../../src/store/connections.ts';
import { binariesAvailable, connectTestCluster, inPhase, podAnnotations, waitFor, waitForPod } from '../../support/k8s/index.ts';
import type { FaultProxy, TestCluster } from '../../support/k8s/index.ts';
import { GOLDEN_PRIORITY_CLASS, GOLDEN_SERVICE_ACCOUNT, exampleTemplate, goldenCases, identity } from '../goldenCases.ts';

const available = await binariesAvailable();
if (!available && process.env['CAPSTAN_K8S_REQUIRED'] === '1') {
  throw new Error('CAPSTAN_K8S_REQUIRED=1 but the Kubernetes test binaries are not built');
}

function kubernetesConnection(extra: Record<string, unknown>): Connection {
  return { connId: 'k8s', connType: 'kubernetes', description: null, host: null, schema: null, login: null, password: null, port: null, extra };
}

async function rejection(promise: Promise<unknown>): Promise<KubernetesApiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof KubernetesApiError, `expected a KubernetesApiError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

function simplePod(namespace: string, name: string, behaviour: Parameters<typeof podAnnotations>[0] = {}): V1Pod {
  return buildPod({ name, namespace, randomNameSuffix: false, image: 'capstan/task:test', annotations: podAnnotations(behaviour) }, { identity });
}

void describe('kubernetes client against a real API server', { skip: !available && 'binaries not built (bash scripts/k8s-testcluster.sh build)' }, () => {
  let cluster: TestCluster;
  let admin: KubeClients;
  let namespace: string;
  let proxy: FaultProxy;
  let dir: string;

  // Clients through the fault proxy, with recorded backoff sleeps (real waits, so behaviour is unchanged).
  function viaProxy(options: KubeClientOptions = {}): { clients: KubeClients; delays: number[] } {
    const delays: number[] = [];
    const clients = createKubeClients(proxy.kubeConfig, {
      retryBaseMs: 20,
      retryMaxMs: 200,
      sleep: (ms) => {
        delays.push(ms);
        return new Promise((resolve) => setTimeout(resolve, ms));
      },
      ...options,
    });
    return { clients, delays };
  }
  const seen = (method: string, path: string) => proxy.requests.filter((r) => r.method === method && r.path === path);

  before(async () => {
    cluster = await connectTestCluster();
    admin = createKubeClients(cluster.kubeConfig);
    namespace = await cluster.createNamespace('client');
    proxy = await cluster.startFaultProxy();
    dir = mkdtempSync(join(tmpdir(), 'capstan-client-'));
  });
  after(async () => {
    await proxy?.close();
    await admin?.core.deleteNamespace({ name: namespace }).catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
    await cluster?.stop();
  });

  void test('every golden pod is a valid Kubernetes pod (server-side dry run, strict field validation)', async () => {
    await admin.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: GOLDEN_SERVICE_ACCOUNT } } });
    const scheduling = createKubeClients(cluster.kubeConfig);
    const priority = cluster.kubeConfig.makeApiClient(SchedulingV1Api);
    await priority.createPriorityClass({ body: { metadata: { name: GOLDEN_PRIORITY_CLASS }, value: 1000 } }).catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
    try {
      for (const c of goldenCases) {
        const pod = buildPod(c.options, { identity, randomSuffix: () => 'x7k2m9q4', ...c.context });
        pod.metadata!.namespace = namespace;
        const accepted = await scheduling.core.createNamespacedPod({ namespace, body: pod, dryRun: 'All', fieldValidation: 'Strict' })
          .catch((err: unknown) => assert.fail(`golden pod '${c.name}' was refused: ${(err as Error).message}`));
        assert.equal(accepted.metadata?.name, pod.metadata?.name, c.name);
        assert.deepEqual(accepted.spec?.containers.map((x) => x.name), pod.spec?.containers.map((x) => x.name), c.name);
        assert.equal(accepted.metadata?.uid !== undefined, true, `${c.name}: the server processed it`);
      }
      const stored = await admin.core.listNamespacedPod({ namespace });
      assert.equal(stored.items.length, 0, 'a dry run stores nothing');
    } finally {
      await priority.deletePriorityClass({ name: GOLDEN_PRIORITY_CLASS }).catch(() => {});
    }
  });

  void test('the restricted-security example passes the restricted Pod Security Standard; a plain pod does not', async () => {
    const restrictedNs = await cluster.createNamespace('client-restricted');
    try {
      await admin.core.patchNamespace({
        name: restrictedNs,
        body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
      }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      const secure = buildPod({ podTemplateFile: exampleTemplate('restricted-security'), namespace: restrictedNs }, { identity });
      await admin.core.createNamespacedPod({ namespace: restrictedNs, body: secure, dryRun: 'All' });
      const plain = simplePod(restrictedNs, 'plain');
      const err = await rejection(admin.core.createNamespacedPod({ namespace: restrictedNs, body: plain, dryRun: 'All' }));
      assert.equal(err.kind, 'forbidden');
      assert.match(err.message, /create pods "plain" in namespace ".*" was forbidden by admission: .*violates PodSecurity "restricted:latest"/);
    } finally {
      await admin.core.deleteNamespace({ name: restrictedNs }).catch(() => {});
    }
  });

  void test('a pod the server finds invalid fails with each field cause', async () => {
    const pod = simplePod(namespace, 'invalid-one');
    pod.spec!.containers.push({ name: 'Bad_Name', image: 'x' });
    const err = await rejection(admin.core.createNamespacedPod({ namespace, body: pod, dryRun: 'All' }));
    assert.equal(err.kind, 'invalid');
    assert.match(err.message, /- spec\.containers\[1\]\.name: Invalid value: "Bad_Name"/);
  });

  void test('429 with Retry-After: the create waits at least that long, then succeeds', async () => {
    const { clients, delays } = viaProxy();
    const path = `/api/v1/namespaces/${namespace}/pods`;
    proxy.inject({ match: { method: 'POST', path }, action: { kind: 'status', code: 429, retryAfterSeconds: 1 }, times: 1 });
    const created = await clients.core.createNamespacedPod({ namespace, body: simplePod(namespace, 'after-429') });
    assert.equal(created.metadata?.name, 'after-429');
    const posts = seen('POST', path).filter((r) => r.fault === 'status' || r.status === 201);
    assert.deepEqual(posts.map((r) => r.status), [429, 201]);
    assert.equal(delays.length, 1);
    assert.ok(delays[0]! >= 1000, `waited ${delays[0]} ms, Retry-After said 1 s`);
  });

  void test('503 is retried until the server answers', async () => {
    const { clients, delays } = viaProxy();
    const path = `/api/v1/namespaces/${namespace}/configmaps`;
    proxy.inject({ match: { method: 'GET', path }, action: { kind: 'status', code: 503 }, times: 2 });
    const before = seen('GET', path).length;
    const list = await clients.core.listNamespacedConfigMap({ namespace });
    assert.ok(Array.isArray(list.items));
    assert.deepEqual(seen('GET', path).slice(before).map((r) => r.status), [503, 503, 200]);
    assert.equal(delays.length, 2);
  });

  void test('a connection reset on a read is retried', async () => {
    const { clients } = viaProxy();
    await admin.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'reset-read' }, data: { a: '1' } } });
    const path = `/api/v1/namespaces/${namespace}/configmaps/reset-read`;
    proxy.inject({ match: { method: 'GET', path }, action: { kind: 'reset' }, times: 1 });
    const cm = await clients.core.readNamespacedConfigMap({ namespace, name: 'reset-read' });
    assert.equal(cm.data?.['a'], '1');
    assert.deepEqual(seen('GET', path).map((r) => r.fault), ['reset', undefined]);
  });

  void test('a create whose connection was reset is not repeated blindly', async () => {
    const { clients, delays } = viaProxy();
    const path = `/api/v1/namespaces/${namespace}/pods`;
    const before = seen('POST', path).length;
    proxy.inject({ match: { method: 'POST', path }, action: { kind: 'reset' }, times: 1 });
    const err = await rejection(clients.core.createNamespacedPod({ namespace, body: simplePod(namespace, 'reset-create') }));
    assert.equal(err.kind, 'network');
    assert.match(err.message, /create pods in namespace ".*" after 1 attempt\(s\)/);
    assert.match(err.message, /may or may not have reached the server/);
    assert.equal(seen('POST', path).length - before, 1, 'exactly one POST');
    assert.equal(delays.length, 0);
    // The caller's recovery: create again; AlreadyExists would mean the first one had gone through.
    const again = await clients.core.createNamespacedPod({ namespace, body: simplePod(namespace, 'reset-create') });
    assert.equal(again.metadata?.name, 'reset-create');
    const dup = await rejection(clients.core.createNamespacedPod({ namespace, body: simplePod(namespace, 'reset-create') }));
    assert.equal(dup.kind, 'already_exists');
  });

  void test('500 on a create is not retried (the server may have acted on it)', async () => {
    const { clients } = viaProxy();
    const path = `/api/v1/namespaces/${namespace}/configmaps`;
    const before = seen('POST', path).length;
    proxy.inject({ match: { method: 'POST', path }, action: { kind: 'status', code: 500 }, times: 1 });
    const err = await rejection(clients.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'five-hundred' } } }));
    assert.equal(err.kind, 'server_error');
    assert.equal(err.code, 500);
    assert.equal(seen('POST', path).length - before, 1);
  });

  void test('a slow answer times out and the read is retried', async () => {
    const { clients } = viaProxy({ requestTimeoutMs: 500 });
    await admin.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'slow' }, data: { b: '2' } } });
    const path = `/api/v1/namespaces/${namespace}/configmaps/slow`;
    proxy.inject({ match: { method: 'GET', path }, action: { kind: 'delay', ms: 5000 }, times: 1 });
    const cm = await clients.core.readNamespacedConfigMap({ namespace, name: 'slow' });
    assert.equal(cm.data?.['b'], '2');
    assert.equal(seen('GET', path)[0]?.fault, 'delay');
    assert.ok(seen('GET', path).length >= 2);
  });

  void test('log streams outlive the request timeout and end when the container does', async () => {
    const { clients } = viaProxy({ requestTimeoutMs: 300 });
    const name = 'long-logs';
    await admin.core.createNamespacedPod({ namespace, body: simplePod(namespace, name, { runMs: 2500, logs: { base: 'line 1\nline 2\n' } }) });
    await waitForPod(cluster.kubeConfig, namespace, name, inPhase('Running'));
    let text = '';
    const ended = new Promise<void>((resolve, reject) => {
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          text += chunk.toString();
          cb();
        },
      });
      sink.on('finish', resolve);
      sink.on('error', reject);
      clients.log.log(namespace, name, 'base', sink, { follow: true }).catch(reject);
    });
    const followed = clients.core.readNamespacedPodLog({ namespace, name, container: 'base', follow: true });
    await ended;
    assert.equal(text, 'line 1\nline 2\n');
    assert.equal(await followed, 'line 1\nline 2\n');
    const pod = await admin.core.readNamespacedPod({ namespace, name });
    assert.ok(pod.status?.containerStatuses?.[0]?.state?.terminated, 'the streams ended because the container terminated, not by a timeout');
  });

  void test('the rate limiter caps the request rate seen by the server', async () => {
    const qps = 5;
    const burst = 2;
    const arrivals: number[] = [];
    const path = `/api/v1/namespaces/${namespace}/secrets`;
    const counter = proxy.inject({
      match: { method: 'GET', where: (r) => { if (r.path === path) arrivals.push(performance.now()); return false; } },
      action: { kind: 'reset' },
    });
    try {
      const { clients } = viaProxy({ qps, burst });
      await Promise.all(Array.from({ length: 12 }, () => clients.core.listNamespacedSecret({ namespace })));
    } finally {
      counter.remove();
    }
    assert.equal(arrivals.length, 12);
    // In any window of W seconds, a token bucket lets through at most burst + W·qps requests (+1 for timer edges).
    const windowMs = 1000;
    for (const start of arrivals) {
      const inWindow = arrivals.filter((t) => t >= start && t < start + windowMs).length;
      assert.ok(inWindow <= burst + qps + 1, `${inWindow} requests within ${windowMs} ms (cap ${burst + qps})`);
    }
  });

  void test('401: the kubeconfig is read again once and the request goes through with the new token', async () => {
    const path = join(dir, 'rotating.kubeconfig');
    const write = (token: string) => writeFileSync(path, JSON.stringify({
      apiVersion: 'v1', kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: proxy.url, 'certificate-authority': cluster.descriptor.caCert } }],
      users: [{ name: 'u', user: { token } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }));
    write('expired-token');
    const kc = resolveKubeConfig(kubernetesConnection({ kubeconfigPath: path }));
    write(cluster.descriptor.adminToken);
    const clients = createKubeClients(kc);
    const apiPath = `/api/v1/namespaces/${namespace}/serviceaccounts`;
    const before = seen('GET', apiPath).length;
    const list = await clients.core.listNamespacedServiceAccount({ namespace });
    assert.ok(list.items.length >= 1);
    assert.deepEqual(seen('GET', apiPath).slice(before).map((r) => r.status), [401, 200]);
    assert.equal(kc.reloads, 1);

    write('still-wrong');
    kc.reload();
    const stuck = await rejection(clients.core.listNamespacedServiceAccount({ namespace }));
    assert.equal(stuck.kind, 'unauthorized');
    assert.match(stuck.message, /did not accept the credentials \(401\) to list serviceaccounts in namespace ".*", even after reloading them/);
  });

  void test('watch and log streams reload credentials after a 401 too', async () => {
    let reloads = 0;
    const { clients } = viaProxy({ reloadCredentials: () => { reloads += 1; } });
    const watchPath = `/api/v1/namespaces/${namespace}/configmaps`;
    proxy.inject({ match: { watch: true, path: watchPath }, action: { kind: 'status', code: 401 }, times: 1 });
    const ended = await new Promise<unknown>((resolve) => {
      void clients.watch.watch(watchPath, {}, () => {}, resolve);
    });
    assert.equal((ended as { statusCode?: number }).statusCode, 401, 'the watch reports the 401 to its caller, who reconnects');
    assert.equal(reloads, 1, 'credentials were reloaded before the caller was told');

    const name = 'log-after-401';
    await admin.core.createNamespacedPod({ namespace, body: simplePod(namespace, name, { logs: 'hello\n' }) });
    await waitForPod(cluster.kubeConfig, namespace, name, inPhase('Succeeded'));
    proxy.inject({ match: { path: `/api/v1/namespaces/${namespace}/pods/${name}/log` }, action: { kind: 'status', code: 401 }, times: 1 });
    let text = '';
    await new Promise<void>((resolve, reject) => {
      const sink = new Writable({ write(chunk: Buffer, _enc, cb) { text += chunk.toString(); cb(); } });
      sink.on('finish', resolve);
      clients.log.log(namespace, name, 'base', sink, { follow: false }).catch(reject);
    });
    assert.equal(text, 'hello\n');
    assert.equal(reloads, 2);
  });

  void test('two connections are two clusters: each client talks to its own server', async () => {
    const direct = join(dir, 'direct.kubeconfig');
    const proxied = join(dir, 'proxied.kubeconfig');
    const write = (path: string, server: string) => writeFileSync(path, JSON.stringify({
      apiVersion: 'v1', kind: 'Config',
      clusters: [{ name: 'c', cluster: { server, 'certificate-authority': cluster.descriptor.caCert } }],
      users: [{ name: 'u', user: { token: cluster.descriptor.adminToken } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }));
    write(direct, cluster.descriptor.server);
    write(proxied, proxy.url);
    const a = createKubeClients(resolveKubeConfig({ ...kubernetesConnection({ kubeconfigPath: direct }), connId: 'cluster_a' }));
    const b = createKubeClients(resolveKubeConfig({ ...kubernetesConnection({ kubeconfigPath: proxied }), connId: 'cluster_b' }));
    const path = `/api/v1/namespaces/${namespace}/limitranges`;
    const before = seen('GET', path).length;
    await a.core.listNamespacedLimitRange({ namespace });
    await a.core.listNamespacedLimitRange({ namespace });
    assert.equal(seen('GET', path).length, before, 'cluster_a does not go through the proxy');
    await b.core.listNamespacedLimitRange({ namespace });
    assert.equal(seen('GET', path).length, before + 1, 'cluster_b does');
  });

  void test('in-cluster credentials: token, CA and namespace from the service-account directory', async () => {
    const sa = join(dir, 'serviceaccount');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), cluster.descriptor.adminToken);
    copyFileSync(cluster.descriptor.caCert, join(sa, 'ca.crt'));
    writeFileSync(join(sa, 'namespace'), namespace);
    const server = new URL(cluster.descriptor.server);
    const kc = resolveKubeConfig(kubernetesConnection({ inCluster: true }), {
      env: { KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port },
      serviceAccountDir: sa,
    });
    const clients = createKubeClients(kc);
    const pods = await clients.core.listNamespacedPod({ namespace });
    assert.ok(pods.items.some((p) => p.metadata?.name === 'after-429'));
  });

  void test('RBAC 403 names the service account, verb, resource and namespace and how to grant them', async () => {
    const restricted = createKubeClients(await cluster.serviceAccountKubeConfig(namespace, 'default'));
    const err = await rejection(restricted.core.createNamespacedPod({ namespace, body: simplePod(namespace, 'not-allowed') }));
    assert.equal(err.kind, 'forbidden');
    assert.equal(err.code, 403);
    assert.match(err.message, new RegExp(`RBAC: service account "default" of namespace "${namespace}" may not create pods in namespace "${namespace}"`));
    assert.match(err.hint ?? '', new RegExp(`kubectl -n ${namespace} create role capstan-pods --verb=create --resource=pods; .*--serviceaccount=${namespace}:default`));
  });

  void test('quota exceeded 403 names the quota and the numbers', async () => {
    const quotaNs = await cluster.createNamespace('client-quota');
    try {
      await admin.core.createNamespacedResourceQuota({ namespace: quotaNs, body: { metadata: { name: 'one-pod' }, spec: { hard: { pods: '1' } } } });
      await waitFor('quota usage computed', async () => {
        const q = await admin.core.readNamespacedResourceQuota({ namespace: quotaNs, name: 'one-pod' });
        return q.status?.used?.['pods'] !== undefined ? true : undefined;
      });
      await admin.core.createNamespacedPod({ namespace: quotaNs, body: simplePod(quotaNs, 'first', { outcome: 'run-forever' }) });
      const err = await rejection(admin.core.createNamespacedPod({ namespace: quotaNs, body: simplePod(quotaNs, 'second') }));
      assert.equal(err.kind, 'quota_exceeded');
      assert.match(err.message, new RegExp(`ResourceQuota "one-pod" refused to create pods "second" in namespace "${quotaNs}": requested pods=1, already used pods=1, limit pods=1`));
      assert.match(err.hint ?? '', /kubectl describe resourcequota one-pod/);
    } finally {
      await admin.core.deleteNamespace({ name: quotaNs }).catch(() => {});
    }
  });
});
