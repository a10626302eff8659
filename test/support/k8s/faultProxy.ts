// A fault-injecting HTTPS proxy in front of the test cluster's API server.
// Clients talk to it exactly as to the API server (same paths, TLS trusted by
// the cluster CA, bearer-token auth forwarded untouched); rules injected by a
// test turn chosen requests into 5xx/429 Status answers, delays, connection
// resets, dropped watches or a watch that ends with 410 Expired.
import { createServer } from 'node:https';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { apiStatus, expiredWatchEvent } from './apiStatus.ts';
import { writeKubeconfig } from './kubeconfig.ts';

/** Which requests a rule applies to; every given field must match. */
export interface FaultMatch {
  /** HTTP method, e.g. 'GET' (case-insensitive). */
  method?: string;
  /** Substring of, or pattern for, the path without the query (e.g. '/api/v1/namespaces/x/pods'). */
  path?: string | RegExp;
  /** true: only watch requests; false: only non-watch requests. */
  watch?: boolean;
  /** Any other test, e.g. on `query.get('resourceVersion')`. */
  where?: (request: { method: string; path: string; query: URLSearchParams }) => boolean;
}

/** What happens to a matched request. */
export type FaultAction =
  /** Answer with this status code and a Status body (Retry-After header when retryAfterSeconds is set). */
  | { kind: 'status'; code: number; reason?: string; message?: string; retryAfterSeconds?: number }
  /** Wait, then forward as usual (a slow server). */
  | { kind: 'delay'; ms: number }
  /** Destroy the client's connection without answering (ECONNRESET on the client). */
  | { kind: 'reset' }
  /**
   * Forward, then cut the response stream after `afterEvents` watch events
   * (lines) or `afterMs`, whichever comes first: a clean end of the chunked
   * body by default, a TCP reset with `reset: true`.
   */
  | { kind: 'dropWatch'; afterEvents?: number; afterMs?: number; reset?: boolean }
  /** Answer a watch with 200 and a single ERROR event carrying 410 Expired, as the API server does. */
  | { kind: 'expireWatch'; message?: string };

/** A rule given to {@link FaultProxy.inject}. */
export interface FaultRule {
  match?: FaultMatch;
  action: FaultAction;
  /** How many matching requests to affect before the rule retires itself (default: all). */
  times?: number;
}

/** An injected rule, to look at or remove. */
export interface Fault {
  readonly rule: FaultRule;
  /** Requests this rule has affected so far. */
  readonly hits: number;
  remove(): void;
}

/** One request the proxy has seen. */
export interface ProxiedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  watch: boolean;
  /** Kind of the fault applied, if any. */
  fault?: FaultAction['kind'];
  /** Status sent to the client; undefined while streaming or when reset. */
  status?: number;
}

/** A running proxy: see {@link startFaultProxy}. */
export interface FaultProxy {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  /** Kubeconfig pointing at the proxy with a cluster-admin token. */
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  /** Every request seen, oldest first. */
  readonly requests: readonly ProxiedRequest[];
  /** Adds a rule; earlier rules win when several match. */
  inject(rule: FaultRule): Fault;
  /** Removes every rule. */
  clear(): void;
  /** Ends every watch stream open now (reset: a TCP reset instead of a clean end). Returns how many. */
  dropWatches(options?: { reset?: boolean }): number;
  /** Resolves with the first request (already seen or future) that satisfies `predicate`. */
  waitForRequest(predicate: (request: ProxiedRequest) => boolean, timeoutMs?: number): Promise<ProxiedRequest>;
  close(): Promise<void>;
}

/** Where the proxy forwards to and how it presents itself. */
export interface FaultProxyOptions {
  /** API server URL, e.g. https://127.0.0.1:6443 */
  upstream: string;
  caCert: string;
  servingCert: string;
  servingKey: string;
  /** Bearer token written into the proxy's kubeconfig. */
  token: string;
  /** Directory for the kubeconfig file. */
  dir: string;
}

interface ActiveRule {
  rule: FaultRule;
  hits: number;
  removed: boolean;
}

interface OpenWatch {
  end(reset: boolean): void;
}

function isWatch(path: string, query: URLSearchParams): boolean {
  const w = query.get('watch');
  return w === 'true' || w === '1' || /^\/apis?\/(?:[^/]+\/)*watch\//.test(path);
}

function matches(match: FaultMatch | undefined, req: { method: string; path: string; query: URLSearchParams; watch: boolean }): boolean {
  if (match === undefined) return true;
  if (match.method !== undefined && match.method.toUpperCase() !== req.method) return false;
  if (match.watch !== undefined && match.watch !== req.watch) return false;
  if (typeof match.path === 'string' && !req.path.includes(match.path)) return false;
  if (match.path instanceof RegExp && !match.path.test(req.path)) return false;
  if (match.where !== undefined && !match.where(req)) return false;
  return true;
}

