/**
 * Dynamic task mapping through the whole engine (scheduler, real task processes, Execution API), declared
 * once and run per metadata database by mappingEngineSqlite.test.ts and mappingEnginePostgres.test.ts (one
 * file each, so each stays well inside a test file's time budget): expansion over upstream lists of 0 and 1 elements and over literals with a reduce,
 * cross products, expandKwargs, per-index templating and XCom, a too-long and an unmappable input, a
 * failing index with retries and the trigger rules downstream of it, and re-expansion after a clear.
 * (The 1,000-element expansion is in mappingScale.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { clearTaskInstances } from '../../src/services/clear.ts';
import { createFernet } from '../../src/crypto/index.ts';
import type { TaskInstanceRow } from '../../src/store/schema.ts';
import { listTries } from '../../src/store/taskInstances.ts';
import { VariableStore } from '../../src/store/variables.ts';
import { listXComs } from '../../src/store/xcom.ts';
import { runCapstan } from '../cli/capstan.ts';
import { stopPostgres } from '../support/postgres.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import type { DialectName } from '../../src/store/dialect.ts';

const DAGS = `
import { dag, task, BashOperator, EmptyOperator, getCurrentContext } from 'capstan';

const numbers = task({ taskId: 'numbers' }, (n: number) => Array.from({ length: Number(n) }, (_, i) => i + 1));
const double = task({ taskId: 'double' }, (x: number) => x * 2);
const total = task({ taskId: 'total', triggerRule: 'none_failed' }, (xs: number[]) => ({ count: xs.length, sum: xs.reduce((a, b) => a + b, 0) }));
const strict = task({ taskId: 'strict_total' }, (xs: number[]) => xs.length);

dag({ dagId: 'map_reduce', schedule: null, params: { n: 1 } }, () => {
  const doubled = double.expand(numbers('{{ params.n }}' as unknown as number));
  total(doubled);
  strict(doubled);
});

const add = task({ taskId: 'add' }, (p: { x: number; y: number }) => p.x + p.y);
const pair = task({ taskId: 'pair' }, (p: { a: number; b: string }) => String(p.a) + p.b);
const collect = task({ taskId: 'collect' }, (sums: number[], pairs: string[]) => ({ sums, pairs }));
const kwargsList = task({ taskId: 'kwargs_list' }, () => [{ bashCommand: 'echo first' }, { bashCommand: 'echo "$WHO"', env: { WHO: 'second' } }]);
const entries = task({ taskId: 'entries' }, (p: { e: [string, number] }) => p.e[0] + '=' + p.e[1]);

dag({ dagId: 'literal', schedule: null }, () => {
  collect(add.partial({ y: 10 }).expand({ x: [1, 2, 3] }), pair.expand({ a: [1, 2], b: ['x', 'y'] }));
  BashOperator.partial({ taskId: 'echo', env: { GREETING: 'hi' } }).expand({ bashCommand: ['echo "$GREETING {{ ti.map_index }} a"', 'echo "$GREETING {{ ti.map_index }} b"'] });
  BashOperator.partial({ taskId: 'kw' }).expandKwargs(kwargsList());
  add.expandKwargs([{ x: 1, y: 1 }, { x: 5, y: 5 }]);
  entries.expand({ e: { one: 1, two: 2 } });
});

const many = task({ taskId: 'many' }, () => [1, 2, 3, 4, 5, 6]);
const notAList = task({ taskId: 'not_a_list' }, () => 'abc');
const echoOne = task({ taskId: 'echo_one' }, (x: unknown) => x);
dag({ dagId: 'bad_inputs', schedule: null }, () => {
  const tooLong = double.expand(many());
  new EmptyOperator({ taskId: 'after_too_long' }).after(tooLong);
  echoOne.expand(notAList() as unknown as unknown[]);
});

const flaky = task({ taskId: 'flaky', retries: 1, retryDelay: 0 }, (i: number) => {
  const ctx = getCurrentContext();
  if (i === 1 && ctx.tryNumber === 1) throw new Error('index 1 fails its first try');
  if (i === 2) throw new Error('index 2 always fails');
  return i * 10;
});
const gather = task({ taskId: 'gather', triggerRule: 'all_done' }, (xs: number[]) => xs);
dag({ dagId: 'retries', schedule: null }, () => {
  const out = flaky.expand([0, 1, 2]);
  gather(out);
  new EmptyOperator({ taskId: 'needs_all_success' }).after(out);
  new EmptyOperator({ taskId: 'on_one_failed', triggerRule: 'one_failed' }).after(out);
  new EmptyOperator({ taskId: 'on_none_failed', triggerRule: 'none_failed' }).after(out);
});

const fromVariable = task({ taskId: 'from_variable' }, async () => {
  const n = Number(await getCurrentContext().getVariable('mapping_count'));
  return Array.from({ length: n }, (_, i) => i + 1);
});
dag({ dagId: 'reexpand', schedule: null }, () => {
  total(double.expand(fromVariable()));
});
`;

type Ti = Pick<TaskInstanceRow, 'task_id' | 'map_index' | 'state' | 'failure_reason'>;

async function xcomOf(t: TestEngine, dagId: string, runId: string, taskId: string, mapIndex = -1): Promise<unknown> {
  const all = await listXComs(t.engine.db, { dagId, runId, taskId });
  return all.find((x) => x.key === 'return_value' && x.mapIndex === mapIndex)?.value;
}

function indexesOf(tis: Ti[], taskId: string): Array<[number, string]> {
  return tis.filter((x) => x.task_id === taskId).map((x): [number, string] => [x.map_index, x.state]).sort((a, b) => a[0] - b[0]);
}

/** Declare the suite for `dialect`. */
export function describeMappingEngine(dialect: DialectName): void {
  describe(`dynamic task mapping [${dialect}]`, () => {
    let t: TestEngine;
    before(async () => {
      t = await startTestEngine({ dialect, dags: { 'mapping.ts': DAGS }, env: { CAPSTAN__CORE__MAX_MAP_LENGTH: '5', CAPSTAN__CORE__PARALLELISM: '16' } });
      // Runs go together: the machine's two cores are shared, task processes are the cost.
      await Promise.all([
        t.trigger('map_reduce', { runId: 'zero', conf: { n: 0 } }),
        t.trigger('map_reduce', { runId: 'one', conf: { n: 1 } }),
        t.trigger('map_reduce', { runId: 'four', conf: { n: 4 } }),
        t.trigger('literal', { runId: 'r1' }),
        t.trigger('bad_inputs', { runId: 'r1' }),
        t.trigger('retries', { runId: 'r1' }),
      ]);
    });
    after(async () => {
      await t.stop();
      if (dialect === 'postgres') await stopPostgres();
    });

    test('a zero-length expansion skips the mapped task; a none_failed reduce gets [] and an all_success one is skipped', async () => {
      const run = await t.waitForRun('map_reduce', 'zero', { timeoutMs: 30_000 });
      assert.equal(run.state, 'success');
      const tis = await t.taskInstances('map_reduce', 'zero');
      assert.deepEqual(indexesOf(tis, 'double'), [[-1, 'skipped']]);
      assert.match(tis.find((x) => x.task_id === 'double')?.failure_reason ?? '', /zero task instances/);
      assert.deepEqual(await xcomOf(t, 'map_reduce', 'zero', 'total'), { count: 0, sum: 0 });
      assert.deepEqual(indexesOf(tis, 'strict_total'), [[-1, 'skipped']]);
    });

    test('a one-element and a four-element expansion: one instance per element, reduced in map-index order', async () => {
      for (const [runId, expected, sum] of [['one', 1, 2], ['four', 4, 20]] as const) {
        const run = await t.waitForRun('map_reduce', runId, { timeoutMs: 30_000 });
        assert.equal(run.state, 'success', runId);
        const tis = await t.taskInstances('map_reduce', runId);
        assert.deepEqual(indexesOf(tis, 'double'), Array.from({ length: expected }, (_, i) => [i, 'success']));
        for (let i = 0; i < expected; i++) assert.equal(await xcomOf(t, 'map_reduce', runId, 'double', i), (i + 1) * 2, `${runId} double[${i}]`);
        assert.deepEqual(await xcomOf(t, 'map_reduce', runId, 'total'), { count: expected, sum });
        assert.equal(await xcomOf(t, 'map_reduce', runId, 'strict_total'), expected);
      }
    });

    test('literal expansion: partial + expand, a cross product (last input fastest), a dict as [key, value] pairs, expandKwargs', async () => {
      const run = await t.waitForRun('literal', 'r1', { timeoutMs: 30_000 });
      const tis = await t.taskInstances('literal', 'r1');
      assert.equal(run.state, 'success', JSON.stringify(tis.map((x) => [x.task_id, x.map_index, x.state, x.failure_reason])));
      assert.deepEqual(await xcomOf(t, 'literal', 'r1', 'collect'), { sums: [11, 12, 13], pairs: ['1x', '1y', '2x', '2y'] });
      assert.deepEqual(indexesOf(tis, 'add__1'), [[0, 'success'], [1, 'success']]);
      assert.deepEqual([await xcomOf(t, 'literal', 'r1', 'add__1', 0), await xcomOf(t, 'literal', 'r1', 'add__1', 1)], [2, 10]);
      assert.deepEqual([await xcomOf(t, 'literal', 'r1', 'entries', 0), await xcomOf(t, 'literal', 'r1', 'entries', 1)], ['one=1', 'two=2']);
      // BashOperator pushes its last line of output: the partial env, the mapped command, rendered per index.
      assert.deepEqual([await xcomOf(t, 'literal', 'r1', 'echo', 0), await xcomOf(t, 'literal', 'r1', 'echo', 1)], ['hi 0 a', 'hi 1 b']);
      assert.deepEqual([await xcomOf(t, 'literal', 'r1', 'kw', 0), await xcomOf(t, 'literal', 'r1', 'kw', 1)], ['first', 'second']);
      // Each index's try stores its own rendered fields.
      const echo1 = tis.find((x) => x.task_id === 'echo' && x.map_index === 1);
      assert.ok(echo1);
      const [try1] = await listTries(t.engine.db, echo1.id);
      assert.match(try1?.rendered_fields ?? '', /hi 1 b|GREETING 1 b/);
    });

    test('each map index shows with its index in the public API and the CLI, with its own log', async () => {
      await t.waitForRun('literal', 'r1', { timeoutMs: 30_000 });
      const body = (await (await t.apiFetch(`/api/v2/dags/literal/dagRuns/r1/taskInstances`)).json()) as { taskInstances: Array<{ taskId: string; mapIndex: number; state: string }> };
      assert.deepEqual(body.taskInstances.filter((x) => x.taskId === 'echo').map((x) => [x.mapIndex, x.state]), [[0, 'success'], [1, 'success']]);
      // The CLI reads the same rows on either database; once is enough for the file's time budget.
      if (dialect !== 'sqlite') return;
      const url = t.engine.db.url;
      const [list, listJson, state, logs, render] = await Promise.all([
        runCapstan(['tasks', 'list', 'literal', 'r1'], t.home, url),
        runCapstan(['-o', 'json', 'tasks', 'list', 'literal', 'r1'], t.home, url),
        runCapstan(['-o', 'json', 'tasks', 'state', 'literal', 'r1', 'echo', '--map-index', '1'], t.home, url),
        runCapstan(['tasks', 'logs', 'literal', 'r1', 'echo', '--map-index', '1'], t.home, url),
        runCapstan(['-o', 'json', 'tasks', 'render', 'literal', 'echo', '--run-id', 'r1', '--map-index', '1'], t.home, url),
      ]);
      assert.match(render.stdout, /echo \\"\$GREETING 1 b\\"/, render.stdout + render.stderr);
      assert.match(list.stdout, /^echo\[0\]\s+success/m, list.stdout + list.stderr);
      assert.match(list.stdout, /^echo\[1\]\s+success/m);
      assert.ok((JSON.parse(listJson.stdout) as Array<{ taskId: string; mapIndex: number }>).some((x) => x.taskId === 'add' && x.mapIndex === 2));
      assert.equal((JSON.parse(state.stdout) as { mapIndex: number; state: string }).mapIndex, 1);
      assert.match(logs.stdout, /hi 1 b/);
      assert.doesNotMatch(logs.stdout, /hi 0 a/);
    });

    test('an expansion longer than core.maxMapLength, and an input that is not a list, fail the mapped task with the reason', async () => {
      const run = await t.waitForRun('bad_inputs', 'r1', { timeoutMs: 30_000 });
      assert.equal(run.state, 'failed');
      const tis = await t.taskInstances('bad_inputs', 'r1');
      const double = tis.find((x) => x.task_id === 'double');
      assert.equal(double?.state, 'failed');
      assert.equal(double?.map_index, -1);
      assert.match(double?.failure_reason ?? '', /would expand to 6 task instances; the limit is 5 \(core\.maxMapLength\)/);
      assert.equal(tis.find((x) => x.task_id === 'after_too_long')?.state, 'upstream_failed');
      const echo = tis.find((x) => x.task_id === 'echo_one');
      assert.equal(echo?.state, 'failed');
      assert.match(echo?.failure_reason ?? '', /XCom 'return_value' of task 'not_a_list'.*a string, not a list or an object/);
    });

    test('a failing index retries on its own; trigger rules downstream count every map index', async () => {
      const run = await t.waitForRun('retries', 'r1', { timeoutMs: 40_000 });
      assert.equal(run.state, 'failed');
      const tis = await t.taskInstances('retries', 'r1');
      assert.deepEqual(indexesOf(tis, 'flaky'), [[0, 'success'], [1, 'success'], [2, 'failed']]);
      const tries = await Promise.all(tis.filter((x) => x.task_id === 'flaky').sort((a, b) => a.map_index - b.map_index).map((x) => listTries(t.engine.db, x.id)));
      assert.deepEqual(tries.map((l) => l.map((r) => r.state)), [['success'], ['up_for_retry', 'success'], ['up_for_retry', 'failed']]);
      assert.deepEqual(await xcomOf(t, 'retries', 'r1', 'gather'), [0, 10], 'all_done runs with the results that exist, in map-index order');
      assert.equal(tis.find((x) => x.task_id === 'needs_all_success')?.state, 'upstream_failed');
      assert.equal(tis.find((x) => x.task_id === 'on_one_failed')?.state, 'success');
      assert.equal(tis.find((x) => x.task_id === 'on_none_failed')?.state, 'upstream_failed');
    });

    test('clearing re-expands: fewer elements mark the extra indexes removed, more add indexes', async () => {
      const variables = new VariableStore(t.engine.db, { fernet: createFernet(t.engine.config.core.fernetKey) });
      await variables.set('mapping_count', '3');
      await t.trigger('reexpand', { runId: 'r1' });
      assert.equal((await t.waitForRun('reexpand', 'r1', { timeoutMs: 30_000 })).state, 'success');
      assert.deepEqual(await xcomOf(t, 'reexpand', 'r1', 'total'), { count: 3, sum: 12 });

      await variables.set('mapping_count', '2');
      await clearTaskInstances(t.engine.db, { dagId: 'reexpand', runId: 'r1', taskIds: ['from_variable'], downstream: true }, Date.now(), 'test');
      t.scheduler.wake();
      assert.equal((await t.waitForRun('reexpand', 'r1', { timeoutMs: 30_000 })).state, 'success');
      let tis = await t.taskInstances('reexpand', 'r1');
      assert.deepEqual(indexesOf(tis, 'double'), [[0, 'success'], [1, 'success'], [2, 'removed']]);
      assert.deepEqual(await xcomOf(t, 'reexpand', 'r1', 'total'), { count: 2, sum: 6 });

      await variables.set('mapping_count', '4');
      await clearTaskInstances(t.engine.db, { dagId: 'reexpand', runId: 'r1', taskIds: ['from_variable'], downstream: true }, Date.now(), 'test');
      t.scheduler.wake();
      assert.equal((await t.waitForRun('reexpand', 'r1', { timeoutMs: 30_000 })).state, 'success');
      tis = await t.taskInstances('reexpand', 'r1');
      assert.deepEqual(indexesOf(tis, 'double'), [[0, 'success'], [1, 'success'], [2, 'success'], [3, 'success']]);
      assert.deepEqual(await xcomOf(t, 'reexpand', 'r1', 'total'), { count: 4, sum: 20 });
    });
  });
}
