/**
 * Prometheus metrics of the KubernetesExecutor, registered on the process registry (`engine.metrics.registry`),
 * so they appear on the scheduler's /metrics endpoint. Registering twice on one registry (two executors in one
 * process, e.g. under LocalKubernetesExecutor routing) returns the metrics already there.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Named handles on the executor's metrics. */
export interface KubernetesExecutorMetrics {
  /** `capstan_kubernetes_executor_pods_created_total`: worker pods the API server accepted. */
  podsCreated: Counter;
  /** `capstan_kubernetes_executor_pod_create_failures_total{reason}`: refused creates, by error kind (`quota_exceeded`, `forbidden`, …). */
  podCreateFailures: Counter<'reason'>;
  /** `capstan_kubernetes_executor_pods{state}`: this executor's pods now `pending` (not yet running) and `running`. */
  pods: Gauge<'state'>;
  /** `capstan_kubernetes_executor_pod_create_duration_seconds`: one create request (including client retries). */
  createDuration: Histogram;
  /** `capstan_kubernetes_executor_queued_to_created_seconds`: from the try handed to the executor to its pod created. */
  queuedToCreated: Histogram;
  /** `capstan_kubernetes_executor_watch_restarts_total{namespace}`: pod watches that failed and were reconnected or re-listed. */
  watchRestarts: Counter<'namespace'>;
  /** `capstan_kubernetes_executor_adoptions_total`: pods of dead schedulers taken over. */
  adoptions: Counter;
  /** `capstan_kubernetes_executor_pod_relaunches_total`: pods relaunched because they failed before the task started. */
  relaunches: Counter;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

function once<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** Registers (or finds) the executor's metrics on `registry`. */
export function kubernetesExecutorMetrics(registry: Registry): KubernetesExecutorMetrics {
  const registers = [registry];
  return {
    podsCreated: once(registry, 'capstan_kubernetes_executor_pods_created_total', () =>
      new Counter({ name: 'capstan_kubernetes_executor_pods_created_total', help: 'Worker pods created', registers })),
    podCreateFailures: once(registry, 'capstan_kubernetes_executor_pod_create_failures_total', () =>
      new Counter({ name: 'capstan_kubernetes_executor_pod_create_failures_total', help: 'Worker pod creates refused, by error kind', labelNames: ['reason'] as const, registers })),
    pods: once(registry, 'capstan_kubernetes_executor_pods', () =>
      new Gauge({ name: 'capstan_kubernetes_executor_pods', help: 'Worker pods of this executor by state (pending, running)', labelNames: ['state'] as const, registers })),
    createDuration: once(registry, 'capstan_kubernetes_executor_pod_create_duration_seconds', () =>
      new Histogram({ name: 'capstan_kubernetes_executor_pod_create_duration_seconds', help: 'Duration of one worker pod create request', buckets: LATENCY_BUCKETS, registers })),
    queuedToCreated: once(registry, 'capstan_kubernetes_executor_queued_to_created_seconds', () =>
      new Histogram({ name: 'capstan_kubernetes_executor_queued_to_created_seconds', help: 'Time from a try handed to the executor to its pod created', buckets: LATENCY_BUCKETS, registers })),
    watchRestarts: once(registry, 'capstan_kubernetes_executor_watch_restarts_total', () =>
      new Counter({ name: 'capstan_kubernetes_executor_watch_restarts_total', help: 'Worker pod watches reconnected or re-listed after a failure', labelNames: ['namespace'] as const, registers })),
    adoptions: once(registry, 'capstan_kubernetes_executor_adoptions_total', () =>
      new Counter({ name: 'capstan_kubernetes_executor_adoptions_total', help: 'Worker pods of dead schedulers adopted', registers })),
    relaunches: once(registry, 'capstan_kubernetes_executor_pod_relaunches_total', () =>
      new Counter({ name: 'capstan_kubernetes_executor_pod_relaunches_total', help: 'Worker pods relaunched after failing before their task started', registers })),
  };
}
