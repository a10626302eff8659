/**
 * Follows one container's log into a callback as it is written, surviving cut streams: every stream is
 * opened with `timestamps=true`, and a reopened stream starts at the last timestamp seen (see
 * logCursor.ts), so no line is lost or repeated. It never hangs: a stream silent for `idleTimeoutMs` is
 * reopened, a stream still open `terminatedGraceMs` after the container terminated is closed, and the
 * tail is then fetched once without `follow`.
 */
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { abortableDelay } from '../../core/index.ts';
import { backoffMs } from '../watch/listWatch.ts';
import { LineSplitter, LogCursor, parseTimedLine } from './logCursor.ts';
import { requestLog } from './logRequest.ts';
import type { LogRequestEnd } from './logRequest.ts';
import type { PodSnapshot, PodWatcher } from './podWatcher.ts';
import { hasStarted, hasTerminated, isPodTerminal } from './podState.ts';

/** One delivered log line. */
export interface LogLine {
  container: string;
  /** The line without its timestamp or newline. */
  text: string;
  /** RFC3339Nano timestamp given by the runtime, when there was one. */
  timestamp: string | undefined;
}

/** Options of {@link followContainerLogs}. */
export interface FollowLogsOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  pod: string;
  container: string;
  watcher: PodWatcher;
  onLine: (line: LogLine) => void;
  /** Told about each reconnect, for the task log. */
  onReconnect?: (reason: string) => void;
  signal: AbortSignal;
  /** Reopen a stream silent this long while the container runs (default 60 000). */
  idleTimeoutMs?: number;
  /** Close a stream still open this long after the container terminated (default 2000). */
  terminatedGraceMs?: number;
  /** Rate-limiter token per request, including every reconnection (`KubeClients.streamPermit`). */
  permit?: (() => Promise<void>) | undefined;
  /** Continue after what an earlier follower delivered (a deferred task's trigger); default: the whole log. */
  cursor?: LogCursor | undefined;
}

type Phase = 'started' | 'finished' | 'gone';

function phaseOf(s: PodSnapshot, container: string): Phase | undefined {
  if (s.deleted || s.pod === undefined) return s.pod !== undefined && hasStarted(s.pod, container) ? 'finished' : 'gone';
  if (hasTerminated(s.pod, container)) return 'finished';
  if (hasStarted(s.pod, container)) return 'started';
  return isPodTerminal(s.pod) ? 'gone' : undefined;
}

/**
 * Follows several containers of one pod in the order a kubelet runs them: the init containers one after
 * another in spec order, then every other container side by side. An init container has finished before the
 * next one (and the pod's containers) start, so reading it in full first puts its lines above theirs in the
 * task log, as Airflow prints init-container logs first, even when a stream opens late (a busy node, a worker
 * that attached to a running pod). Native sidecars (init containers with `restartPolicy: Always`) run beside
 * the pod's containers and are followed with them. Resolves when every follower has; never rejects.
 *
 * @example
 * await followInPodOrder(pod, ['base', 'git-sync'], (container) => followContainerLogs({ ...options, container }));
 */
export async function followInPodOrder(pod: V1Pod | undefined, containers: readonly string[], follow: (container: string) => Promise<void>): Promise<void> {
  const inits = (pod?.spec?.initContainers ?? []).filter((c) => c.restartPolicy !== 'Always').map((c) => c.name);
  for (const name of inits) {
    if (containers.includes(name)) await Promise.allSettled([follow(name)]);
  }
  await Promise.allSettled(containers.filter((c) => !inits.includes(c)).map(follow));
}

