import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachCliDialect } from './capstan.ts';

forEachCliDialect('capstan pools', (t) => {
  void test('set creates and updates a pool; get and list show usage', async () => {
    const set = await t.run(['pools', 'set', 'warehouse', '4', '--description', 'DW queries']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal((await t.run(['pools', 'set', 'warehouse', '6', '--include-deferred'])).code, 0);
    const got = JSON.parse((await t.run(['-o', 'json', 'pools', 'get', 'warehouse'])).stdout) as Record<string, unknown>;
    assert.deepEqual(got, { name: 'warehouse', slots: 6, occupied: 0, running: 0, queued: 0, deferred: 0, open: 6, include_deferred: true, description: 'DW queries' });
    const list = JSON.parse((await t.run(['-o', 'json', 'pools', 'list'])).stdout) as Array<{ name: string }>;
    assert.deepEqual(list.map((p) => p.name), ['default_pool', 'warehouse']);
    const audit = await t.db.db.selectFrom('audit_log').select('event').where('event', '=', 'pool.set').execute();
    assert.equal(audit.length, 2);
  });

  void test('bad input exits 2; missing pools exit 3', async () => {
    const [x, negative, fraction, dflt, getMissing, deleteMissing] = await Promise.all([
      t.run(['pools', 'set', 'p', 'x']),
      t.run(['pools', 'set', 'p', '-1']),
      t.run(['pools', 'set', 'p', '1.5']),
      t.run(['pools', 'delete', 'default_pool']),
      t.run(['pools', 'get', 'nope']),
      t.run(['pools', 'delete', 'nope']),
    ]);
    for (const out of [x, negative, fraction]) {
      assert.equal(out.code, 2, out.stderr);
      assert.match(out.stderr, /<slots>: .* is not a whole number/);
    }
    assert.equal(dflt.code, 2);
    assert.match(dflt.stderr, /'default_pool' cannot be deleted/);
    assert.equal(getMissing.code, 3);
    assert.equal(deleteMissing.code, 3);
  });

  void test('a pool with running tasks is only deleted with --force', async () => {
    const run = await t.db.db
      .insertInto('dag_run')
      .values({ dag_id: 'd', run_id: 'r', run_type: 'manual', state: 'running', conf: '{}', clear_number: 0, created_at: 1, updated_at: 1 })
      .returning('id')
      .executeTakeFirstOrThrow();
    await t.db.db
      .insertInto('task_instance')
      .values({ id: 'ti-1', dag_run_id: Number(run.id), dag_id: 'd', run_id: 'r', task_id: 't', map_index: -1, state: 'running', try_number: 1, max_tries: 0, operator: 'Op', pool: 'warehouse', pool_slots: 2, priority_weight: 1, queue: 'default', updated_at: 1 })
      .execute();
    const got = JSON.parse((await t.run(['-o', 'json', 'pools', 'get', 'warehouse'])).stdout) as Record<string, unknown>;
    assert.deepEqual([got['running'], got['occupied'], got['open']], [2, 2, 4]);
    const refused = await t.run(['pools', 'delete', 'warehouse']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /error \[conflict\].*2 slot/);
    assert.equal((await t.run(['pools', 'delete', 'warehouse', '--force'])).code, 0);
    assert.equal((await t.run(['pools', 'get', 'warehouse'])).code, 3);
  });
});