/**
 * Starts a proxy on a free loopback port.
 *
 * @example
 * const proxy = await cluster.startFaultProxy();
 * proxy.inject({ match: { method: 'POST', path: '/pods' }, action: { kind: 'status', code: 429, retryAfterSeconds: 1 }, times: 1 });
 * const core = proxy.kubeConfig.makeApiClient(CoreV1Api); // the first pod create gets 429, the retry goes through
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const ca = readFileSync(options.caCert);
  const upstream = new URL(options.upstream);
  const agent = new Agent({ keepAlive: true, ca });
  const rules: ActiveRule[] = [];
  const requests: ProxiedRequest[] = [];
  const waiters = new Set<(r: ProxiedRequest) => void>();
  const openWatches = new Set<OpenWatch>();
  // The raw TCP sockets by client port: a reset must hit TCP, beneath TLS.
  const sockets = new Map<number, Socket>();

  const resetConnection = (tlsSocket: Socket): void => {
    const raw = tlsSocket.remotePort === undefined ? undefined : sockets.get(tlsSocket.remotePort);
    if (raw) raw.resetAndDestroy();
    else tlsSocket.destroy();
  };

  const record = (entry: ProxiedRequest): void => {
    requests.push(entry);
    for (const waiter of waiters) waiter(entry);
  };

  const takeRule = (req: { method: string; path: string; query: URLSearchParams; watch: boolean }): FaultAction | undefined => {
    for (const active of rules) {
      if (active.removed || !matches(active.rule.match, req)) continue;
      active.hits += 1;
      if (active.rule.times !== undefined && active.hits >= active.rule.times) active.removed = true;
      return active.rule.action;
    }
    return undefined;
  };

  const forward = (req: IncomingMessage, res: ServerResponse, entry: ProxiedRequest, cut?: Extract<FaultAction, { kind: 'dropWatch' }>): void => {
    const upstreamReq = httpsRequest({
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: upstream.host },
      agent,
    }, (upstreamRes) => {
      entry.status = upstreamRes.statusCode;
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      res.flushHeaders();
      let events = 0;
      let timer: NodeJS.Timeout | undefined;
      const watch: OpenWatch = {
        end(reset) {
          if (timer) clearTimeout(timer);
          openWatches.delete(watch);
          upstreamRes.unpipe(res);
          upstreamReq.destroy();
          if (reset && res.socket) resetConnection(res.socket);
          else res.end();
        },
      };
      if (entry.watch) openWatches.add(watch);
      if (cut?.afterMs !== undefined) timer = setTimeout(() => watch.end(cut.reset ?? false), cut.afterMs);
      upstreamRes.on('data', (chunk: Buffer) => {
        if (!res.write(chunk)) {
          upstreamRes.pause();
          res.once('drain', () => upstreamRes.resume());
        }
        if (cut?.afterEvents !== undefined) {
          for (const byte of chunk) if (byte === 0x0a) events += 1;
          if (events >= cut.afterEvents) watch.end(cut.reset ?? false);
        }
      });
      upstreamRes.on('end', () => {
        if (timer) clearTimeout(timer);
        openWatches.delete(watch);
        res.end();
      });
      res.on('close', () => {
        openWatches.delete(watch);
        upstreamReq.destroy();
      });
    });
    upstreamReq.on('error', () => {
      if (!res.headersSent) {
        const body = JSON.stringify(apiStatus(503, { message: 'capstan fault proxy: upstream unreachable' }));
        res.writeHead(503, { 'content-type': 'application/json' }).end(body);
      } else {
        res.destroy();
      }
    });
    req.pipe(upstreamReq);
  };

  const server: Server = createServer(
    { cert: readFileSync(options.servingCert), key: readFileSync(options.servingKey) },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://proxy');
      const method = (req.method ?? 'GET').toUpperCase();
      const watch = isWatch(url.pathname, url.searchParams);
      const entry: ProxiedRequest = { method, path: url.pathname, query: url.searchParams, watch };
      const action = takeRule(entry);
      if (action !== undefined) entry.fault = action.kind;
      record(entry);
      switch (action?.kind) {
        case undefined:
          forward(req, res, entry);
          return;
        case 'status': {
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (action.retryAfterSeconds !== undefined) headers['retry-after'] = String(action.retryAfterSeconds);
          entry.status = action.code;
          req.resume();
          res.writeHead(action.code, headers).end(JSON.stringify(apiStatus(action.code, action)));
          return;
        }
        case 'delay':
          setTimeout(() => forward(req, res, entry), action.ms);
          return;
        case 'reset':
          resetConnection(req.socket);
          return;
        case 'dropWatch':
          forward(req, res, entry, action);
          return;
        case 'expireWatch':
          entry.status = 200;
          req.resume();
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(expiredWatchEvent(action.message));
          return;
      }
    },
  );
  // exec, attach and port-forward upgrade the connection: pass those through untouched.
  server.on('upgrade', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    const upstreamSocket = tlsConnect({ host: upstream.hostname, port: Number(upstream.port), ca, servername: 'localhost' }, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstreamSocket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstreamSocket.write(head);
      upstreamSocket.pipe(client).pipe(upstreamSocket);
    });
    upstreamSocket.on('error', () => client.destroy());
    client.on('error', () => upstreamSocket.destroy());
  });
  server.on('connection', (socket: Socket) => {
    const port = socket.remotePort;
    if (port === undefined) return;
    sockets.set(port, socket);
    socket.on('close', () => sockets.delete(port));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fault proxy has no TCP address');
  const url = `https://127.0.0.1:${address.port}`;
  const kubeconfigPath = join(options.dir, `fault-proxy-${address.port}.kubeconfig`);
  await writeKubeconfig(kubeconfigPath, url, options.caCert, { token: options.token });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);

  return {
    url,
    kubeconfigPath,
    kubeConfig,
    requests,
    inject(rule) {
      const active: ActiveRule = { rule, hits: 0, removed: false };
      rules.push(active);
      return {
        rule,
        get hits() {
          return active.hits;
        },
        remove() {
          active.removed = true;
        },
      };
    },
    clear() {
      for (const r of rules) r.removed = true;
      rules.length = 0;
    },
    dropWatches({ reset = false } = {}) {
      const open = [...openWatches];
      for (const w of open) w.end(reset);
      return open.length;
    },
    waitForRequest(predicate, timeoutMs = 10_000) {
      const seen = requests.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`fault proxy: no matching request within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = (r: ProxiedRequest): void => {
          if (!predicate(r)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(r);
        };
        waiters.add(waiter);
      });
    },
    async close() {
      for (const w of [...openWatches]) w.end(true);
      for (const s of sockets.values()) s.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
