/**
 * The serialized DAG format is pinned by a golden file: the scheduler and stored DAGs depend on it, so a
 * change must be deliberate (regenerate with CAPSTAN_UPDATE_GOLDEN=1 and review the diff, bumping
 * SERIALIZED_DAG_VERSION when old stored DAGs could no longer be read).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { SERIALIZED_DAG_VERSION } from '../../src/core/serialized.ts';
import { setAuthoringDefaults } from '../../src/sdk/authoring.ts';
import { BashOperator, chain, dag, EmptyOperator, task } from '../../src/sdk/index.ts';

const GOLDEN = new URL('./golden/serialized_dag_v1.json', import.meta.url);

function goldenDag() {
  setAuthoringDefaults({ retries: 0, retryDelayMs: 300_000, catchup: false, maxActiveRuns: 16, maxActiveTasks: 16 });
  const extract = task({ taskId: 'extract', retries: 2, retryDelay: '30s', retryExponentialBackoff: true, maxRetryDelay: '10m' }, () => ({ rows: [1, 2] }));
  const load = task({ taskId: 'load', pool: 'warehouse', poolSlots: 2, priorityWeight: 5 }, (batch: { rows: number[] }, label: string) => `${label}:${batch.rows.length}`);
  return dag(
    {
      dagId: 'golden',
      description: 'every serialized field',
      doc: '# Golden\nPinned.',
      schedule: '0 6 * * 1-5',
      timezone: 'Europe/Paris',
      startDate: '2026-01-01T00:00:00Z',
      endDate: '2027-01-01T00:00:00Z',
      catchup: true,
      tags: ['golden', 'test'],
      owner: 'data-team',
      params: { label: 'nightly', limit: { default: 10, type: 'integer', description: 'rows', enum: [10, 100] }, target: { type: 'string' } },
      defaultArgs: { retries: 1, queue: 'default' },
      maxActiveRuns: 2,
      maxActiveTasks: 4,
      dagrunTimeout: '2h',
      isPausedUponCreation: true,
    },
    () => {
      const loaded = load(extract(), 'nightly');
      const notify = new BashOperator({
        taskId: 'notify',
        bashCommand: 'echo done',
        env: { MODE: 'test' },
        appendEnv: true,
        skipOnExitCode: [99, 100],
        executionTimeout: '5m',
        triggerRule: 'all_done',
        doc: 'Says it is done.',
        dependsOnPast: true,
        onFailure: () => undefined,
      });
      const end = new EmptyOperator({ taskId: 'end', triggerRule: 'none_failed_min_one_success' });
      chain(loaded, notify, end);
    },
  );
}

test('the serialized form of a DAG matches the golden file', () => {
  const actual = JSON.parse(JSON.stringify(goldenDag().serialize('/dags/golden.ts'))) as unknown;
  if (process.env.CAPSTAN_UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, JSON.stringify(actual, null, 2) + '\n');
  const expected = JSON.parse(readFileSync(GOLDEN, 'utf8')) as unknown;
  assert.deepEqual(actual, expected, 'the serialized DAG format changed; if deliberate, regenerate with CAPSTAN_UPDATE_GOLDEN=1 and review');
});

test('the golden file is of the current format version', () => {
  const expected = JSON.parse(readFileSync(GOLDEN, 'utf8')) as { version: number };
  assert.equal(expected.version, SERIALIZED_DAG_VERSION);
});
