/**
 * The critical section's decision on plain data, no database: pool room, DAG limits, executor slots,
 * the starved pools and DAGs left out of the candidate query, and unknown pools.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseTries, openCapacity, starved, type PoolCapacity, type QueueCandidate, type SlotUse } from '../../src/scheduler/queueDecision.ts';

const pool = (name: string, slots: number, includeDeferred = false): PoolCapacity => ({ name, slots, includeDeferred });
const use = (p: string, dagId: string, state: SlotUse['state'], slots: number, count = slots): SlotUse => ({ pool: p, dagId, state, slots, count });
const cand = (id: string, dagId = 'd', p = 'default_pool', poolSlots = 1): QueueCandidate => ({ id, dag_id: dagId, pool: p, pool_slots: poolSlots });
const ids = (cs: readonly QueueCandidate[]) => cs.map((c) => c.id);
const limit = (n: number) => () => n;

test('queued and running tries hold pool slots and count against their DAG; deferred ones only in pools that count them', () => {
  const capacity = openCapacity(
    [pool('a', 10), pool('b', 10, true)],
    [use('a', 'd1', 'queued', 2), use('a', 'd1', 'running', 3), use('a', 'd2', 'deferred', 4), use('b', 'd2', 'deferred', 5)],
  );
  assert.deepEqual([...capacity.poolOpen], [['a', 5], ['b', 5]]);
  assert.deepEqual([...capacity.dagActive], [['d1', 5]]);
});

test('pool_slots is summed separately from the task count: a DAG limit counts tasks, a pool counts slots', () => {
  const capacity = openCapacity([pool('big', 8)], [use('big', 'd', 'running', 6, 2)]);
  assert.equal(capacity.poolOpen.get('big'), 2);
  assert.equal(capacity.dagActive.get('d'), 2);
});

test('full pools and DAGs at their limit are starved (left out of the candidate query)', () => {
  const capacity = openCapacity([pool('full', 2), pool('open', 3), pool('over', 1)], [use('full', 'd1', 'running', 2), use('over', 'd2', 'running', 2), use('open', 'd3', 'queued', 1)]);
  const s = starved(capacity, (dagId) => (dagId === 'd1' ? 2 : 16));
  assert.deepEqual(s.pools.sort(), ['full', 'over']);
  assert.deepEqual(s.dags, ['d1']);
});

test('executor slots cap the choice, in candidate (priority) order', () => {
  const capacity = openCapacity([pool('default_pool', 128)], []);
  const r = chooseTries([cand('1'), cand('2'), cand('3'), cand('4')], capacity, { openExecutorSlots: 2, maxActiveTasks: limit(16) });
  assert.deepEqual(ids(r.chosen), ['1', '2']);
  assert.equal(r.unknownPools.size, 0);
});

test('a task too big for its pool is passed over and a smaller one behind it still fits', () => {
  const capacity = openCapacity([pool('p', 3)], [use('p', 'x', 'running', 1)]);
  const r = chooseTries([cand('big', 'd', 'p', 3), cand('small', 'd', 'p', 2), cand('more', 'd', 'p', 1)], capacity, { openExecutorSlots: 10, maxActiveTasks: limit(16) });
  assert.deepEqual(ids(r.chosen), ['small']);
});

test("each DAG's maxActiveTasks counts what is active plus what this round chooses; other DAGs still queue", () => {
  const capacity = openCapacity([pool('default_pool', 128)], [use('default_pool', 'busy', 'running', 1)]);
  const maxActiveTasks = (dagId: string) => (dagId === 'busy' ? 2 : 1);
  const r = chooseTries([cand('b1', 'busy'), cand('b2', 'busy'), cand('q1', 'quiet'), cand('q2', 'quiet')], capacity, { openExecutorSlots: 10, maxActiveTasks });
  assert.deepEqual(ids(r.chosen), ['b1', 'q1']);
});

test('tasks of a pool that does not exist are set apart by pool, even after the executor slots are used up; the walk stops at the next known-pool task', () => {
  const capacity = openCapacity([pool('default_pool', 128)], []);
  const r = chooseTries([cand('ok'), cand('m1', 'd', 'missing'), cand('late'), cand('m2', 'd', 'missing'), cand('n1', 'd', 'nope')], capacity, { openExecutorSlots: 1, maxActiveTasks: limit(16) });
  assert.deepEqual(ids(r.chosen), ['ok']);
  assert.deepEqual([...r.unknownPools], [['missing', ['m1']]]);
});

test('choosing does not change the capacity it was given (the decision is pure)', () => {
  const capacity = openCapacity([pool('p', 2)], []);
  const before = { pools: [...capacity.poolOpen], dags: [...capacity.dagActive] };
  const first = chooseTries([cand('1', 'd', 'p'), cand('2', 'd', 'p')], capacity, { openExecutorSlots: 5, maxActiveTasks: limit(16) });
  const again = chooseTries([cand('1', 'd', 'p'), cand('2', 'd', 'p')], capacity, { openExecutorSlots: 5, maxActiveTasks: limit(16) });
  assert.deepEqual({ pools: [...capacity.poolOpen], dags: [...capacity.dagActive] }, before);
  assert.deepEqual(ids(first.chosen), ['1', '2']);
  assert.deepEqual(ids(again.chosen), ids(first.chosen));
});

test('no executor slot: nothing is chosen, but unknown pools ahead of the first known-pool candidate are still reported', () => {
  const capacity = openCapacity([pool('default_pool', 128)], []);
  const r = chooseTries([cand('m', 'd', 'missing'), cand('ok')], capacity, { openExecutorSlots: 0, maxActiveTasks: limit(16) });
  assert.deepEqual(r.chosen, []);
  assert.deepEqual([...r.unknownPools], [['missing', ['m']]]);
});
