/**
 * The paged lists and edits behind the v2 admin resources, on both databases: connections (update keeps
 * secrets left out), variables, pools (create/update/usage), XCom entries with sizes, import errors with
 * lines, jobs with the liveness filter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CapstanError } from '../../src/core/errors.ts';
import { createFernet, generateFernetKey } from '../../src/crypto/fernet.ts';
import { ConnectionStore, type Connection } from '../../src/store/connections.ts';
import type { MetadataDb } from '../../src/store/db.ts';
import { ImportErrorStore } from '../../src/store/importErrors.ts';
import { JobRegistry } from '../../src/store/jobs.ts';
import { PoolStore } from '../../src/store/pools.ts';
import { VariableStore } from '../../src/store/variables.ts';
import { getXComEntry, listXComEntries, pushXCom } from '../../src/store/xcom.ts';
import { forEachDialect } from '../support/dialects.ts';

const fernet = createFernet(generateFernetKey());
const conn = (connId: string, fields: Partial<Connection> = {}): Connection => ({ connId, connType: 'postgres', description: null, host: null, schema: null, login: null, password: null, port: null, extra: {}, ...fields });
const isCode = (code: string) => (err: unknown) => err instanceof CapstanError && err.code === code;

async function seedRun(m: MetadataDb, runId: string): Promise<number> {
  const run = await m.db
    .insertInto('dag_run')
    .values({ dag_id: 'd', run_id: runId, run_type: 'manual', state: 'running', conf: '{}', clear_number: 0, created_at: 1, updated_at: 1 })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(run.id);
}

forEachDialect('admin lists', (t) => {
  void test('connections: page searches ids literally and case-insensitively, orders and counts', async () => {
    const store = new ConnectionStore(t.db, { fernet });
    for (const id of ['Warehouse_pg', 'warehouse%x', 'api_http', 'zeta']) await store.add(conn(id, { host: `h-${id}`, port: id.length }));
    const all = await store.page({ limit: 2, offset: 0 });
    assert.deepEqual([all.items.map((c) => c.connId), all.total], [['Warehouse_pg', 'api_http'], 4]);
    const found = await store.page({ limit: 10, offset: 0, search: 'WAREHOUSE' });
    assert.deepEqual(found.items.map((c) => c.connId).sort(), ['Warehouse_pg', 'warehouse%x']);
    assert.deepEqual((await store.page({ limit: 10, offset: 0, search: '%' })).items.map((c) => c.connId), ['warehouse%x']);
    assert.deepEqual((await store.page({ limit: 10, offset: 0, search: '_' })).items.map((c) => c.connId), ['Warehouse_pg', 'api_http']);
    const byPort = await store.page({ limit: 10, offset: 1, sort: { by: 'port', descending: true } });
    assert.deepEqual([byPort.items.map((c) => c.port), byPort.total], [[11, 8, 4], 4]);
  });

  void test('connections: update changes what it is given, keeps a password and extra left out, clears with null', async () => {
    const store = new ConnectionStore(t.db, { fernet });
    await store.add(conn('upd', { host: 'db', login: 'me', password: 's3cret', extra: { sslmode: 'require' } }));
    const changed = await store.update('upd', { host: 'db2', port: 5433 });
    assert.deepEqual([changed.host, changed.port, changed.password, changed.extra], ['db2', 5433, 's3cret', { sslmode: 'require' }]);
    assert.equal((await store.require('upd')).password, 's3cret');
    const row = await t.db.db.selectFrom('connection').selectAll().where('conn_id', '=', 'upd').executeTakeFirstOrThrow();
    assert.ok(row.password !== null && !row.password.includes('s3cret'), 'the password stays encrypted');
    await store.update('upd', { password: null, extra: {} });
    const cleared = await store.require('upd');
    assert.deepEqual([cleared.password, cleared.extra, cleared.login], [null, {}, 'me']);
    await assert.rejects(store.update('missing', { host: 'x' }), isCode('not_found'));
    await assert.rejects(store.update('upd', { port: 70_000 }), isCode('invalid_argument'));
  });

  void test('variables: page searches keys, orders by update time, counts', async () => {
    let clock = 100;
    const store = new VariableStore(t.db, { fernet, now: () => clock++ });
    for (const key of ['b_key', 'a_password', 'c_key']) await store.set(key, `v-${key}`);
    const page = await store.page({ limit: 10, offset: 0, search: '_KEY' });
    assert.deepEqual([page.items.map((v) => v.key), page.total], [['b_key', 'c_key'], 2]);
    const newest = await store.page({ limit: 1, offset: 0, sort: { by: 'updatedAt', descending: true } });
    assert.deepEqual([newest.items.map((v) => v.key), newest.total], [['c_key'], 3]);
    const secret = (await store.page({ limit: 10, offset: 0, search: 'password' })).items[0];
    assert.deepEqual([secret?.value, secret?.isEncrypted], ['v-a_password', true]);
  });

  void test('pools: create refuses a taken name, update keeps what it is not given, page carries usage', async () => {
    const pools = new PoolStore(t.db);
    const created = await pools.create('warehouse', { slots: 3, description: 'queries' });
    assert.deepEqual([created.slots, created.open, created.includeDeferred], [3, 3, false]);
    await assert.rejects(pools.create('warehouse', { slots: 1 }), isCode('conflict'));
    await assert.rejects(pools.create(' bad', { slots: 1 }), isCode('invalid_argument'));
    const updated = await pools.update('warehouse', { includeDeferred: true });
    assert.deepEqual([updated.slots, updated.description, updated.includeDeferred], [3, 'queries', true]);
    await assert.rejects(pools.update('nope', { slots: 1 }), isCode('not_found'));
    const runId = await seedRun(t.db, 'pool-run');
    const states = ['running', 'queued', 'deferred', 'success'] as const;
    for (const [i, state] of states.entries()) {
      await t.db.db
        .insertInto('task_instance')
        .values({ id: `p${i}`, dag_run_id: runId, dag_id: 'd', run_id: 'pool-run', task_id: `t${i}`, map_index: -1, state, try_number: 1, max_tries: 0, operator: 'TaskOperator', pool: 'warehouse', pool_slots: 1, priority_weight: 1, queue: 'default', updated_at: 1 })
        .execute();
    }
    const page = await pools.page({ limit: 10, offset: 0, search: 'ware' });
    const w = page.items[0];
    assert.deepEqual([page.total, w?.running, w?.queued, w?.deferred, w?.open], [1, 1, 1, 1, 0]);
    const bySlots = await pools.page({ limit: 10, offset: 0, sort: { by: 'slots', descending: true } });
    assert.deepEqual(bySlots.items.map((p) => p.name), ['default_pool', 'warehouse']);
  });

  void test('XCom entries: filtered pages with byte sizes, one entry with its value', async () => {
    const dagRunId = await seedRun(t.db, 'x-run');
    const id = { dagRunId, dagId: 'd', runId: 'x-run', mapIndex: -1 };
    await pushXCom(t.db, { ...id, taskId: 'a' }, 'return_value', JSON.stringify('héllo'), 5);
    await pushXCom(t.db, { ...id, taskId: 'a' }, 'other', JSON.stringify({ n: 1 }), 6);
    await pushXCom(t.db, { ...id, taskId: 'b', mapIndex: 2 }, 'return_value', '42', 7);
    const all = await listXComEntries(t.db, { dagId: 'd', runId: 'x-run' }, { limit: 10, offset: 0 });
    assert.equal(all.total, 3);
    assert.deepEqual(
      all.items.map((e) => [e.taskId, e.mapIndex, e.key, e.sizeBytes]),
      [
        ['a', -1, 'other', 7],
        ['a', -1, 'return_value', 8],
        ['b', 2, 'return_value', 2],
      ],
    );
    const page = await listXComEntries(t.db, { dagId: 'd', taskId: 'a' }, { limit: 1, offset: 1 });
    assert.deepEqual([page.items.map((e) => e.key), page.total], [['return_value'], 2]);
    assert.equal((await listXComEntries(t.db, { dagId: 'd', mapIndex: 2, key: 'return_value' }, { limit: 10, offset: 0 })).total, 1);
    const one = await getXComEntry(t.db, { dagId: 'd', runId: 'x-run', taskId: 'a', mapIndex: -1, key: 'return_value' });
    assert.deepEqual([one?.value, one?.sizeBytes, one?.createdAt], ['héllo', 8, 5]);
    assert.equal(await getXComEntry(t.db, { dagId: 'd', runId: 'x-run', taskId: 'a', mapIndex: 0, key: 'return_value' }), undefined);
  });

  void test('import errors: the line is stored, replaced and paged', async () => {
    const errors = new ImportErrorStore(t.db);
    await errors.record('/dags/a.ts', 'boom', 10, 12);
    await errors.record('/dags/b.ts', 'timed out', 20);
    await errors.record('/dags/a.ts', 'boom again', 30, 7);
    const page = await errors.page({ limit: 10, offset: 0, sort: { by: 'timestamp', descending: true } });
    assert.deepEqual(
      page.items.map((e) => [e.fileloc, e.line, e.timestamp]),
      [
        ['/dags/a.ts', 7, 30],
        ['/dags/b.ts', null, 20],
      ],
    );
    assert.deepEqual((await errors.page({ limit: 10, offset: 0, search: 'B.TS' })).items.map((e) => e.fileloc), ['/dags/b.ts']);
  });

  void test('jobs: page filters by type, state, host and liveness', async () => {
    let clock = 1_000;
    const jobs = new JobRegistry(t.db, { now: () => clock, hostname: 'n1', pid: 1 });
    const s = await jobs.register('scheduler');
    const p = await jobs.register('dag_processor');
    clock = 50_000;
    await jobs.heartbeat(p);
    const ended = await jobs.register('triggerer');
    await jobs.end(ended, 'success');
    const alive = await jobs.page({ limit: 10, offset: 0, alive: { thresholdMs: 30_000, now: 50_000 } });
    assert.deepEqual([alive.items.map((j) => j.id), alive.total], [[p], 1]);
    assert.deepEqual((await jobs.page({ limit: 10, offset: 0, jobType: 'scheduler' })).items.map((j) => j.id), [s]);
    assert.deepEqual((await jobs.page({ limit: 10, offset: 0, state: 'success' })).items.map((j) => j.id), [ended]);
    assert.equal((await jobs.page({ limit: 10, offset: 0, hostname: 'other' })).total, 0);
    assert.equal((await jobs.latestRunning('scheduler'))?.id, s);
    assert.equal(await jobs.latestRunning('triggerer'), undefined);
  });
});
