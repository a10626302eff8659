// Log streams count against the client's rate limiter: every `pods/log` request (first open and each
// reconnection) waits for a token from the same bucket as the API calls, so a reconnect loop cannot
// exceed the configured QPS. A local HTTP server stands in for the API server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { createKubeClients, TokenBucket } from '../../../src/kubernetes/index.ts';
import type { LimiterClock } from '../../../src/kubernetes/index.ts';
import { requestLog } from '../../../src/kubernetes/lifecycle/logRequest.ts';

/** A limiter clock that never advances by itself: a waiting take() stays blocked until `release`. */
function manualClock(): LimiterClock & { release(): void; sleeping(): number } {
  let now = 0;
  const sleepers: (() => void)[] = [];
  return {
    now: () => now,
    sleep: () => new Promise<void>((resolve) => sleepers.push(resolve)),
    release() {
      now += 60_000;
      for (const wake of sleepers.splice(0)) wake();
    },
    sleeping: () => sleepers.length,
  };
}

void describe('pods/log requests and the rate limiter', () => {
  let server: Server;
  let requests = 0;
  let kubeConfig: KubeConfig;
  before(async () => {
    server = createServer((_req, res) => {
      requests += 1;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('2026-11-23T10:00:00.000000000Z hello\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  void test('a log request waits for a token of the shared bucket', async () => {
    const clock = manualClock();
    const limiter = new TokenBucket({ qps: 1, burst: 1, clock });
    const clients = createKubeClients(kubeConfig, { limiter });
    assert.ok(clients.streamPermit, 'the client set exposes its limiter to streams');
    await clients.streamPermit(); // the only token: the bucket is empty now
    let text = '';
    const pending = requestLog({
      kubeConfig, namespace: 'ns', pod: 'p', query: { container: 'base', follow: false, timestamps: true },
      onChunk: (c) => { text += Buffer.from(c).toString('utf8'); }, idleTimeoutMs: 5000,
      signal: new AbortController().signal, permit: clients.streamPermit,
    });
    // The request is parked in the limiter: it sleeps for a refill and nothing reached the server.
    const deadline = Date.now() + 5000;
    while (clock.sleeping() === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    assert.equal(clock.sleeping(), 1);
    assert.equal(requests, 0);
    clock.release();
    assert.deepEqual(await pending, { kind: 'end' });
    assert.equal(requests, 1);
    assert.match(text, /hello/);
  });
});
