// The client layer without a cluster: which failures are retried, the backoff, the token bucket (driven by a
// manual clock), the errors built from API Status objects, and a create against a closed port (refused →
// retried, since it cannot have reached a server). The same behaviours against a real API server and the fault
// proxy are in test/kubernetes/cluster/client.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import {
  KubernetesApiError,
  TokenBucket,
  apiErrorFromResponse,
  backoffMs,
  createKubeClients,
  describeRequest,
  isRetryable,
} from '../../../src/kubernetes/index.ts';
import type { LimiterClock } from '../../../src/kubernetes/index.ts';

void describe('retry policy', () => {
  void test('idempotent requests retry 429, 5xx and connection failures; 4xx never', () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      for (const status of [429, 500, 502, 503, 504]) assert.ok(isRetryable(method, { status }), `${method} ${status}`);
      for (const status of [400, 401, 403, 404, 409, 410, 422, 501]) assert.ok(!isRetryable(method, { status }), `${method} ${status}`);
      for (const networkCode of ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'EPIPE']) assert.ok(isRetryable(method, { networkCode }), `${method} ${networkCode}`);
    }
  });

  void test('POST and PATCH retry only what cannot have been acted on', () => {
    for (const method of ['POST', 'PATCH']) {
      assert.ok(isRetryable(method, { status: 429 }));
      assert.ok(isRetryable(method, { status: 503 }));
      assert.ok(isRetryable(method, { networkCode: 'ECONNREFUSED' }));
      assert.ok(isRetryable(method, { networkCode: 'UND_ERR_CONNECT_TIMEOUT' }));
      assert.ok(!isRetryable(method, { status: 500 }));
      assert.ok(!isRetryable(method, { status: 504 }));
      assert.ok(!isRetryable(method, { networkCode: 'ECONNRESET' }));
      assert.ok(!isRetryable(method, { networkCode: 'ETIMEDOUT' }));
    }
  });

  void test('backoff doubles up to the cap, jittered between half and all of it, never under Retry-After', () => {
    const at = (attempt: number, random: number, retryAfterSeconds?: number) => backoffMs(attempt, { baseMs: 200, maxMs: 1000, random: () => random, retryAfterSeconds });
    assert.equal(at(1, 0), 100);
    assert.equal(at(1, 0.999999), 200);
    assert.equal(at(2, 0), 200);
    assert.equal(at(3, 0), 400);
    assert.equal(at(10, 0), 500);
    assert.equal(at(10, 0.999999), 1000);
    assert.equal(at(1, 0, 3), 3000);
  });
});

function manualClock(): LimiterClock & { sleeps: number[] } {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: (ms) => {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

void describe('token bucket', () => {
  void test('burst goes at once, then qps per second, in arrival order', async () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ qps: 4, burst: 3, clock });
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3, 4, 5].map((i) => bucket.take().then(() => order.push(i))));
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(clock.sleeps, [250, 250, 250], 'three waits of 1/qps after the burst of 3');
    assert.equal(clock.now(), 750);
  });

  void test('tokens refill while idle, up to burst', async () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ qps: 10, burst: 2, clock });
    await bucket.take();
    await bucket.take();
    await clock.sleep(10_000);
    clock.sleeps.length = 0;
    await bucket.take();
    await bucket.take();
    await bucket.take();
    assert.deepEqual(clock.sleeps, [100], 'only two tokens were stored, not a hundred');
  });

  void test('rejects nonsense settings', () => {
    assert.throws(() => new TokenBucket({ qps: 0, burst: 1 }), /qps must be > 0/);
    assert.throws(() => new TokenBucket({ qps: 1, burst: 0 }), /burst must be an integer ≥ 1/);
  });
});

const status = (code: number, reason: string, message: string, details?: object) =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message, ...(details === undefined ? {} : { details }) });

