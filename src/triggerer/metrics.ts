/**
 * The triggerer's Prometheus metrics, registered on the process's registry (shared with the scheduler's
 * in `standalone`). Several triggerers in one process (tests) share the same series.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** Handles on the triggerer metrics. */
export interface TriggererMetrics {
  /** `capstan_triggers_running`: triggers this process runs now. */
  running: Gauge;
  /** `capstan_triggers_fired_total`: triggers that fired an event (and resumed their task). */
  fired: Counter;
  /** `capstan_triggers_failed_total`: triggers that threw or ended without an event. */
  failed: Counter;
  /** `capstan_triggerer_capacity_left`: how many more triggers this process would take. */
  capacityLeft: Gauge;
}

function gauge(registry: Registry, name: string, help: string): Gauge {
  return (registry.getSingleMetric(name) as Gauge | undefined) ?? new Gauge({ name, help, registers: [registry] });
}

function counter(registry: Registry, name: string, help: string): Counter {
  return (registry.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, registers: [registry] });
}

/** The triggerer metrics on `registry` (created once per registry). */
export function triggererMetrics(registry: Registry): TriggererMetrics {
  return {
    running: gauge(registry, 'capstan_triggers_running', 'Triggers this triggerer runs now'),
    fired: counter(registry, 'capstan_triggers_fired_total', 'Triggers that fired an event and resumed their task'),
    failed: counter(registry, 'capstan_triggers_failed_total', 'Triggers that failed or ended without an event'),
    capacityLeft: gauge(registry, 'capstan_triggerer_capacity_left', 'Further triggers this triggerer would take'),
  };
}
