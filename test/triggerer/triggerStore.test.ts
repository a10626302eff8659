/**
 * The trigger table's verbs on both dialects: claiming respects capacity and never hands one trigger to
 * two live triggerers (also when they claim at the same moment); a dead triggerer's triggers are taken
 * over, a live one's are not; an event resumes its task once (continuing the try); a failure resumes it
 * into `__fail__`; unused trigger rows are deleted.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { MetadataDb } from '../../src/store/db.ts';
import { JobRegistry } from '../../src/store/jobs.ts';
import { assignedTriggers, claimTriggers, deleteUnusedTriggers, failDeferral, fireTrigger, insertTrigger, parseNextKwargs, releaseTriggers } from '../../src/store/triggers.ts';
import { forEachDialect } from '../support/dialects.ts';

let runSeq = 0;

/** A run with `n` deferred task instances, each on its own trigger; returns the trigger ids. */
async function deferredTasks(m: MetadataDb, n: number): Promise<{ triggerIds: number[]; tiIds: string[] }> {
  const now = 1_000;
  const runId = `run${++runSeq}`;
  const run = await m.db
    .insertInto('dag_run')
    .values({ dag_id: 'd', run_id: runId, run_type: 'manual', state: 'running', conf: '{}', clear_number: 0, created_at: now, updated_at: now, logical_date: null, data_interval_start: null, data_interval_end: null, queued_at: null, start_date: now, end_date: null, note: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  const triggerIds: number[] = [];
  const tiIds: string[] = [];
  for (let i = 0; i < n; i++) {
    const triggerId = await insertTrigger(m.db, { classpath: 'capstan.DateTimeTrigger', kwargs: { moment: '2030-01-01T00:00:00Z' } }, now);
    const id = randomUUID();
    await m.db
      .insertInto('task_instance')
      .values({
        id, dag_run_id: Number(run.id), dag_id: 'd', run_id: runId, task_id: `t${i}`, map_index: -1, state: 'deferred', try_number: 1, max_tries: 0,
        operator: 'X', pool: 'default_pool', pool_slots: 1, priority_weight: 1, queue: 'default', executor: null, hostname: 'h', pid: 4242,
        external_executor_id: null, queued_at: now, start_date: now, end_date: null, duration_ms: null, next_retry_at: null, last_heartbeat_at: now,
        exit_code: null, failure_reason: null, rendered_fields: null, trigger_id: triggerId, next_method: 'resume', next_kwargs: JSON.stringify({ kwargs: { i } }),
        trigger_timeout_at: null, queued_by_job_id: null, updated_at: now,
      })
      .execute();
    triggerIds.push(triggerId);
    tiIds.push(id);
  }
  return { triggerIds, tiIds };
}

forEachDialect('trigger store', (t) => {
  void test('claims respect capacity, skip live owners, and take over from dead ones', async () => {
    const { triggerIds } = await deferredTasks(t.db, 5);
    let clock = 10_000;
    const jobs = new JobRegistry(t.db, { now: () => clock });
    const live = () => ({ thresholdMs: 1_000, now: clock });
    const [A, B] = [await jobs.register('triggerer'), await jobs.register('triggerer')];
    const a = await claimTriggers(t.db, A, live(), 3);
    assert.equal(a.length, 3);
    const b = await claimTriggers(t.db, B, live(), 10);
    assert.deepEqual([...a, ...b].sort((x, y) => x - y), [...triggerIds].sort((x, y) => x - y), 'each trigger claimed once');
    const C = await jobs.register('triggerer');
    assert.deepEqual(await claimTriggers(t.db, C, live(), 10), [], 'nothing to take from live triggerers');
    clock += 1_500; // A's heartbeat ages out; B and C beat
    assert.equal(await jobs.heartbeat(B), true);
    assert.equal(await jobs.heartbeat(C), true);
    const c = await claimTriggers(t.db, C, live(), 10);
    assert.deepEqual(c.sort((x, y) => x - y), [...a].sort((x, y) => x - y), "A is dead: C takes exactly A's triggers");
    assert.deepEqual((await assignedTriggers(t.db, C)).map((x) => x.id).sort((x, y) => x - y), c);
    assert.equal(await jobs.end(B, 'success'), true);
    assert.deepEqual((await claimTriggers(t.db, C, live(), 10)).sort((x, y) => x - y), [...b].sort((x, y) => x - y), 'an ended job is dead even with a fresh heartbeat');
    assert.deepEqual(await claimTriggers(t.db, A, live(), 10), [], 'a dead job takes nothing from a live one');
    await releaseTriggers(t.db, C);
    assert.deepEqual(await assignedTriggers(t.db, C), []);
  });

  void test('an owner that registered after the claimer looked is live: its fresh claims are not taken', async () => {
    // The race seen with real processes: X lists live triggerers, then Y registers and claims; X's claim
    // must see Y as live, since Y's job row is older than Y's claims.
    const { triggerIds } = await deferredTasks(t.db, 4);
    const jobs = new JobRegistry(t.db, { now: () => 50_000 });
    const live = { thresholdMs: 1_000, now: 50_000 };
    const X = await jobs.register('triggerer');
    const Y = await jobs.register('triggerer');
    const y = await claimTriggers(t.db, Y, live, 10);
    assert.ok(triggerIds.every((id) => y.includes(id)));
    assert.deepEqual((await claimTriggers(t.db, X, live, 10)).filter((id) => triggerIds.includes(id)), []);
  });

  void test('concurrent claims by two triggerers never share a trigger', async () => {
    const { triggerIds } = await deferredTasks(t.db, 40);
    const jobs = new JobRegistry(t.db, { now: () => 90_000 });
    const live = { thresholdMs: 1_000, now: 90_000 };
    const [P, Q] = [await jobs.register('triggerer'), await jobs.register('triggerer')];
    const [p, q] = await Promise.all([claimTriggers(t.db, P, live, 30), claimTriggers(t.db, Q, live, 30)]);
    const claimedOfRun = [...p, ...q].filter((id) => triggerIds.includes(id));
    assert.equal(new Set(claimedOfRun).size, claimedOfRun.length, 'no trigger claimed twice');
    const owners = await t.db.db.selectFrom('trigger').select(['id', 'triggerer_id']).where('id', 'in', triggerIds).execute();
    for (const o of owners) {
      if (o.triggerer_id === P) assert.ok(p.includes(Number(o.id)));
      if (o.triggerer_id === Q) assert.ok(q.includes(Number(o.id)));
    }
  });

  void test('an event resumes its task once, in the same try; a failure resumes into __fail__; unused rows go', async () => {
    const { triggerIds, tiIds } = await deferredTasks(t.db, 3);
    const [t0 = 0, t1 = 0, t2 = 0] = triggerIds;
    assert.equal((await fireTrigger(t.db, t0, { at: 'now' }, 2_000)).length, 1);
    assert.deepEqual(await fireTrigger(t.db, t0, { at: 'again' }, 2_001), [], 'a second event is not written');
    const ti0 = await t.db.db.selectFrom('task_instance').selectAll().where('id', '=', tiIds[0] ?? '').executeTakeFirstOrThrow();
    assert.equal(ti0.state, 'scheduled');
    assert.equal(ti0.continue_try, 1);
    assert.equal(ti0.trigger_id, null);
    assert.equal(ti0.next_method, 'resume');
    assert.deepEqual(parseNextKwargs(ti0.next_kwargs), { kwargs: { i: 0 }, event: { at: 'now' } });

    await failDeferral(t.db, { triggerId: t1 }, { kind: 'error', error: 'boom' }, 2_000);
    const ti1 = await t.db.db.selectFrom('task_instance').selectAll().where('id', '=', tiIds[1] ?? '').executeTakeFirstOrThrow();
    assert.equal(ti1.next_method, '__fail__');
    assert.deepEqual(parseNextKwargs(ti1.next_kwargs).event, { kind: 'error', error: 'boom' });

    // The third task was cleared meanwhile: its trigger row is unused.
    await t.db.db.updateTable('task_instance').set({ state: 'none' }).where('id', '=', tiIds[2] ?? '').execute();
    assert.ok((await deleteUnusedTriggers(t.db)) >= 1);
    const left = await t.db.db.selectFrom('trigger').select('id').where('id', 'in', [t0, t1, t2]).execute();
    assert.deepEqual(left, [], 'fired, failed and unused trigger rows are gone');
  });
});