void describe('KubernetesApiError from API Status objects', () => {
  void test('describeRequest speaks RBAC', () => {
    assert.deepEqual(describeRequest('GET', 'https://k/api/v1/namespaces/ns/pods?labelSelector=a'), { method: 'GET', url: 'https://k/api/v1/namespaces/ns/pods?labelSelector=a', verb: 'list', resource: 'pods', namespace: 'ns' });
    assert.equal(describeRequest('GET', 'https://k/api/v1/namespaces/ns/pods/p/log').resource, 'pods/log');
    assert.equal(describeRequest('GET', 'https://k/api/v1/namespaces/ns/pods/p/log').verb, 'get');
    assert.equal(describeRequest('GET', 'https://k/api/v1/namespaces/ns/pods?watch=true').verb, 'watch');
    assert.equal(describeRequest('DELETE', 'https://k/apis/batch/v1/namespaces/ns/jobs').verb, 'deletecollection');
    const job = describeRequest('POST', 'https://k/apis/batch/v1/namespaces/ns/jobs');
    assert.equal(job.verb, 'create');
    assert.equal(job.resource, 'jobs.batch');
    assert.equal(describeRequest('GET', 'https://k/api/v1/nodes').namespace, undefined);
  });

  void test('quota exceeded names the quota, what was requested, used and allowed', () => {
    const err = apiErrorFromResponse(403, status(403, 'Forbidden', 'pods "second" is forbidden: exceeded quota: one-pod, requested: pods=1, used: pods=1, limited: pods=1', { name: 'second', kind: 'pods' }), {}, describeRequest('POST', 'https://k/api/v1/namespaces/q/pods'));
    assert.equal(err.kind, 'quota_exceeded');
    assert.match(err.message, /ResourceQuota "one-pod" refused to create pods "second" in namespace "q": requested pods=1, already used pods=1, limit pods=1/);
    assert.match(err.message, /Hint: .*kubectl describe resourcequota one-pod -n q/);
    assert.ok(err instanceof KubernetesApiError);
    assert.equal(err.code, 403);
  });

  void test('RBAC forbidden names the service account, verb, resource and namespace, and says how to grant it', () => {
    const err = apiErrorFromResponse(403, status(403, 'Forbidden', 'pods is forbidden: User "system:serviceaccount:team-a:runner" cannot list resource "pods" in API group "" in the namespace "team-a"', { kind: 'pods' }), {}, describeRequest('GET', 'https://k/api/v1/namespaces/team-a/pods'));
    assert.equal(err.kind, 'forbidden');
    assert.match(err.message, /RBAC: service account "runner" of namespace "team-a" may not list pods in namespace "team-a"/);
    assert.match(err.hint ?? '', /kubectl -n team-a create role capstan-pods --verb=list --resource=pods; kubectl -n team-a create rolebinding capstan-pods --role=capstan-pods --serviceaccount=team-a:runner/);
  });

  void test('422 lists each field cause with its path', () => {
    const err = apiErrorFromResponse(422, status(422, 'Invalid', 'Pod "p" is invalid: [...]', {
      name: 'p', kind: 'Pod',
      causes: [
        { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers[0].image' },
        { reason: 'FieldValueInvalid', message: 'Invalid value: "x_y": a lowercase RFC 1123 label', field: 'spec.containers[1].name' },
      ],
    }), {}, describeRequest('POST', 'https://k/api/v1/namespaces/n/pods'));
    assert.equal(err.kind, 'invalid');
    assert.match(err.message, /rejected Pod "p" as invalid:\n {2}- spec\.containers\[0\]\.image: Required value\n {2}- spec\.containers\[1\]\.name: Invalid value/);
    assert.equal(err.causes.length, 2);
  });

  void test('409 on create is already_exists, on update conflict; 410 gone; 404 not_found; 5xx server_error', () => {
    assert.equal(apiErrorFromResponse(409, status(409, 'AlreadyExists', 'pods "p" already exists'), {}, describeRequest('POST', 'https://k/api/v1/namespaces/n/pods')).kind, 'already_exists');
    assert.equal(apiErrorFromResponse(409, status(409, 'Conflict', 'the object has been modified'), {}, describeRequest('PUT', 'https://k/api/v1/namespaces/n/pods/p')).kind, 'conflict');
    assert.equal(apiErrorFromResponse(410, status(410, 'Expired', 'too old resource version'), {}).kind, 'gone');
    assert.equal(apiErrorFromResponse(404, status(404, 'NotFound', 'pods "p" not found'), {}, describeRequest('GET', 'https://k/api/v1/namespaces/n/pods/p')).kind, 'not_found');
    const server = apiErrorFromResponse(503, 'upstream down', { 'retry-after': '2' });
    assert.equal(server.kind, 'server_error');
    assert.equal(server.retryAfterSeconds, 2);
    assert.equal(server.body, 'upstream down');
  });
});

void describe('client against a closed port', () => {
  void test('a create that was refused is retried (it never reached a server), then fails as network', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const delays: number[] = [];
    const clients = createKubeClients(kc, { maxRetries: 2, sleep: (ms) => { delays.push(ms); return Promise.resolve(); } });
    await assert.rejects(clients.core.createNamespacedPod({ namespace: 'n', body: { metadata: { name: 'p' } } }), (err: unknown) => {
      assert.ok(err instanceof KubernetesApiError);
      assert.equal(err.kind, 'network');
      assert.equal(err.code, 0);
      assert.match(err.message, /no answer from the API server to create pods in namespace "n" after 3 attempt\(s\) \(ECONNREFUSED/);
      assert.doesNotMatch(err.message, /may or may not have reached/);
      return true;
    });
    assert.equal(delays.length, 2);
  });
});

void describe('client against a server that always answers 401', () => {
  void test('credentials are reloaded exactly once; a failing reload is reported as such', async () => {
    let requests = 0;
    const server = createHttpServer((_req, res) => {
      requests += 1;
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 401, reason: 'Unauthorized', message: 'Unauthorized' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as { port: number }).port}`, skipTLSVerify: true }],
        users: [{ name: 'u', token: 't' }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
      });
      let reloads = 0;
      const clients = createKubeClients(kc, { reloadCredentials: () => { reloads += 1; } });
      await assert.rejects(clients.core.listNamespacedPod({ namespace: 'n' }), (err: unknown) => {
        assert.ok(err instanceof KubernetesApiError);
        assert.equal(err.kind, 'unauthorized');
        assert.match(err.message, /\(401\) to list pods in namespace "n", even after reloading them/);
        return true;
      });
      assert.equal(reloads, 1);
      assert.equal(requests, 2);

      const broken = createKubeClients(kc, { reloadCredentials: () => { throw new Error('token file vanished'); } });
      await assert.rejects(broken.core.readNamespacedPod({ namespace: 'n', name: 'p' }), /\(401\) to get pods "p" in namespace "n", and reloading them failed: token file vanished/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
