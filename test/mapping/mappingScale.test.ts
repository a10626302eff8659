/**
 * A 1,000-element expansion with a reduce, on both metadata databases, through the in-process runner of
 * `dags test` (the scheduler's own run decisions and expansion, tries executed in this process, so the
 * size costs database work, not 1,000 process starts): every map index runs once, its XCom is stored
 * under its index, and the reduce receives the 1,000 results in map-index order. 0 and 1 elements too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SecretsLookup } from '../../src/secrets/index.ts';
import { dag, task } from '../../src/sdk/index.ts';
import { listXComs } from '../../src/store/xcom.ts';
import { runDagInProcess } from '../../src/testing/index.ts';
import { forEachDialect } from '../support/dialects.ts';

const secrets = new SecretsLookup({ env: {} });

function mapReduceDag(dagId: string) {
  return dag({ dagId, params: { n: 0 } }, () => {
    const numbers = task({ taskId: 'numbers' }, (n: number) => Array.from({ length: Number(n) }, (_, i) => i));
    const square = task({ taskId: 'square' }, (x: number) => x * x);
    const reduce = task({ taskId: 'reduce', triggerRule: 'none_failed' }, (xs: number[]) => ({ count: xs.length, sum: xs.reduce((a, b) => a + b, 0), first: xs.slice(0, 3), last: xs.at(-1) ?? null }));
    reduce(square.expand(numbers('{{ params.n }}' as unknown as number)));
  });
}

forEachDialect('mapping at scale', (t) => {
  test('0, 1 and 1,000 elements: one task instance per element and an exact reduce', async () => {
    const d = mapReduceDag('map_scale');
    for (const n of [0, 1, 1000]) {
      const result = await runDagInProcess({ db: t.db, dag: d, fileloc: '/dags/map_scale.ts', secrets, xcomMaxBytes: 1_000_000, conf: { n }, runId: `n${n}` });
      assert.equal(result.state, 'success', `${n}: ${result.reason}`);
      const squares = result.taskInstances.filter((ti) => ti.task_id === 'square');
      if (n === 0) {
        assert.deepEqual(squares.map((ti) => [ti.map_index, ti.state]), [[-1, 'skipped']]);
      } else {
        assert.equal(squares.length, n);
        assert.deepEqual(squares.map((ti) => ti.map_index).sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
        assert.ok(squares.every((ti) => ti.state === 'success' && ti.try_number === 1));
      }
      // Σ i² for i < n = (n−1)·n·(2n−1)/6.
      const expectedSum = ((n - 1) * n * (2 * n - 1)) / 6;
      const xcoms = await listXComs(t.db, { dagId: 'map_scale', runId: `n${n}` });
      const reduced = xcoms.find((x) => x.taskId === 'reduce' && x.key === 'return_value')?.value;
      assert.deepEqual(reduced, { count: n, sum: expectedSum, first: [0, 1, 4].slice(0, n), last: n === 0 ? null : (n - 1) ** 2 });
      assert.equal(xcoms.filter((x) => x.taskId === 'square').length, n, 'one XCom per map index');
    }
  });
});
