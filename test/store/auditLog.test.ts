import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuditLog } from '../../src/store/auditLog.ts';
import { forEachDialect } from '../support/dialects.ts';

forEachDialect('audit log', (t) => {
  let clock = 100;
  const audit = () => new AuditLog(t.db, { now: () => clock });

  void test('append returns increasing ids and stores every field', async () => {
    const first = await audit().append({ event: 'variable.set', actor: 'cli:alice', details: { key: 'bucket' } });
    clock = 200;
    const second = await audit().append({ event: 'dag_run.trigger', actor: 'api:bob', dagId: 'etl', runId: 'manual__1', taskId: 'extract', details: 'plain text' });
    assert.ok(second > first);
    const [newest] = await audit().list({ limit: 1 });
    assert.deepEqual(newest, { id: second, at: 200, event: 'dag_run.trigger', actor: 'api:bob', dagId: 'etl', runId: 'manual__1', taskId: 'extract', details: 'plain text' });
  });

  void test('list is newest first, filters by dag and event, and honours the limit', async () => {
    clock = 300;
    await audit().append({ event: 'variable.set', actor: 'cli:alice', details: { key: 'second' } });
    clock = 300; // same instant: the later append still sorts first
    await audit().append({ event: 'dag.pause', actor: 'cli:alice', dagId: 'etl' });
    const all = await audit().list();
    assert.deepEqual(all.map((e) => e.event), ['dag.pause', 'variable.set', 'dag_run.trigger', 'variable.set']);
    assert.deepEqual((await audit().list({ event: 'variable.set' })).map((e) => e.details), ['{"key":"second"}', '{"key":"bucket"}']);
    assert.deepEqual((await audit().list({ dagId: 'etl' })).map((e) => e.event), ['dag.pause', 'dag_run.trigger']);
    assert.deepEqual((await audit().list({ dagId: 'etl', event: 'dag.pause' })).length, 1);
    assert.equal((await audit().list({ limit: 2 })).length, 2);
    assert.deepEqual(await audit().list({ dagId: 'none' }), []);
  });
});
