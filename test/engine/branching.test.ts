/**
 * Branching: a branch task follows the direct downstream task(s) it returns and the engine skips the
 * other direct downstream tasks with its success; the skips then propagate by trigger rules alone. The
 * in-process runner (`dags test`) covers the semantics on both databases; real task processes through
 * the Execution API cover the same DAG end to end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SecretsLookup } from '../../src/secrets/index.ts';
import { BranchOperator, branchTask, dag, EmptyOperator, getCurrentContext, SkipDownstream, type Dag } from '../../src/sdk/index.ts';
import { pullXCom } from '../../src/store/xcom.ts';
import { runDagInProcess } from '../../src/testing/index.ts';
import { forEachDialect } from '../support/dialects.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { stopPostgres } from '../support/postgres.ts';

const secrets = new SecretsLookup({ env: {} });

/** start → pick → {a → a2, b → b2, c}; join (none_failed_min_one_success) after a2, b2, c; final (all_success) after a2, b2. */
function branchingDag(dagId: string): Dag {
  return dag({ dagId }, () => {
    const start = new EmptyOperator({ taskId: 'start' });
    const pick = branchTask({ taskId: 'pick' }, () => getCurrentContext().conf['choice'] as string | string[] | null);
    const picked = pick();
    start.before(picked.operator);
    const [a, a2, b, b2, c] = ['a', 'a2', 'b', 'b2', 'c'].map((taskId) => new EmptyOperator({ taskId })) as [EmptyOperator, EmptyOperator, EmptyOperator, EmptyOperator, EmptyOperator];
    picked.operator.before([a, b, c]);
    a.before(a2);
    b.before(b2);
    const join = new EmptyOperator({ taskId: 'join', triggerRule: 'none_failed_min_one_success' });
    join.after([a2, b2, c]);
    const afterJoin = new EmptyOperator({ taskId: 'after_join' });
    join.before(afterJoin);
    new EmptyOperator({ taskId: 'final' }).after([a2, b2]);
  });
}

