import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import { createMetrics } from '../../src/metrics/index.ts';

/** The value of one series in a text exposition, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

void describe('createMetrics', () => {
  void it('exposes every Capstan metric with the recorded values, and the Node defaults', async () => {
    const m = createMetrics();
    m.taskInstances.set({ state: 'running' }, 3);
    m.taskInstancesFinished.inc({ state: 'success' });
    m.taskInstancesFinished.inc({ state: 'success' });
    m.schedulerLoopDuration.observe(0.02);
    m.schedulerLoops.inc();
    m.executorOpenSlots.set({ executor: 'LocalExecutor' }, 30);
    m.executorQueuedTasks.set({ executor: 'LocalExecutor' }, 1);
    m.executorRunningTasks.set({ executor: 'LocalExecutor' }, 2);
    m.dagParseDuration.observe({ file: 'etl.ts' }, 0.3);
    m.dagImportErrors.set(1);
    m.dagProcessingFiles.inc({ outcome: 'import_error' });
    m.apiRequestDuration.observe({ method: 'GET', route: '/api/v2/dags/:dagId', status: '200' }, 0.004);
    const text = await m.metricsText();

    assert.equal(sample(text, 'capstan_task_instances{state="running"}'), 3);
    assert.equal(sample(text, 'capstan_task_instances_finished_total{state="success"}'), 2);
    assert.equal(sample(text, 'capstan_scheduler_loop_duration_seconds_count'), 1);
    assert.equal(sample(text, 'capstan_scheduler_loop_duration_seconds_bucket{le="0.025"}'), 1);
    assert.equal(sample(text, 'capstan_scheduler_loop_duration_seconds_bucket{le="0.01"}'), 0);
    assert.equal(sample(text, 'capstan_scheduler_loops_total'), 1);
    assert.equal(sample(text, 'capstan_executor_open_slots{executor="LocalExecutor"}'), 30);
    assert.equal(sample(text, 'capstan_executor_queued_tasks{executor="LocalExecutor"}'), 1);
    assert.equal(sample(text, 'capstan_executor_running_tasks{executor="LocalExecutor"}'), 2);
    assert.equal(sample(text, 'capstan_dag_parse_duration_seconds_sum{file="etl.ts"}'), 0.3);
    assert.equal(sample(text, 'capstan_dag_import_errors'), 1);
    assert.equal(sample(text, 'capstan_dag_processing_files_total{outcome="import_error"}'), 1);
    assert.equal(sample(text, 'capstan_api_request_duration_seconds_count{method="GET",route="/api/v2/dags/:dagId",status="200"}'), 1);
    assert.match(text, /^# TYPE capstan_scheduler_loop_duration_seconds histogram$/m);
    assert.match(text, /^# TYPE capstan_task_instances gauge$/m);
    assert.match(text, /^# TYPE nodejs_eventloop_lag_seconds gauge$/m);
    assert.match(text, /^process_cpu_user_seconds_total \d/m);
    assert.match(m.contentType, /^text\/plain/);
  });

  void it('keeps instances independent and leaves the global registry alone', async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false, defaultLabels: { component: 'api' } });
    a.schedulerLoops.inc(5);
    const textA = await a.metricsText();
    const textB = await b.metricsText();
    assert.equal(sample(textA, 'capstan_scheduler_loops_total'), 5);
    assert.equal(sample(textB, 'capstan_scheduler_loops_total{component="api"}'), 0);
    assert.doesNotMatch(textA, /nodejs_/);
    assert.equal(globalRegistry.getSingleMetric('capstan_scheduler_loops_total'), undefined);
  });
});
