/**
 * How a DAG author tests their DAGs with `capstan/testing` (docs/testing-dags.md): the example DAGs of
 * examples/dags, run whole or task by task, in process, on a throwaway database and a manual clock.
 * Run it with `node --test examples/tests/example_dag.test.ts` (it is part of `npm test`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, testDag } from 'capstan/testing';
import retriesAndLimits from '../dags/example_retries_and_limits.ts';
import taskflow from '../dags/example_taskflow.ts';

test('example_taskflow: values flow through XCom from extract to load', async () => {
  const t = await testDag(taskflow);
  try {
    const run = await t.run({ logicalDate: '2026-01-01T00:00:00Z' });
    assert.equal(run.state, 'success', run.reason ?? '');
    assert.deepEqual(run.task('extract').xcom(), { rows: [3, 1, 4, 1, 5, 9] });
    assert.equal(run.task('transform').xcom(), 23);
    assert.deepEqual(run.task('load').xcom(), { loaded: 23, label: 'nightly' });
    assert.ok(run.task('load').logs.includes(`loading total=23 label=nightly for run ${run.runId}`));
  } finally {
    await t.close();
  }
});

test('example_taskflow: one task alone, with the upstream value given by the test', async () => {
  const t = await testDag(taskflow);
  try {
    const transform = await t.runTask('transform', { xcoms: [{ taskId: 'extract', value: { rows: [10, 20, 12] } }] });
    assert.equal(transform.state, 'success');
    assert.equal(transform.returnValue, 42);
  } finally {
    await t.close();
  }
});

test('example_retries_and_limits: the flaky tasks succeed on their second try, and the retry delays pass on the manual clock', async () => {
  const clock = new ManualClock({ start: Date.parse('2026-01-01T00:00:00Z'), autoAdvance: true });
  const t = await testDag(retriesAndLimits, { clock });
  try {
    const run = await t.run();
    assert.equal(run.state, 'success', run.reason ?? '');
    const first = run.task('first_try_fails');
    assert.deepEqual(first.tries.map((x) => x.state), ['up_for_retry', 'success']);
    assert.ok(first.logs.includes('recovered'));
    assert.equal(run.task('flaky').xcom(), 'succeeded on try 2 of 4');
    for (let i = 0; i < 10; i++) assert.equal(run.task(`shard_${i}`).state, 'success');
    // Two retries of 1 s each were waited on the clock, not in real time.
    assert.ok(clock.elapsed >= 2_000, `the clock moved ${clock.elapsed} ms`);
  } finally {
    await t.close();
  }
});
