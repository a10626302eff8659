/**
 * Every trigger rule end to end: upstream tasks end success (`exit 0`), failed (`exit 1`), skipped
 * (`exit 99`) or upstream_failed in known combinations; each of the 11 rules sits below each combination,
 * and the final states are checked against Airflow's semantics written out by hand below (not computed
 * with the rule evaluator under test). Also checked: skip / upstream_failed propagating further down, and
 * the run's final state (failed exactly when a leaf ended failed or upstream_failed).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { stopPostgres } from '../support/postgres.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

/** Upstream combinations: S success, F failed, K skipped, U upstream_failed. */
const COMBOS: Record<string, string[]> = {
  SS: ['s1', 's2'],
  FF: ['f1', 'f2'],
  KK: ['k1', 'k2'],
  SF: ['s1', 'f1'],
  SK: ['s1', 'k1'],
  FK: ['f1', 'k1'],
  SFK: ['s1', 'f1', 'k1'],
  SU: ['s1', 'u1'],
  FU: ['f1', 'u1'],
  KU: ['k1', 'u1'],
};

/**
 * Airflow's outcome of each rule for each combination: R the task runs (and succeeds here), K skipped,
 * U upstream_failed; `.` means the rule is not placed below that combination. Columns follow COMBOS' order.
 */
const EXPECTED: Record<string, string> = {
  //                           SS FF KK SF SK FK SFK SU FU KU
  all_success: /*          */ 'R  U  K  U  K  U  U   U  U  U',
  all_failed: /*           */ 'K  R  K  K  K  K  K   K  R  K',
  // The two rules that always run are placed below the combinations with a failure or a skip only.
  all_done: /*             */ '.  R  R  .  .  R  .   .  R  R',
  all_skipped: /*          */ 'K  K  R  K  K  K  K   K  K  K',
  one_success: /*          */ 'R  U  K  R  R  U  R   R  U  U',
  one_failed: /*           */ 'K  R  K  R  K  R  R   R  R  R',
  one_done: /*             */ 'R  R  K  R  R  R  R   R  R  K',
  none_failed: /*          */ 'R  U  R  U  R  U  U   U  U  U',
  none_failed_min_one_success: 'R  U  K  U  R  U  U   U  U  U',
  none_skipped: /*         */ 'R  R  K  R  K  K  K   R  R  K',
  always: /*               */ '.  R  R  .  .  R  .   .  R  R',
};

const STATE_OF: Record<string, string> = { R: 'success', K: 'skipped', U: 'upstream_failed' };

function expectedStates(): Record<string, string> {
  const out: Record<string, string> = {};
  const combos = Object.keys(COMBOS);
  for (const [rule, row] of Object.entries(EXPECTED)) {
    const cells = row.trim().split(/\s+/);
    assert.equal(cells.length, combos.length, `expected row of ${rule}`);
    combos.forEach((combo, i) => {
      if (cells[i] !== '.') out[`${rule}__${combo}`] = STATE_OF[cells[i] as string] as string;
    });
  }
  return out;
}

const RULES_DAG = `
import { dag, BashOperator } from 'capstan';
const COMBOS = ${JSON.stringify(COMBOS)};
const RULES = ${JSON.stringify(Object.keys(EXPECTED))};
const PLACED = new Set(${JSON.stringify(Object.keys(expectedStates()))});
export default dag({ dagId: 'rules', schedule: null, maxActiveTasks: 64 }, () => {
  const t = (taskId, cmd, extra = {}) => new BashOperator({ taskId, bashCommand: cmd, ...extra });
  const src = {
    s1: t('s1', 'exit 0'), s2: t('s2', 'exit 0'),
    f1: t('f1', 'exit 1'), f2: t('f2', 'exit 1'),
    k1: t('k1', 'exit 99', { triggerRule: 'all_done' }), k2: t('k2', 'exit 99', { triggerRule: 'all_done' }),
  };
  // u1 ends upstream_failed: all_success below a failed task.
  src.u1 = t('u1', 'exit 0');
  src.f2.before(src.u1);
  // The skips come last, once every other source has ended, so each rule below is judged on its final
  // upstream states (a rule that may decide early, like all_success on a skip, cannot race a failure).
  for (const k of [src.k1, src.k2]) for (const u of [src.s1, src.s2, src.f1, src.f2, src.u1]) u.before(k);
  for (const rule of RULES) {
    for (const [combo, ups] of Object.entries(COMBOS)) {
      if (!PLACED.has(rule + '__' + combo)) continue;
      const d = t(rule + '__' + combo, 'exit 0', { triggerRule: rule });
      for (const u of ups) src[u].before(d);
    }
  }
  // Propagation further down.
  const p = (id, rule, ...ups) => { const x = t(id, 'exit 0', { triggerRule: rule }); for (const u of ups) u.before(x); return x; };
  const dagTasks = (id) => [...src.s1.dag.tasks.values()].find((x) => x.taskId === id);
  const uf1 = p('uf_1', 'all_success', dagTasks('all_success__SF'));
  p('uf_2', 'all_success', uf1);
  p('uf_done', 'all_done', uf1);
  p('uf_one_failed', 'one_failed', uf1);
  p('uf_none_failed', 'none_failed', uf1);
  const sk1 = p('sk_1', 'all_success', dagTasks('all_success__SK'));
  p('sk_2', 'all_success', sk1);
  p('sk_none_failed', 'none_failed', sk1);
  p('sk_one_success', 'one_success', sk1);
  p('sk_none_skipped', 'none_skipped', sk1);
  p('sk_all_skipped', 'all_skipped', sk1);
  // Airflow decides all_success as soon as one upstream skipped or failed, whatever the others do later.
  const kEarly = t('k_early', 'exit 99');
  const fLate = t('f_late', 'exit 1', { triggerRule: 'all_done' });
  kEarly.before(fLate);
  p('early_skip_wins', 'all_success', kEarly, fLate);
  const fEarly = t('f_early', 'exit 1');
  const kLate = t('k_late', 'exit 99', { triggerRule: 'all_done' });
  fEarly.before(kLate);
  p('early_failure_wins', 'all_success', fEarly, kLate);
});
`;