forEachDialect('branching (in process)', (t) => {
  const run = async (d: Dag, conf: Record<string, unknown>, runId: string) => {
    const r = await runDagInProcess({ db: t.db, dag: d, fileloc: '/dags/branching.ts', secrets, xcomMaxBytes: 10_000, conf: conf as never, runId });
    return { result: r, states: Object.fromEntries(r.taskInstances.map((ti) => [ti.task_id, ti.state])) };
  };

  test('one chosen branch: the others are skipped, a none_failed_min_one_success join runs, an all_success task below a skipped one is skipped', async () => {
    const { result, states } = await run(branchingDag('branch_one'), { choice: 'a' }, 'one');
    assert.deepEqual(states, { start: 'success', pick: 'success', a: 'success', a2: 'success', b: 'skipped', b2: 'skipped', c: 'skipped', join: 'success', after_join: 'success', final: 'skipped' });
    assert.equal(result.state, 'success');
    assert.equal(await pullXCom(t.db, result.run.id, 'pick', 'return_value'), 'a');
    assert.match(result.taskInstances.find((ti) => ti.task_id === 'b')?.failure_reason ?? '', /skipped by 'pick'/);
  });

  test('several chosen branches run; only the unchosen one is skipped', async () => {
    const { states } = await run(branchingDag('branch_many'), { choice: ['a', 'b'] }, 'many');
    assert.deepEqual(states, { start: 'success', pick: 'success', a: 'success', a2: 'success', b: 'success', b2: 'success', c: 'skipped', join: 'success', after_join: 'success', final: 'success' });
  });

  test('null follows no branch: everything below is skipped, including the join (no success upstream)', async () => {
    const { result, states } = await run(branchingDag('branch_none'), { choice: null }, 'none');
    assert.deepEqual(states, { start: 'success', pick: 'success', a: 'skipped', a2: 'skipped', b: 'skipped', b2: 'skipped', c: 'skipped', join: 'skipped', after_join: 'skipped', final: 'skipped' });
    assert.equal(result.state, 'success');
  });

  test('a chosen id that is not a direct downstream task fails the branch, naming the valid ids', async () => {
    const { result, states } = await run(branchingDag('branch_bad'), { choice: 'a2' }, 'bad');
    assert.equal(states['pick'], 'failed');
    assert.equal(states['a'], 'upstream_failed');
    assert.equal(result.state, 'failed');
    const reason = result.taskInstances.find((ti) => ti.task_id === 'pick')?.failure_reason ?? '';
    assert.match(reason, /chose 'a2', which is not one of its direct downstream tasks \('a', 'b', 'c'\)/);
  });

  test('BranchOperator class: chooseBranch picks from params', async () => {
    const d = dag({ dagId: 'branch_class', params: { mode: 'quick' } }, () => {
      const pick = new BranchOperator({ taskId: 'pick', chooseBranch: (ctx) => (ctx.params['mode'] === 'full' ? 'full' : 'quick') });
      pick.before([new EmptyOperator({ taskId: 'full' }), new EmptyOperator({ taskId: 'quick' })]);
    });
    const { states } = await run(d, {}, 'class');
    assert.deepEqual(states, { pick: 'success', full: 'skipped', quick: 'success' });
    const full = await run(d, { mode: 'full' }, 'class_full');
    assert.deepEqual(full.states, { pick: 'success', full: 'success', quick: 'skipped' });
  });

  test('a task that tries to skip a task not below it fails instead (the engine checks)', async () => {
    const d = dag({ dagId: 'branch_rogue' }, () => {
      class Rogue extends EmptyOperator {
        override execute(): undefined {
          return new SkipDownstream(null, ['other']) as unknown as undefined;
        }
      }
      new EmptyOperator({ taskId: 'other' });
      new Rogue({ taskId: 'rogue_op' });
    });
    const { states, result } = await run(d, {}, 'rogue');
    assert.equal(states['rogue_op'], 'failed');
    assert.equal(states['other'], 'success');
    assert.match(result.taskInstances.find((ti) => ti.task_id === 'rogue_op')?.failure_reason ?? '', /may only skip tasks downstream of it, not 'other'/);
  });
});

const BRANCH_FILE = `
import { dag, branchTask, EmptyOperator, getCurrentContext } from 'capstan';
export default dag({ dagId: 'branching', schedule: null }, () => {
  const pick = branchTask({ taskId: 'pick' }, () => getCurrentContext().conf['choice'] as string);
  const [a, b] = [new EmptyOperator({ taskId: 'a' }), new EmptyOperator({ taskId: 'b' })];
  pick().operator.before([a, b]);
  const b2 = new EmptyOperator({ taskId: 'b2' });
  b.before(b2);
  new EmptyOperator({ taskId: 'join', triggerRule: 'none_failed_min_one_success' }).after([a, b2]);
});
`;

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`branching through task processes [${dialect}]`, () => {
    let t: TestEngine;
    before(async () => {
      t = await startTestEngine({ dialect, dags: { 'branching.ts': BRANCH_FILE } });
    });
    after(async () => {
      await t.stop();
    });

    test('the skips reported with the branch success reach the scheduler, which runs the join', async () => {
      await t.trigger('branching', { runId: 'r1', conf: { choice: 'a' } });
      const run = await t.waitForRun('branching', 'r1');
      assert.equal(run.state, 'success');
      assert.deepEqual(await t.taskStates('branching', 'r1'), { pick: 'success', a: 'success', b: 'skipped', b2: 'skipped', join: 'success' });
      await t.trigger('branching', { runId: 'r2', conf: { choice: 'b' } });
      await t.waitForRun('branching', 'r2');
      assert.deepEqual(await t.taskStates('branching', 'r2'), { pick: 'success', a: 'skipped', b: 'success', b2: 'success', join: 'success' });
    });
  });
}

after(async () => {
  await stopPostgres();
});
