/** Prometheus metrics: one private registry per process with named handles on every `capstan_*` metric. */
export { createMetrics, type CapstanMetrics, type CreateMetricsOptions } from './registry.ts';
