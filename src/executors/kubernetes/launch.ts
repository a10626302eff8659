/**
 * Launching worker pods: tries wait in a queue; up to `podCreationConcurrency` creates are in flight at once,
 * each through the client's token-bucket rate limiter. Retryable refusals (quota exceeded, 409, 429, 5xx, no
 * answer) go back to the queue with capped exponential backoff, up to `podCreationMaxRetries`; the rest (422,
 * RBAC, a missing namespace, a bad template) fail the try with the API's message.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { errorMessage } from '../../core/index.ts';
import type { JsonObject } from '../../core/index.ts';
import { KubernetesApiError } from '../../kubernetes/index.ts';
import type { TaskWorkload } from '../types.ts';
import type { ExecutorState, Tracked } from './state.ts';
import { buildWorkerPod } from './workerPod.ts';

/** Extra lifetime of a worker pod's token beyond its pending and execution timeouts. */
const TOKEN_MARGIN_MS = 15 * 60_000;

/** Create refusals worth another attempt: capacity, contention or a server that did not answer properly. */
const RETRYABLE_CREATE = new Set(['quota_exceeded', 'conflict', 'too_many_requests', 'server_error', 'network']);

/** Starts the creates of waiting tries while fewer than `podCreationConcurrency` are in flight. */
export function pump(s: ExecutorState): void {
  if (s.stop.signal.aborted) return;
  const now = s.o.now();
  let next = Infinity;
  for (const t of s.tracked.values()) {
    if (s.inFlight >= s.o.settings.podCreationConcurrency) break;
    if (t.stage !== 'waiting') continue;
    if (t.notBefore > now) {
      next = Math.min(next, t.notBefore);
      continue;
    }
    s.inFlight++;
    t.stage = 'creating';
    void create(s, t).finally(() => {
      s.inFlight--;
      pump(s);
    });
  }
  if (next !== Infinity) {
    if (s.pumpTimer) clearTimeout(s.pumpTimer);
    s.pumpTimer = setTimeout(() => pump(s), Math.max(1, next - now));
    s.pumpTimer.unref();
  }
}

async function create(s: ExecutorState, t: Tracked): Promise<void> {
  const w = t.workload;
  let pod: V1Pod;
  try {
    pod = t.pod === undefined ? await build(s, w) : await build(s, w, t.pod.name);
  } catch (err) {
    s.metrics?.podCreateFailures.inc({ reason: 'invalid_pod' });
    s.launchFailed(t, `the worker pod cannot be built: ${errorMessage(err)}`, false);
    return;
  }
  // The name is kept across create retries: a create whose answer was lost may have happened, and the
  // retry's 409 then means "created", never a second pod for the try.
  t.pod = { name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '' };
  const started = performance.now();
  try {
    await s.clients.core.createNamespacedPod({ namespace: t.pod.namespace, body: pod });
  } catch (err) {
    const kind = err instanceof KubernetesApiError ? err.kind : 'network';
    if (kind !== 'already_exists') {
      s.metrics?.podCreateFailures.inc({ reason: kind });
      createRefused(s, t, err, kind);
      return;
    }
  }
  s.metrics?.createDuration.observe((performance.now() - started) / 1000);
  s.metrics?.podsCreated.inc();
  s.metrics?.queuedToCreated.observe((performance.now() - t.handedAt) / 1000);
  if (t.stage === 'killed') {
    await s.deletePod(t.pod.namespace, t.pod.name);
    return;
  }
  t.stage = 'created';
  t.createdAt = performance.now();
  t.createdAtMs = s.o.now();
  // The watch may have delivered the pod before the create returned.
  if (t.last !== undefined) s.onSnapshot(t.last, t.lastDeleted);
}

function createRefused(s: ExecutorState, t: Tracked, err: unknown, kind: string): void {
  if (t.stage === 'killed') return;
  const message = errorMessage(err);
  if (RETRYABLE_CREATE.has(kind) && t.createRetries < s.o.settings.podCreationMaxRetries) {
    t.createRetries++;
    const base = s.o.createBackoffMs ?? 500;
    const cap = s.o.createBackoffMaxMs ?? 30_000;
    const delay = Math.min(cap, base * 2 ** (t.createRetries - 1));
    t.notBefore = s.o.now() + Math.round(delay / 2 + Math.random() * (delay / 2));
    t.stage = 'waiting';
    s.o.logger.warn({ tiId: t.workload.tiId, tryNumber: t.workload.tryNumber, kind, retry: t.createRetries, err: message }, 'worker pod create refused; will retry');
    return;
  }
  const why = RETRYABLE_CREATE.has(kind) ? ` (gave up after ${t.createRetries} retries)` : '';
  s.launchFailed(t, `worker pod create refused: ${message}${why}`, RETRYABLE_CREATE.has(kind));
}

async function build(s: ExecutorState, w: TaskWorkload, name?: string): Promise<V1Pod> {
  const executorConfig = await executorConfigOf(s, w);
  const pod = buildWorkerPod({
    workload: w,
    executorId: s.executorId,
    executionApiUrl: s.o.executionApiUrl,
    token: s.o.tokens.issue(w.tiId, w.tryNumber, s.o.now(), tokenTtlMs(s, w)),
    namespace: s.o.settings.namespace,
    watched: s.watched,
    multiNamespaceMode: s.o.settings.multiNamespaceMode,
    image: s.o.settings.workerContainerImage,
    baseTemplate: s.connection?.baseTemplate,
    executorConfig,
    podMutationHook: s.connection?.podMutationHook,
    env: s.o.workerEnv,
    randomSuffix: s.o.randomSuffix,
  });
  if (name !== undefined && pod.metadata !== undefined) pod.metadata.name = name;
  return pod;
}

/**
 * The token sits in the pod spec (readable with `pods get`), so it lives no longer than the try can: the pod
 * may wait up to the pending timeout, then run up to the execution timeout; the margin covers API outages the
 * worker rides out. Without an execution timeout, `api.taskTokenTtlMs` applies.
 */
function tokenTtlMs(s: ExecutorState, w: TaskWorkload): number | undefined {
  return w.executionTimeoutMs === null ? undefined : s.o.settings.workerPodsPendingTimeoutMs + w.executionTimeoutMs + TOKEN_MARGIN_MS;
}

async function executorConfigOf(s: ExecutorState, w: TaskWorkload): Promise<JsonObject | undefined> {
  const dag = s.o.dags.peek(w.dagId) ?? (await s.o.dags.get(w.dagId));
  return dag.tasks.get(w.taskId)?.executorConfig;
}
