/**
 * Prometheus metrics of one process. `createMetrics()` builds a private `Registry` holding the default
 * Node.js metrics plus every `capstan_*` metric, and returns named handles so components record values
 * without knowing metric names: `metrics.schedulerLoopDuration.observe(seconds)`. Nothing touches
 * prom-client's global registry, so a process (or a test) can create as many as it needs.
 *
 * Durations are in seconds, counters end in `_total`, as Prometheus naming asks.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Named handles on every Capstan metric, plus the registry that exposes them. */
export interface CapstanMetrics {
  readonly registry: Registry;
  /** `capstan_task_instances{state}`: task instances currently in each state. */
  readonly taskInstances: Gauge<'state'>;
  /** `capstan_task_instances_finished_total{state}`: task instances that reached a terminal state. */
  readonly taskInstancesFinished: Counter<'state'>;
  /** `capstan_scheduler_loop_duration_seconds`: time of one scheduling loop. */
  readonly schedulerLoopDuration: Histogram;
  /** `capstan_scheduler_loops_total`: scheduling loops completed. */
  readonly schedulerLoops: Counter;
  /** `capstan_executor_open_slots{executor}`: how many more task instances the executor would accept. */
  readonly executorOpenSlots: Gauge<'executor'>;
  /** `capstan_executor_queued_tasks{executor}`: task instances handed over but not yet started. */
  readonly executorQueuedTasks: Gauge<'executor'>;
  /** `capstan_executor_running_tasks{executor}`: task instances running now. */
  readonly executorRunningTasks: Gauge<'executor'>;
  /** `capstan_dag_parse_duration_seconds{file}`: time to import one DAG file. */
  readonly dagParseDuration: Histogram<'file'>;
  /** `capstan_dag_import_errors`: DAG files that currently fail to import. */
  readonly dagImportErrors: Gauge;
  /** `capstan_dag_processing_files_total{outcome}`: DAG files processed, by outcome (e.g. `ok`, `import_error`, `timeout`). */
  readonly dagProcessingFiles: Counter<'outcome'>;
  /** `capstan_api_request_duration_seconds{method,route,status}`: API request latency; `route` is the pattern, not the path. */
  readonly apiRequestDuration: Histogram<'method' | 'route' | 'status'>;
  /** The text exposition of every metric, for a `/metrics` endpoint. */
  metricsText(): Promise<string>;
  /** Content-Type header to send with `metricsText()`. */
  readonly contentType: string;
}

/** Options of `createMetrics`. */
export interface CreateMetricsOptions {
  /** Also collect Node.js process metrics (CPU, memory, event loop lag, GC). Default true. */
  defaultMetrics?: boolean;
  /** Labels added to every series, e.g. `{ component: 'scheduler' }`. Default none. */
  defaultLabels?: Record<string, string>;
}

const FAST_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const PARSE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * A fresh registry with every Capstan metric.
 *
 * @example
 * const metrics = createMetrics({ defaultLabels: { component: 'scheduler' } });
 * const end = metrics.schedulerLoopDuration.startTimer();
 * // … one loop …
 * end();
 * metrics.schedulerLoops.inc();
 */
export function createMetrics(options: CreateMetricsOptions = {}): CapstanMetrics {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    taskInstances: new Gauge({ name: 'capstan_task_instances', help: 'Task instances currently in each state', labelNames: ['state'] as const, registers }),
    taskInstancesFinished: new Counter({ name: 'capstan_task_instances_finished_total', help: 'Task instances that reached a terminal state', labelNames: ['state'] as const, registers }),
    schedulerLoopDuration: new Histogram({ name: 'capstan_scheduler_loop_duration_seconds', help: 'Duration of one scheduling loop', buckets: FAST_BUCKETS, registers }),
    schedulerLoops: new Counter({ name: 'capstan_scheduler_loops_total', help: 'Scheduling loops completed', registers }),
    executorOpenSlots: new Gauge({ name: 'capstan_executor_open_slots', help: 'Task instances the executor would still accept', labelNames: ['executor'] as const, registers }),
    executorQueuedTasks: new Gauge({ name: 'capstan_executor_queued_tasks', help: 'Task instances handed to the executor but not started', labelNames: ['executor'] as const, registers }),
    executorRunningTasks: new Gauge({ name: 'capstan_executor_running_tasks', help: 'Task instances the executor is running', labelNames: ['executor'] as const, registers }),
    dagParseDuration: new Histogram({ name: 'capstan_dag_parse_duration_seconds', help: 'Time to import one DAG file', labelNames: ['file'] as const, buckets: PARSE_BUCKETS, registers }),
    dagImportErrors: new Gauge({ name: 'capstan_dag_import_errors', help: 'DAG files that currently fail to import', registers }),
    dagProcessingFiles: new Counter({ name: 'capstan_dag_processing_files_total', help: 'DAG files processed, by outcome', labelNames: ['outcome'] as const, registers }),
    apiRequestDuration: new Histogram({ name: 'capstan_api_request_duration_seconds', help: 'API request latency by method, route pattern and status', labelNames: ['method', 'route', 'status'] as const, buckets: FAST_BUCKETS, registers }),
    metricsText: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
