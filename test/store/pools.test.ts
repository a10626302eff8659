import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CapstanError } from '../../src/core/errors.ts';
import type { TaskInstanceState } from '../../src/core/states.ts';
import type { MetadataDb } from '../../src/store/db.ts';
import { DEFAULT_POOL, PoolStore } from '../../src/store/pools.ts';
import { forEachDialect } from '../support/dialects.ts';

/** Insert one DAG run with task instances in the given pools and states. */
async function seedTasks(m: MetadataDb, runId: string, tasks: Array<{ pool: string; state: TaskInstanceState; slots?: number }>): Promise<void> {
  const run = await m.db
    .insertInto('dag_run')
    .values({ dag_id: 'd', run_id: runId, run_type: 'manual', state: 'running', conf: '{}', clear_number: 0, created_at: 1, updated_at: 1 })
    .returning('id')
    .executeTakeFirstOrThrow();
  let i = 0;
  for (const t of tasks) {
    i += 1;
    await m.db
      .insertInto('task_instance')
      .values({
        id: `${runId}-${i}`,
        dag_run_id: Number(run.id),
        dag_id: 'd',
        run_id: runId,
        task_id: `t${i}`,
        map_index: -1,
        state: t.state,
        try_number: 1,
        max_tries: 0,
        operator: 'TaskOperator',
        pool: t.pool,
        pool_slots: t.slots ?? 1,
        priority_weight: 1,
        queue: 'default',
        updated_at: 1,
      })
      .execute();
  }
}

forEachDialect('pools', (t) => {
  const pools = () => new PoolStore(t.db);

  void test('default_pool exists after migration with 128 open slots', async () => {
    const p = await pools().get(DEFAULT_POOL);
    assert.deepEqual(p, { name: DEFAULT_POOL, slots: 128, description: 'Default pool', includeDeferred: false, running: 0, queued: 0, deferred: 0, occupied: 0, open: 128 });
  });

  void test('set creates, then updates only what is given', async () => {
    assert.deepEqual(await pools().set('wh', { slots: 4, description: 'warehouse' }), { name: 'wh', slots: 4, description: 'warehouse', includeDeferred: false });
    assert.deepEqual(await pools().set('wh', { slots: 6, includeDeferred: true }), { name: 'wh', slots: 6, description: 'warehouse', includeDeferred: true });
    assert.deepEqual(await pools().set('wh', { slots: 6, description: null, includeDeferred: false }), { name: 'wh', slots: 6, description: null, includeDeferred: false });
  });

  void test('usage counts running and queued slots, deferred only when the pool includes it', async () => {
    await pools().set('busy', { slots: 10 });
    await pools().set('busy_deferred', { slots: 10, includeDeferred: true });
    await seedTasks(t.db, 'r1', [
      { pool: 'busy', state: 'running', slots: 2 },
      { pool: 'busy', state: 'queued' },
      { pool: 'busy', state: 'deferred', slots: 3 },
      { pool: 'busy', state: 'success', slots: 5 },
      { pool: 'busy', state: 'scheduled' },
      { pool: 'busy_deferred', state: 'running' },
      { pool: 'busy_deferred', state: 'deferred', slots: 3 },
    ]);
    const busy = await pools().get('busy');
    assert.deepEqual(
      [busy?.running, busy?.queued, busy?.deferred, busy?.occupied, busy?.open],
      [2, 1, 3, 3, 7],
    );
    const withDeferred = await pools().get('busy_deferred');
    assert.deepEqual([withDeferred?.occupied, withDeferred?.open], [4, 6]);
    const listed = await pools().list();
    assert.deepEqual(listed.map((p) => p.name), ['busy', 'busy_deferred', DEFAULT_POOL, 'wh']);
    assert.equal(listed.find((p) => p.name === 'busy')?.occupied, 3);
    assert.equal(listed.find((p) => p.name === 'wh')?.occupied, 0);
  });

  void test('delete refuses default_pool, missing pools, and busy pools unless forced', async () => {
    const code = (c: string) => (err: unknown) => err instanceof CapstanError && err.code === c;
    await assert.rejects(pools().delete(DEFAULT_POOL), code('invalid_argument'));
    await assert.rejects(pools().delete('nope'), code('not_found'));
    await assert.rejects(pools().delete('busy'), (err: unknown) => code('conflict')(err) && /3 slot/.test((err as Error).message));
    assert.ok(await pools().get('busy'));
    await pools().delete('busy', { force: true });
    assert.equal(await pools().get('busy'), undefined);
    await pools().delete('wh');
    assert.equal(await pools().get('wh'), undefined);
    assert.ok(await pools().get(DEFAULT_POOL));
  });

  void test('slots must be a whole number >= 0 and names non-empty', async () => {
    for (const [name, slots] of [['p', -1], ['p', 1.5], ['p', Number.NaN], ['', 1], [' p', 1]] as const) {
      await assert.rejects(pools().set(name, { slots }), (err: unknown) => err instanceof CapstanError && err.code === 'invalid_argument');
    }
    assert.equal((await pools().set('zero', { slots: 0 })).slots, 0);
  });
});
