/**
 * TaskFlow: plain functions as tasks. Return values travel as XCom, and their types are checked: passing
 * `extract()` (a `{ rows: number[] }`) to a task that expects a string would not compile.
 */
import { dag, task, getCurrentContext } from 'capstan';

interface Batch {
  rows: number[];
}

const extract = task({ taskId: 'extract' }, (): Batch => ({ rows: [3, 1, 4, 1, 5, 9] }));

const transform = task({ taskId: 'transform' }, (batch: Batch): number => batch.rows.reduce((a, b) => a + b, 0));

const load = task({ taskId: 'load', retries: 2, retryDelay: '1s' }, async (total: number, label: string) => {
  const ctx = getCurrentContext();
  ctx.log.info(`loading total=${total} label=${label} for run ${ctx.runId}`);
  return { loaded: total, label };
});

export default dag(
  {
    dagId: 'example_taskflow',
    description: 'Typed TaskFlow tasks passing values through XCom',
    schedule: null,
    tags: ['example', 'taskflow'],
    params: { label: 'default-label' },
  },
  () => {
    load(transform(extract()), 'nightly');
  },
);
