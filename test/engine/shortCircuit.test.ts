/**
 * Short-circuit and latest-only. A falsy short-circuit skips everything below it (the default, as
 * Airflow's ignore_downstream_trigger_rules=True) or only its direct downstream tasks, leaving the rest to
 * their trigger rules. Latest-only skips its direct downstream tasks in every scheduled run but the one
 * covering the latest interval, and never in a manual run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SecretsLookup } from '../../src/secrets/index.ts';
import { dag, EmptyOperator, getCurrentContext, ShortCircuitOperator, shortCircuitTask, type Dag } from '../../src/sdk/index.ts';
import { listDagRuns } from '../../src/store/dagRuns.ts';
import { pullXCom } from '../../src/store/xcom.ts';
import { runDagInProcess } from '../../src/testing/index.ts';
import { forEachDialect } from '../support/dialects.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { stopPostgres } from '../support/postgres.ts';

const secrets = new SecretsLookup({ env: {} });

/** check → x → y (all_done) → z; check → w. */
function shortCircuitDag(dagId: string, ignoreDownstreamTriggerRules?: boolean): Dag {
  return dag({ dagId }, () => {
    const check = shortCircuitTask({ taskId: 'check', ...(ignoreDownstreamTriggerRules === undefined ? {} : { ignoreDownstreamTriggerRules }) }, () => getCurrentContext().conf['go'] as number);
    const c = check().operator;
    const x = new EmptyOperator({ taskId: 'x' });
    const y = new EmptyOperator({ taskId: 'y', triggerRule: 'all_done' });
    const z = new EmptyOperator({ taskId: 'z' });
    c.before([x, new EmptyOperator({ taskId: 'w' })]);
    x.before(y).before(z);
  });
}

forEachDialect('short-circuit (in process)', (t) => {
  const run = async (d: Dag, conf: Record<string, number>) => {
    const r = await runDagInProcess({ db: t.db, dag: d, fileloc: '/dags/sc.ts', secrets, xcomMaxBytes: 10_000, conf });
    return { result: r, states: Object.fromEntries(r.taskInstances.map((ti) => [ti.task_id, ti.state])) };
  };

  test('truthy: everything runs and the value is the XCom', async () => {
    const { result, states } = await run(shortCircuitDag('sc_truthy'), { go: 5 });
    assert.deepEqual(states, { check: 'success', x: 'success', y: 'success', z: 'success', w: 'success' });
    assert.equal(await pullXCom(t.db, result.run.id, 'check', 'return_value'), 5);
  });

  test('falsy, default (ignore downstream trigger rules): every task below is skipped, even all_done', async () => {
    const { result, states } = await run(shortCircuitDag('sc_all'), { go: 0 });
    assert.deepEqual(states, { check: 'success', x: 'skipped', y: 'skipped', z: 'skipped', w: 'skipped' });
    assert.equal(result.state, 'success');
  });

  test('falsy, ignoreDownstreamTriggerRules false: only direct downstream skipped; all_done below still runs', async () => {
    const { states } = await run(shortCircuitDag('sc_direct', false), { go: 0 });
    assert.deepEqual(states, { check: 'success', x: 'skipped', w: 'skipped', y: 'success', z: 'success' });
  });

  test('ShortCircuitOperator class', async () => {
    const d = dag({ dagId: 'sc_class' }, () => {
      new ShortCircuitOperator({ taskId: 'check', condition: (ctx) => ctx.conf['go'] === 1 }).before(new EmptyOperator({ taskId: 'after' }));
    });
    assert.deepEqual((await run(d, { go: 1 })).states, { check: 'success', after: 'success' });
    assert.deepEqual((await run(d, { go: 2 })).states, { check: 'success', after: 'skipped' });
  });
});

// Three daily intervals before today: runs for [d-3, d-2], [d-2, d-1] and [d-1, today]; only the last is
// the latest (the interval after it contains now).
const LATEST_ONLY = `
import { dag, EmptyOperator, LatestOnlyOperator } from 'capstan';
const DAY = 86_400_000;
export default dag({ dagId: 'latest', schedule: '@daily', catchup: true, startDate: new Date(Math.floor(Date.now() / DAY) * DAY - 3 * DAY) }, () => {
  new LatestOnlyOperator({ taskId: 'latest_only' }).before(new EmptyOperator({ taskId: 'work' })).before(new EmptyOperator({ taskId: 'after', triggerRule: 'all_done' }));
});
`;

describe('latest-only through the scheduler [sqlite]', () => {
  let t: TestEngine;
  before(async () => {
    t = await startTestEngine({ dialect: 'sqlite', dags: { 'latest.ts': LATEST_ONLY } });
  });
  after(async () => {
    await t.stop();
  });

  test('older catch-up runs skip the work, the latest and a manual run do not', async () => {
    const deadline = Date.now() + 30_000;
    let runs = await listDagRuns(t.engine.db, { dagId: 'latest' });
    while (!(runs.length >= 3 && runs.every((r) => r.state === 'success'))) {
      if (Date.now() > deadline) assert.fail(`runs did not finish: ${JSON.stringify(runs.map((r) => [r.run_id, r.state]))}`);
      await new Promise((r) => setTimeout(r, 100));
      runs = await listDagRuns(t.engine.db, { dagId: 'latest' });
    }
    const scheduled = runs.filter((r) => r.run_type === 'scheduled').sort((a, b) => (a.data_interval_end ?? 0) - (b.data_interval_end ?? 0));
    assert.equal(scheduled.length, 3);
    const states = await Promise.all(scheduled.map((r) => t.taskStates('latest', r.run_id)));
    assert.deepEqual(states.slice(0, 2), [
      { latest_only: 'success', work: 'skipped', after: 'success' },
      { latest_only: 'success', work: 'skipped', after: 'success' },
    ]);
    assert.deepEqual(states[2], { latest_only: 'success', work: 'success', after: 'success' });
    await t.trigger('latest', { runId: 'manual_1' });
    await t.waitForRun('latest', 'manual_1');
    assert.deepEqual(await t.taskStates('latest', 'manual_1'), { latest_only: 'success', work: 'success', after: 'success' });
  });
});

after(async () => {
  await stopPostgres();
});
