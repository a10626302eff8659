/** The triggerer role: runs deferred tasks' triggers. See ARCHITECTURE.md. */
export { Triggerer, type TriggererDeps, type TriggererOptions } from './triggerer.ts';
export { loadTrigger } from './providerTriggers.ts';
export { triggererHealthReport, type TriggererHealthReport } from './health.ts';
export { triggererMetrics, type TriggererMetrics } from './metrics.ts';
