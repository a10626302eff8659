/**
 * The trigger-rule evaluator against a table written out by hand from Airflow's documented semantics
 * (with upstream-failure flagging): every rule × representative upstream combinations, including no
 * upstreams and combinations where some upstreams are still running.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TaskInstanceState } from '../../src/core/states.ts';
import { countUpstreams, evaluateTriggerRule, isTriggerRule, TRIGGER_RULES, type TriggerRule } from '../../src/core/triggerRules.ts';

/** Upstream letters: S success, F failed, K skipped, U upstream_failed, N not finished (running). */
const STATE_OF: Record<string, TaskInstanceState> = { S: 'success', F: 'failed', K: 'skipped', U: 'upstream_failed', N: 'running' };
const COMBOS = ['', 'SS', 'FF', 'KK', 'UU', 'SF', 'SK', 'FK', 'SU', 'KU', 'FU', 'SFK', 'SN', 'FN', 'KN', 'UN', 'NN'] as const;

/** Expected decision per combination (in COMBOS order): R run, K skipped, U upstream_failed, W wait. */
const EXPECTED: Record<TriggerRule, string> = {
  //                              '' SS FF KK UU SF SK FK SU KU FU SFK SN FN KN UN NN
  all_success:                  'R  R  U  K  U  U  K  U  U  U  U  U   W  U  K  U  W',
  all_failed:                   'R  K  R  K  R  K  K  K  K  K  R  K   K  W  K  W  W',
  all_done:                     'R  R  R  R  R  R  R  R  R  R  R  R   W  W  W  W  W',
  all_skipped:                  'R  K  K  R  K  K  K  K  K  K  K  K   K  K  W  K  W',
  one_success:                  'R  R  U  K  U  R  R  U  R  U  U  R   R  W  W  W  W',
  one_failed:                   'R  K  R  K  R  R  K  R  R  R  R  R   W  R  W  R  W',
  one_done:                     'R  R  R  K  K  R  R  R  R  K  R  R   R  R  W  W  W',
  none_failed:                  'R  R  U  R  U  U  R  U  U  U  U  U   W  U  W  U  W',
  none_failed_min_one_success:  'R  R  U  K  U  U  R  U  U  U  U  U   W  U  W  U  W',
  none_skipped:                 'R  R  R  K  R  R  K  K  R  K  R  K   W  W  K  W  W',
  always:                       'R  R  R  R  R  R  R  R  R  R  R  R   R  R  R  R  R',
};

function decide(rule: TriggerRule, combo: string): string {
  const d = evaluateTriggerRule(rule, countUpstreams([...combo].map((c) => STATE_OF[c] as TaskInstanceState)));
  if (d.kind === 'run') return 'R';
  if (d.kind === 'wait') return 'W';
  return d.state === 'skipped' ? 'K' : 'U';
}

describe('trigger rules', () => {
  test('the table covers every rule', () => {
    assert.deepEqual(Object.keys(EXPECTED).sort(), [...TRIGGER_RULES].sort());
  });

  for (const rule of TRIGGER_RULES) {
    test(`${rule} over every combination`, () => {
      const expected = EXPECTED[rule].split(/\s+/);
      assert.equal(expected.length, COMBOS.length);
      const actual = COMBOS.map((c) => decide(rule, c));
      const rows = COMBOS.map((c, i) => `${c || '(none)'}=${actual[i]}`);
      assert.deepEqual(actual, expected, `${rule}: ${rows.join(' ')}`);
    });
  }

  test('order of upstreams does not matter', () => {
    for (const rule of TRIGGER_RULES) {
      for (const combo of COMBOS) assert.equal(decide(rule, [...combo].reverse().join('')), decide(rule, combo), `${rule} ${combo}`);
    }
  });

  test('removed upstreams count as done but neither success nor failure', () => {
    const c = countUpstreams(['removed', 'success']);
    assert.deepEqual(c, { total: 2, success: 1, skipped: 0, failed: 0, upstreamFailed: 0, removed: 1, done: 2 });
    assert.deepEqual(evaluateTriggerRule('all_done', countUpstreams(['removed'])), { kind: 'run' });
    assert.deepEqual(evaluateTriggerRule('all_done', countUpstreams(['removed', 'queued'])), { kind: 'wait' });
  });

  test('counts tally each state; unfinished states are not done', () => {
    const c = countUpstreams(['success', 'failed', 'skipped', 'upstream_failed', 'queued', 'up_for_retry', 'none']);
    assert.deepEqual(c, { total: 7, success: 1, skipped: 1, failed: 1, upstreamFailed: 1, removed: 0, done: 4 });
  });

  test('isTriggerRule accepts exactly the rules', () => {
    for (const r of TRIGGER_RULES) assert.ok(isTriggerRule(r));
    for (const bad of ['', 'ALL_SUCCESS', 'all-success', 'dummy', 'none_failed_or_skipped']) assert.equal(isTriggerRule(bad), false, bad);
  });
});