const PROPAGATION: Record<string, string> = {
  uf_1: 'upstream_failed',
  uf_2: 'upstream_failed',
  uf_done: 'success',
  uf_one_failed: 'success',
  uf_none_failed: 'upstream_failed',
  sk_1: 'skipped',
  sk_2: 'skipped',
  sk_none_failed: 'success',
  sk_one_success: 'skipped',
  sk_none_skipped: 'skipped',
  sk_all_skipped: 'success',
  f_late: 'failed',
  early_skip_wins: 'skipped',
  k_late: 'skipped',
  early_failure_wins: 'upstream_failed',
};

/** Small DAGs for the run's final state. */
const RUN_STATE_DAGS = `
import { dag, BashOperator, chain } from 'capstan';
const t = (taskId, cmd, extra = {}) => new BashOperator({ taskId, bashCommand: cmd, ...extra });
// A failure that is not a leaf, followed by an all_done leaf, and a skipped leaf: success.
dag({ dagId: 'run_ok_despite_failure', schedule: null }, () => {
  chain(t('fails', 'exit 1'), t('cleanup', 'exit 0', { triggerRule: 'all_done' }));
  chain(t('skips', 'exit 99'), t('after_skip', 'exit 0'));
});
// Only skipped leaves: success.
dag({ dagId: 'run_all_skipped', schedule: null }, () => {
  chain(t('a', 'exit 0'), t('skips', 'exit 99'), t('leaf', 'exit 0'));
});
// A failed leaf beside a succeeding one: failed.
dag({ dagId: 'run_failed_leaf', schedule: null }, () => {
  const a = t('a', 'exit 0');
  a.before([t('ok', 'exit 0'), t('bad', 'exit 1')]);
});
// An upstream_failed leaf: failed.
dag({ dagId: 'run_upstream_failed_leaf', schedule: null }, () => {
  chain(t('bad', 'exit 1'), t('never', 'exit 0'), t('leaf', 'exit 0'));
  t('other', 'exit 0');
});
`;

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`trigger rules [${dialect}]`, () => {
    let t: TestEngine;
    before(async () => {
      t = await startTestEngine({ dialect, dags: { 'rules.ts': RULES_DAG, 'runs.ts': RUN_STATE_DAGS } });
    });
    after(async () => {
      await t.stop();
    });

    test('each of the 11 rules ends as Airflow decides for every upstream combination, and skips / upstream failures propagate', async () => {
      await t.trigger('rules', { runId: 'r1' });
      const run = await t.waitForRun('rules', 'r1');
      const states = await t.taskStates('rules', 'r1');
      assert.deepEqual(
        { s1: states.s1, s2: states.s2, f1: states.f1, f2: states.f2, k1: states.k1, k2: states.k2, u1: states.u1 },
        { s1: 'success', s2: 'success', f1: 'failed', f2: 'failed', k1: 'skipped', k2: 'skipped', u1: 'upstream_failed' },
      );
      const expected = expectedStates();
      const actual = Object.fromEntries(Object.keys(expected).map((k) => [k, states[k]]));
      assert.deepEqual(actual, expected);
      const propagated = Object.fromEntries(Object.keys(PROPAGATION).map((k) => [k, states[k]]));
      assert.deepEqual(propagated, PROPAGATION);
      // Leaves ended upstream_failed (e.g. all_success__SF's chain), so the run failed.
      assert.equal(run.state, 'failed');
      // Tasks that did not run never got a try.
      for (const ti of await t.taskInstances('rules', 'r1')) {
        if (['k1', 'k2', 'k_early', 'k_late'].includes(ti.task_id)) continue;
        if (ti.state === 'skipped' || ti.state === 'upstream_failed') assert.equal(ti.try_number, 0, `${ti.task_id} ${ti.state} without running`);
        else assert.equal(ti.try_number, 1, `${ti.task_id} ran once`);
      }
    });

    test('the run fails exactly when a leaf ends failed or upstream_failed', async () => {
      const cases: Array<[string, string, Record<string, string>]> = [
        ['run_ok_despite_failure', 'success', { fails: 'failed', cleanup: 'success', skips: 'skipped', after_skip: 'skipped' }],
        ['run_all_skipped', 'success', { a: 'success', skips: 'skipped', leaf: 'skipped' }],
        ['run_failed_leaf', 'failed', { a: 'success', ok: 'success', bad: 'failed' }],
        ['run_upstream_failed_leaf', 'failed', { bad: 'failed', never: 'upstream_failed', leaf: 'upstream_failed', other: 'success' }],
      ];
      for (const [dagId] of cases) await t.trigger(dagId, { runId: 'r1' });
      for (const [dagId, runState, tasks] of cases) {
        const run = await t.waitForRun(dagId, 'r1');
        assert.deepEqual(await t.taskStates(dagId, 'r1'), tasks, dagId);
        assert.equal(run.state, runState, dagId);
      }
    });
  });
}

after(() => stopPostgres());
