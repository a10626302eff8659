/**
 * Two schedulers deciding the same run at the same moment (two connections to one database, each with its
 * own run snapshot) expand a mapped task exactly once: n task instances, each scheduled by one of them,
 * and neither mistakes the other's expansion for a deadlock. Then the store-level outcomes of expansion:
 * too long and unmappable inputs fail the placeholder, zero elements skip it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IndexedDag } from '../../src/services/dagCache.ts';
import { expandMappedTask } from '../../src/scheduler/expansion.ts';
import { scheduleRun } from '../../src/scheduler/runScheduling.ts';
import { RunSnapshot } from '../../src/scheduler/runSnapshot.ts';
import { dag, task } from '../../src/sdk/index.ts';
import { openMetadataDb, type MetadataDb } from '../../src/store/db.ts';
import { upsertSerializedDag } from '../../src/store/dags.ts';
import { createDagRun } from '../../src/store/dagRuns.ts';
import { listTaskInstances, transitionTis } from '../../src/store/taskInstances.ts';
import { encodeXCom, pushXCom } from '../../src/store/xcom.ts';
import type { JsonValue } from '../../src/core/serialized.ts';
import { forEachDialect } from '../support/dialects.ts';

function mappedDag(): IndexedDag {
  const d = dag({ dagId: 'race' }, () => {
    const items = task({ taskId: 'items' }, (): number[] => []);
    const each = task({ taskId: 'each' }, (x: number) => x);
    each.expand(items());
  });
  const s = d.serialize('/dags/race.ts');
  return { dag: s, hash: 'test', tasks: new Map(s.tasks.map((t) => [t.taskId, t])) };
}

/** A run whose `items` succeeded having returned `value`. */
async function runWithItems(m: MetadataDb, idx: IndexedDag, runId: string, value: JsonValue) {
  const now = Date.now();
  await upsertSerializedDag(m, idx.dag, now);
  const run = await createDagRun(m, { dagId: 'race', runId, runType: 'manual', logicalDate: now, dataIntervalStart: now, dataIntervalEnd: now, conf: {} }, idx.dag, now);
  const items = (await listTaskInstances(m, { dagRunId: run.id })).find((t) => t.task_id === 'items');
  assert.ok(items);
  await transitionTis(m, [items.id], 'success', now);
  await pushXCom(m, { dagRunId: run.id, dagId: 'race', runId, taskId: 'items', mapIndex: -1 }, 'return_value', encodeXCom({ taskId: 'items' }, 'return_value', value, 1_000_000), now);
  return run;
}

forEachDialect('mapped task expansion', (t) => {
  test('a scheduler deciding from a snapshot taken before another expanded the task does not expand it again', async () => {
    const idx = mappedDag();
    const run = await runWithItems(t.db, idx, 'stale', [10, 20, 30]);
    const now = Date.now();
    const [first, second] = [new RunSnapshot(run.id), new RunSnapshot(run.id)];
    await first.sync(t.db, now);
    await second.sync(t.db, now);
    const a = await scheduleRun(t.db, run, idx, first, new Set(['each']), now, async () => null);
    const b = await scheduleRun(t.db, run, idx, second, new Set(['each']), now, async () => null);
    assert.deepEqual([a.scheduled, b.scheduled], [3, 0]);
    assert.equal(b.finalState, null, 'the late scheduler waits for the rows instead of judging the run deadlocked');
    const rows = (await listTaskInstances(t.db, { dagRunId: run.id })).filter((r) => r.task_id === 'each');
    assert.deepEqual(rows.map((r) => [r.map_index, r.state]).sort((x, y) => Number(x[0]) - Number(y[0])), [[0, 'scheduled'], [1, 'scheduled'], [2, 'scheduled']]);
    await second.sync(t.db, now + 1);
    assert.deepEqual(second.statesOf('each'), ['scheduled', 'scheduled', 'scheduled'], 'its next sync sees the other scheduler\'s rows');
  });

  // Two connections in one process deadlock on SQLite (its busy wait blocks the event loop the lock
  // holder needs), and SQLite runs one scheduler; concurrent schedulers are a PostgreSQL setup.
  test('two schedulers expanding one task at once make n task instances, each scheduled once', { skip: t.dialect === 'sqlite' && 'concurrent schedulers need PostgreSQL' }, async () => {
    const idx = mappedDag();
    const n = 300;
    const run = await runWithItems(t.db, idx, 'r1', Array.from({ length: n }, (_, i) => i));
    const other = openMetadataDb(t.db.url);
    try {
      const now = Date.now();
      const decide = async (m: MetadataDb) => {
        const snap = new RunSnapshot(run.id);
        await snap.sync(m, now);
        return scheduleRun(m, run, idx, snap, new Set(['each']), now, async () => null);
      };
      const [a, b] = await Promise.all([decide(t.db), decide(other)]);
      const rows = (await listTaskInstances(t.db, { dagRunId: run.id })).filter((r) => r.task_id === 'each');
      assert.deepEqual(rows.map((r) => r.map_index).sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i));
      assert.ok(rows.every((r) => r.state === 'scheduled'));
      assert.equal(a.scheduled + b.scheduled, n, `each index scheduled by exactly one (${a.scheduled} + ${b.scheduled})`);
      assert.equal(a.finalState, null);
      assert.equal(b.finalState, null);
    } finally {
      await other.close();
    }
  });

  test('too long and unmappable inputs fail the placeholder with the reason; zero elements skip it', async () => {
    const idx = mappedDag();
    const each = idx.tasks.get('each');
    assert.ok(each);
    const cases: Array<[string, JsonValue, string, RegExp]> = [
      ['long', [1, 2, 3, 4], 'failed', /would expand to 4 task instances; the limit is 3 \(core\.maxMapLength\)/],
      ['scalar', 42, 'failed', /XCom 'return_value' of task 'items'.*a number, not a list or an object/],
      ['empty', {}, 'skipped', /expanded to zero task instances/],
    ];
    for (const [runId, value, state, reason] of cases) {
      const run = await runWithItems(t.db, idx, runId, value);
      const snap = new RunSnapshot(run.id);
      await snap.sync(t.db, Date.now());
      const outcome = await expandMappedTask(t.db, run, idx, each, snap, Date.now(), 3);
      assert.equal(outcome.kind, 'ended', runId);
      const rows = (await listTaskInstances(t.db, { dagRunId: run.id })).filter((r) => r.task_id === 'each');
      assert.deepEqual(rows.map((r) => [r.map_index, r.state]), [[-1, state]], runId);
      assert.match(rows[0]?.failure_reason ?? '', reason, runId);
      assert.deepEqual(snap.statesOf('each'), [state], 'the snapshot follows the store');
    }
  });
});
