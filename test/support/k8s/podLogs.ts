// Container logs for simulated pods, served where a kubelet would serve them.
// The simulated node advertises this server as its kubelet endpoint, so the
// API server's real pods/log endpoint proxies to it. It answers
// GET /containerLogs/{namespace}/{pod}/{container} like a kubelet: the
// container's log text (from setPodLogs files or the pod's annotations),
// honouring tailLines, limitBytes and timestamps; with follow=true the
// stream sends lines added later and stays open until the container has
// terminated, as it does with a kubelet (kwok's own log server never ends a
// followed stream).
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, makeInformer } from '@kubernetes/client-node';
import type { KubeConfig, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';

/** Log text for every container, or per container name. */
export type PodLogs = string | Readonly<Record<string, string>>;

/** Pod annotation whose value becomes the log of every container without its own. */
export const LOGS_ANNOTATION = 'capstan.test/logs';
/** Prefix of the per-container log annotation: `capstan.test/logs.<container>`. */
export const CONTAINER_LOGS_ANNOTATION_PREFIX = 'capstan.test/logs.';
/**
 * Prefix of the per-container latency annotation: `capstan.test/log-latency.<container>` = milliseconds the
 * server waits before it answers a log request of that container (a slow or busy node's kubelet).
 */
export const LOG_LATENCY_ANNOTATION_PREFIX = 'capstan.test/log-latency.';

const ALL_CONTAINERS_FILE = '_all.log';

/**
 * Writes `logs` for `pod` under `logsDir`, where the log server finds them
 * before any annotation. Works from any process attached to the cluster.
 */
export async function writePodLogs(logsDir: string, namespace: string, pod: string, logs: PodLogs): Promise<void> {
  const podDir = join(logsDir, namespace, pod);
  await mkdir(podDir, { recursive: true });
  if (typeof logs === 'string') {
    await writeFile(join(podDir, ALL_CONTAINERS_FILE), logs);
    return;
  }
  for (const [container, text] of Object.entries(logs)) {
    await writeFile(join(podDir, `${container}.log`), text);
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The log text of `container`: setPodLogs files first, then annotations, else empty. */
async function logText(logsDir: string, pod: V1Pod, container: string): Promise<string> {
  const namespace = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  const podDir = join(logsDir, namespace, name);
  const annotations = pod.metadata?.annotations ?? {};
  return (
    (await readIfExists(join(podDir, `${container}.log`))) ??
    (await readIfExists(join(podDir, ALL_CONTAINERS_FILE))) ??
    annotations[`${CONTAINER_LOGS_ANNOTATION_PREFIX}${container}`] ??
    annotations[LOGS_ANNOTATION] ??
    ''
  );
}

/**
 * Applies the kubelet's log options to `text`. Line i was "written" at `at` + i ms (a stable timestamp,
 * as a runtime records it), so `timestamps` and `sinceTime` (inclusive, as the kubelet applies it)
 * behave the same on every request.
 */
export function renderLog(
  text: string,
  options: { tailLines?: number; limitBytes?: number; timestamps?: boolean; at?: Date; sinceTime?: Date },
): string {
  const base = (options.at ?? new Date()).getTime();
  let lines = (text === '' ? [] : text.replace(/\n$/, '').split('\n')).map((line, i) => ({ line, ms: base + i }));
  if (options.sinceTime !== undefined) {
    const since = options.sinceTime.getTime();
    lines = lines.filter((l) => l.ms >= since);
  }
  if (options.tailLines !== undefined) lines = options.tailLines === 0 ? [] : lines.slice(-options.tailLines);
  const stamp = (ms: number): string => (options.timestamps ? `${new Date(ms).toISOString().replace('Z', '000000Z')} ` : '');
  let out = lines.map((l) => `${stamp(l.ms)}${l.line}\n`).join('');
  if (options.limitBytes !== undefined) out = Buffer.from(out).subarray(0, options.limitBytes).toString('utf8');
  return out;
}

/** When `container` started (its log's first timestamp), if it did. */
function startedAt(pod: V1Pod, container: string): Date | undefined {
  const state = containerStatus(pod, container)?.state;
  const t = state?.running?.startedAt ?? state?.terminated?.startedAt;
  return t === undefined ? undefined : new Date(t);
}

function optionalDate(value: string | null): Date | undefined {
  if (value === null || value === '') return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function containerStatus(pod: V1Pod, container: string): V1ContainerStatus | undefined {
  const all = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  return all.find((s) => s.name === container);
}

function hasContainer(pod: V1Pod, container: string): boolean {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].some((c) => c.name === container);
}

const isTerminated = (pod: V1Pod | undefined, container: string): boolean =>
  pod === undefined || containerStatus(pod, container)?.state?.terminated !== undefined;

function optionalInt(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** Handle of {@link startLogServer}. */
export interface LogServer {
  stop(): Promise<void>;
}

/**
 * Serves container logs on 127.0.0.1:`port` over TLS, reading pods through
 * an informer so a followed stream ends as soon as its container terminates.
 */
export async function startLogServer(options: {
  kc: KubeConfig;
  logsDir: string;
  port: number;
  cert: string;
  key: string;
}): Promise<LogServer> {
  const core = options.kc.makeApiClient(CoreV1Api);
  const informer = makeInformer(options.kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
  const followers = new Set<() => void>();
  let stopped = false;
  const notify = (): void => {
    for (const follower of [...followers]) follower();
  };
  informer.on('update', notify);
  informer.on('delete', notify);
  informer.on('error', () => {
    if (!stopped) setTimeout(() => void informer.start().catch(() => {}), 500);
  });
  await informer.start();

  const findPod = (namespace: string, name: string): V1Pod | undefined =>
    informer.get(name, namespace) ?? undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const match = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (match === null) {
      res.writeHead(404).end('not found');
      return;
    }
    const [, namespace = '', name = '', container = ''] = match.map(decodeURIComponent);
    let pod = findPod(namespace, name);
    if (pod === undefined) {
      // The informer may lag a pod created a moment ago.
      pod = await core.readNamespacedPod({ namespace, name }).catch(() => undefined);
    }
    if (pod === undefined || !hasContainer(pod, container)) {
      res.writeHead(404).end(`container "${container}" in pod "${name}" is not available`);
      return;
    }
    const waiting = containerStatus(pod, container)?.state?.waiting;
    if (waiting !== undefined || containerStatus(pod, container) === undefined) {
      res.writeHead(400).end(
        `container "${container}" in pod "${name}" is waiting to start: ${waiting?.reason ?? 'ContainerCreating'}`);
      return;
    }
    const latency = optionalInt(pod.metadata?.annotations?.[`${LOG_LATENCY_ANNOTATION_PREFIX}${container}`] ?? null);
    if (latency !== undefined) await new Promise((resolve) => setTimeout(resolve, latency));
    if (url.searchParams.get('previous') === 'true') {
      res.writeHead(400).end(`previous terminated container "${container}" in pod "${name}" not found`);
      return;
    }
    const render = (source: string): string => renderLog(source, {
      tailLines: optionalInt(url.searchParams.get('tailLines')),
      limitBytes: optionalInt(url.searchParams.get('limitBytes')),
      timestamps: url.searchParams.get('timestamps') === 'true',
      sinceTime: optionalDate(url.searchParams.get('sinceTime')),
      at: startedAt(pod, container),
    });
    const source = await logText(options.logsDir, pod, container);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write(render(source));
    if (url.searchParams.get('follow') !== 'true' || isTerminated(pod, container)) {
      res.end();
      return;
    }
    // Like a kubelet, a followed stream sends the lines the container writes later (setPodLogs growing the
    // text), polled here: the complete lines past what was sent, rendered with the same options.
    let sent = source.endsWith('\n') || source === '' ? source : source.slice(0, source.lastIndexOf('\n') + 1);
    const tick = setInterval(() => {
      const current = findPod(namespace, name);
      if (current === undefined) return;
      void logText(options.logsDir, current, container).then((now) => {
        const complete = now.slice(0, now.lastIndexOf('\n') + 1);
        if (!complete.startsWith(sent) || complete.length === sent.length || res.writableEnded) return;
        const before = render(sent);
        const after = render(complete);
        if (after.startsWith(before)) res.write(after.slice(before.length));
        sent = complete;
      }, () => undefined);
    }, 200);
    const follower = (): void => {
      if (!isTerminated(findPod(namespace, name), container)) return;
      followers.delete(follower);
      clearInterval(tick);
      res.end();
    };
    followers.add(follower);
    res.on('close', () => {
      followers.delete(follower);
      clearInterval(tick);
    });
  };

  const server = createServer(
    { cert: readFileSync(options.cert), key: readFileSync(options.key) },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(err));
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  return {
    async stop() {
      stopped = true;
      await informer.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