/** Resolves once the container's whole log was delivered, the pod is gone, or `signal` aborts. */
export async function followContainerLogs(options: FollowLogsOptions): Promise<void> {
  const { signal, container, watcher } = options;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const cursor = options.cursor ?? new LogCursor();
  const deliver = (raw: string): void => {
    const line = parseTimedLine(raw);
    if (cursor.accept(line)) options.onLine({ container, text: line.text, timestamp: line.timestamp });
  };
  let attempt = 0;
  while (!signal.aborted) {
    const phase = await watcher.until((s) => phaseOf(s, container), { signal });
    if (phase === undefined || phase === 'gone') return;
    if (phase === 'finished') {
      await readTail(options, cursor, deliver);
      return;
    }
    const end = await followOnce(options, cursor, deliver, idleTimeoutMs);
    if (signal.aborted) return;
    const over = (s: PodSnapshot): true | undefined => {
      const p = phaseOf(s, container);
      return p === 'finished' || p === 'gone' ? true : undefined;
    };
    // A stream the server ended is usually the container terminating, seen here a moment before the
    // watch reports it: give the watch that moment before treating the end as a cut.
    if (end.kind === 'end') await watcher.until(over, { timeoutMs: 1000, signal });
    const now = phaseOf(watcher.snapshot, container);
    if (now === 'finished' || now === 'gone') {
      await readTail(options, cursor, deliver);
      return;
    }
    if (end.kind === 'status' && end.code === 404) return;
    attempt = end.kind === 'idle' ? 0 : attempt + 1;
    options.onReconnect?.(describeEnd(end));
    if (attempt > 0) await abortableDelay(backoffMs(attempt, 100, 5000), signal);
  }
}

function describeEnd(end: LogRequestEnd): string {
  switch (end.kind) {
    case 'status': return `log request failed (${end.code}): ${end.message}`;
    case 'cut': return `log stream cut: ${end.error}`;
    case 'idle': return 'log stream idle, reopening';
    case 'end': return 'log stream ended while the container runs';
    case 'aborted': return 'log stream aborted';
  }
}

/** One followed stream; ends on a cut, on idleness, or shortly after the container terminated. */
async function followOnce(options: FollowLogsOptions, cursor: LogCursor, deliver: (raw: string) => void, idleTimeoutMs: number): Promise<LogRequestEnd> {
  const attempt = new AbortController();
  const onAbort = (): void => attempt.abort();
  options.signal.addEventListener('abort', onAbort, { once: true });
  let grace: NodeJS.Timeout | undefined;
  const armGrace = (s: PodSnapshot): void => {
    if (grace !== undefined) return;
    const phase = phaseOf(s, options.container);
    if (phase === 'finished' || phase === 'gone') {
      grace = setTimeout(() => attempt.abort(), options.terminatedGraceMs ?? 2000);
    }
  };
  const unsubscribe = options.watcher.subscribe(armGrace);
  armGrace(options.watcher.snapshot);
  const splitter = new LineSplitter();
  cursor.beginStream();
  try {
    return await requestLog({
      kubeConfig: options.kubeConfig,
      namespace: options.namespace,
      pod: options.pod,
      query: { container: options.container, follow: true, timestamps: true, ...sinceTime(cursor) },
      onChunk: (chunk) => {
        for (const raw of splitter.push(chunk)) deliver(raw);
      },
      idleTimeoutMs,
      signal: attempt.signal,
      permit: options.permit,
    });
  } finally {
    unsubscribe();
    if (grace !== undefined) clearTimeout(grace);
    options.signal.removeEventListener('abort', onAbort);
  }
}

function sinceTime(cursor: LogCursor): { sinceTime?: string } {
  const since = cursor.sinceTime();
  return since === undefined ? {} : { sinceTime: since };
}

/** Reads the rest of a terminated container's log without following (a few tries on transient cuts). */
async function readTail(options: FollowLogsOptions, cursor: LogCursor, deliver: (raw: string) => void): Promise<void> {
  for (let attempt = 1; attempt <= 3 && !options.signal.aborted; attempt++) {
    const splitter = new LineSplitter();
    const lines: string[] = [];
    const end = await requestLog({
      kubeConfig: options.kubeConfig,
      namespace: options.namespace,
      pod: options.pod,
      query: { container: options.container, follow: false, timestamps: true, ...sinceTime(cursor) },
      onChunk: (chunk) => lines.push(...splitter.push(chunk)),
      idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
      signal: options.signal,
      permit: options.permit,
    });
    if (end.kind === 'end') {
      cursor.beginStream();
      for (const raw of lines) deliver(raw);
      const rest = splitter.rest();
      if (rest !== undefined) deliver(rest);
      return;
    }
    if (end.kind === 'aborted' || (end.kind === 'status' && end.code >= 400 && end.code < 500)) return;
    options.onReconnect?.(describeEnd(end));
    await abortableDelay(backoffMs(attempt, 100, 2000), options.signal);
  }
}
