// The fault proxy answers like the API server does when it is overloaded,
// broken or restarting, and a compacted etcd yields a real 410 for a watch.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiException, CoreV1Api, Watch } from '@kubernetes/client-node';
import { binariesAvailable, connectTestCluster, UNCACHED_RESOURCES, waitFor } from '../../support/k8s/index.ts';
import type { FaultProxy, TestCluster } from '../../support/k8s/index.ts';

const available = await binariesAvailable();

interface WatchOutcome {
  events: { type: string; object: { code?: number; reason?: string; metadata?: { name?: string } } }[];
  done: Promise<unknown>;
  abort(): void;
}

async function watchPath(proxyOrCluster: { kubeConfig: TestCluster['kubeConfig'] }, path: string, query: Record<string, string> = {}): Promise<WatchOutcome> {
  const events: WatchOutcome['events'] = [];
  let finish: (err: unknown) => void = () => {};
  const done = new Promise<unknown>((resolve) => (finish = resolve));
  const controller = await new Watch(proxyOrCluster.kubeConfig).watch(path, query,
    (type: string, object: WatchOutcome['events'][number]['object']) => void events.push({ type, object }),
    (err: unknown) => finish(err ?? null));
  return { events, done, abort: () => controller.abort() };
}

void describe('fault proxy', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let proxy: FaultProxy;
  let core: CoreV1Api;
  let namespace: string;

  before(async () => {
    cluster = await connectTestCluster();
    namespace = await cluster.createNamespace('faults');
    proxy = await cluster.startFaultProxy();
    core = proxy.kubeConfig.makeApiClient(CoreV1Api);
  });
  after(async () => {
    await proxy?.close();
    await cluster?.kubeConfig.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
  });

  void test('passes requests through untouched when no rule matches', async () => {
    const pods = await core.listNamespacedPod({ namespace });
    assert.deepEqual(pods.items, []);
    assert.equal(proxy.requests.at(-1)?.status, 200);
  });

  void test('429 with Retry-After, once, then the real answer', async () => {
    const fault = proxy.inject({
      match: { method: 'GET', path: `/namespaces/${namespace}/pods`, watch: false },
      action: { kind: 'status', code: 429, retryAfterSeconds: 2 },
      times: 1,
    });
    const err = await core.listNamespacedPod({ namespace }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ApiException);
    assert.equal(err.code, 429);
    assert.equal(err.headers['retry-after'], '2');
    const body = JSON.parse(String(err.body)) as { kind: string; reason: string; details: { retryAfterSeconds: number } };
    assert.deepEqual([body.kind, body.reason, body.details.retryAfterSeconds], ['Status', 'TooManyRequests', 2]);
    assert.equal(fault.hits, 1);
    await core.listNamespacedPod({ namespace });
  });

  void test('5xx as a Status object', async () => {
    const fault = proxy.inject({ match: { path: `/namespaces/${namespace}/configmaps` }, action: { kind: 'status', code: 503 } });
    try {
      const err = await core.listNamespacedConfigMap({ namespace }).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof ApiException);
      assert.equal(err.code, 503);
      assert.equal((JSON.parse(String(err.body)) as { reason: string }).reason, 'ServiceUnavailable');
    } finally {
      fault.remove();
    }
  });

  void test('connection reset and slow responses', async () => {
    proxy.inject({ match: { path: `/namespaces/${namespace}/secrets` }, action: { kind: 'reset' }, times: 1 });
    const err = await core.listNamespacedSecret({ namespace }).then(() => undefined, (e: unknown) => e);
    assert.ok(err !== undefined && !(err instanceof ApiException), `expected a network error, got ${String(err)}`);

    proxy.inject({ match: { path: `/namespaces/${namespace}/services` }, action: { kind: 'delay', ms: 400 }, times: 1 });
    const started = Date.now();
    await core.listNamespacedService({ namespace });
    assert.ok(Date.now() - started >= 400);
  });

  void test('a watch is dropped mid-stream', async () => {
    const watch = await watchPath(proxy, `/api/v1/namespaces/${namespace}/configmaps`);
    try {
      await proxy.waitForRequest((r) => r.watch && r.path.endsWith(`/namespaces/${namespace}/configmaps`));
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'before-drop' } } });
      await waitFor('ADDED event through the proxy', async () =>
        (watch.events.some((e) => e.object.metadata?.name === 'before-drop') ? true : undefined));
      assert.ok(proxy.dropWatches() >= 1);
      await watch.done;
      assert.equal(proxy.dropWatches(), 0, 'no watch left open');
    } finally {
      watch.abort();
    }
  });

  void test('a watch answered with 410 Expired, as the API server does', async () => {
    proxy.inject({ match: { watch: true, path: `/namespaces/${namespace}/pods` }, action: { kind: 'expireWatch' }, times: 1 });
    const watch = await watchPath(proxy, `/api/v1/namespaces/${namespace}/pods`, { resourceVersion: '1' });
    await watch.done;
    assert.equal(watch.events[0]?.type, 'ERROR');
    assert.equal(watch.events[0]?.object.code, 410);
    assert.equal(watch.events[0]?.object.reason, 'Expired');
  });

  void test('a real 410 from the API server after etcd compaction', async () => {
    assert.ok(UNCACHED_RESOURCES.includes('configmaps'));
    const direct = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const cm = await direct.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'compacted' }, data: { v: '0' } } });
    const oldVersion = cm.metadata?.resourceVersion ?? '';
    for (let i = 1; i <= 3; i++) {
      await direct.replaceNamespacedConfigMap({ namespace, name: 'compacted', body: { metadata: { name: 'compacted' }, data: { v: String(i) } } });
    }
    await cluster.compactEtcd();
    const watch = await watchPath(cluster, `/api/v1/namespaces/${namespace}/configmaps`, { resourceVersion: oldVersion });
    try {
      await waitFor('ERROR event', async () => (watch.events.some((e) => e.type === 'ERROR') ? true : undefined), 10_000);
      const error = watch.events.find((e) => e.type === 'ERROR');
      assert.equal(error?.object.code, 410);
    } finally {
      watch.abort();
    }
  });
});
