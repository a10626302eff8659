/**
 * Sanity of the state tables: every state is reachable, a finished task instance only runs again after
 * a clear (its exits never lead straight back into work), every state can be cleared, and the
 * predicates derived from the table agree with it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  canTransition,
  DAG_RUN_STATES,
  DAG_RUN_TRANSITIONS,
  isDagRunTerminal,
  isTaskInstanceState,
  isTerminal,
  statesLeadingTo,
  TASK_INSTANCE_STATES,
  TERMINAL_TI_STATES,
  TI_TRANSITIONS,
  type TaskInstanceState,
} from '../../src/core/states.ts';

function reachable<S extends string>(from: S, table: Readonly<Record<S, readonly S[]>>): Set<S> {
  const seen = new Set<S>([from]);
  const stack: S[] = [from];
  while (stack.length > 0) {
    for (const next of table[stack.pop() as S]) {
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(next);
    }
  }
  return seen;
}

/** States in which a task instance is (about to be) worked on. */
const WORKING: TaskInstanceState[] = ['scheduled', 'queued', 'running', 'deferred', 'up_for_retry', 'up_for_reschedule'];

describe('task-instance states', () => {
  test('the table has a row for every state and names only known states', () => {
    assert.deepEqual(Object.keys(TI_TRANSITIONS).sort(), [...TASK_INSTANCE_STATES].sort());
    for (const targets of Object.values(TI_TRANSITIONS)) for (const s of targets) assert.ok(isTaskInstanceState(s), s);
  });

  test('every state is reachable from none, and none from every state (a clear)', () => {
    assert.deepEqual([...reachable('none', TI_TRANSITIONS)].sort(), [...TASK_INSTANCE_STATES].sort());
    for (const s of TASK_INSTANCE_STATES) if (s !== 'none') assert.ok(canTransition(s, 'none'), `${s} → none`);
  });

  test('the normal life of a try is legal', () => {
    const paths: TaskInstanceState[][] = [
      ['none', 'scheduled', 'queued', 'running', 'success'],
      ['none', 'scheduled', 'queued', 'running', 'up_for_retry', 'scheduled', 'queued', 'running', 'failed'],
      ['none', 'scheduled', 'queued', 'running', 'deferred', 'scheduled', 'queued', 'running', 'skipped'],
      ['none', 'scheduled', 'queued', 'running', 'up_for_reschedule', 'scheduled'],
      ['none', 'upstream_failed'],
      ['none', 'skipped'],
    ];
    for (const path of paths) for (let i = 1; i < path.length; i++) assert.ok(canTransition(path[i - 1] as TaskInstanceState, path[i] as TaskInstanceState), path.join(' → '));
  });

  test('terminal states never lead straight back into work: only clear (none), a mark, or removal', () => {
    for (const s of TERMINAL_TI_STATES) {
      for (const next of TI_TRANSITIONS[s]) {
        assert.ok(!WORKING.includes(next), `${s} → ${next}`);
        assert.ok(['none', 'success', 'failed', 'removed'].includes(next), `${s} → ${next}`);
      }
      assert.ok(canTransition(s, 'none'), `${s} can be cleared`);
    }
    assert.deepEqual(TI_TRANSITIONS.removed, ['none']);
  });

  test('nothing moves to itself; nothing skips the queue into running', () => {
    for (const s of TASK_INSTANCE_STATES) assert.equal(canTransition(s, s), false, s);
    assert.deepEqual(statesLeadingTo('running'), ['queued']);
    assert.deepEqual(statesLeadingTo('queued').sort(), ['scheduled']);
  });

  test('isTerminal and statesLeadingTo are derived from the tables', () => {
    assert.deepEqual(TASK_INSTANCE_STATES.filter(isTerminal).sort(), ['failed', 'removed', 'skipped', 'success', 'upstream_failed']);
    for (const to of TASK_INSTANCE_STATES) {
      assert.deepEqual(statesLeadingTo(to), TASK_INSTANCE_STATES.filter((from) => canTransition(from, to)), to);
    }
    assert.equal(isTaskInstanceState('restarting'), false);
  });
});

describe('DAG-run states', () => {
  test('every run state is reachable from queued; finished runs can be queued again (clear)', () => {
    assert.deepEqual([...reachable('queued', DAG_RUN_TRANSITIONS)].sort(), [...DAG_RUN_STATES].sort());
    for (const s of DAG_RUN_STATES.filter(isDagRunTerminal)) assert.ok(DAG_RUN_TRANSITIONS[s].includes('queued'), s);
    assert.deepEqual(DAG_RUN_STATES.filter(isDagRunTerminal), ['success', 'failed']);
  });
});
