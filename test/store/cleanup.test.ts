/**
 * `db clean` on both dialects, against runs a real scheduler ran: finished runs older than the cut-off go with
 * their task instances, tries, XComs and history; each DAG's newest run, unfinished runs and recent runs stay;
 * a dry run counts exactly what the clean then deletes and deletes nothing; audit entries go by
 * their own times (the command line is tested in test/cli/dbClean.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { stopPostgres } from '../support/postgres.ts';
import { AuditLog } from '../../src/store/auditLog.ts';
import { cleanMetadata } from '../../src/store/cleanup.ts';

const DAY = 86_400_000;
const DAGS = `
import { dag, task } from 'capstan';
const produce = task({ taskId: 'produce' }, async () => ({ rows: 3 }));
const consume = task({ taskId: 'consume' }, async (x: unknown) => x);
dag({ dagId: 'etl', schedule: null }, () => { consume(produce()); });
dag({ dagId: 'other', schedule: null }, () => { produce(); });
`;

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`db clean [${dialect}]`, () => {
    let t: TestEngine;
    before(async () => {
      t = await startTestEngine({ dialect, dags: { 'etl.ts': DAGS } });
    });
    after(async () => {
      await t.stop();
    });

    const rows = async (table: 'dag_run' | 'task_instance' | 'task_instance_try' | 'xcom' | 'task_instance_history' | 'dag_run_history', runId?: string) => {
      let q = t.engine.db.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n'));
      if (runId !== undefined) q = q.where('run_id', '=', runId);
      return Number((await q.executeTakeFirstOrThrow()).n);
    };

    test('old finished runs go with everything of theirs; the newest, unfinished and recent runs stay; dry run = real run', async () => {
      for (const runId of ['old1', 'old2', 'newest']) {
        await t.trigger('etl', { runId });
        assert.equal((await t.waitForRun('etl', runId)).state, 'success');
      }
      await t.trigger('other', { runId: 'recent' });
      await t.waitForRun('other', 'recent');
      const long = Date.now() - 100 * DAY;
      const db = t.engine.db.db;
      await db.updateTable('dag_run').set({ end_date: long, created_at: long }).where('dag_id', '=', 'etl').execute();
      // An unfinished run, created long ago: never cleaned.
      await db.insertInto('dag_run').values({
        dag_id: 'other', run_id: 'stuck', run_type: 'manual', state: 'queued', logical_date: long, data_interval_start: long, data_interval_end: long,
        conf: '{}', queued_at: long, start_date: null, end_date: null, note: null, clear_number: 0, created_at: long, updated_at: long,
      }).execute();
      assert.ok(await rows('xcom', 'old1') > 0, 'the runs made XComs');
      assert.ok(await rows('task_instance_history', 'old1') > 0, 'and history');

      const audit = new AuditLog(t.engine.db);
      await audit.append({ event: 'dag.paused', actor: 'cli:alice', at: long } as Parameters<AuditLog['append']>[0]);
      const oldAudit = await db.selectFrom('audit_log').select('id').orderBy('id', 'desc').executeTakeFirstOrThrow();
      await db.updateTable('audit_log').set({ at: long }).where('id', '=', oldAudit.id).execute();
      await audit.append({ event: 'dag.unpaused', actor: 'cli:alice' });

      const before = Date.now() - 30 * DAY;
      const dry = await cleanMetadata(t.engine.db, { before, dryRun: true });
      const counts = Object.fromEntries(dry.map((c) => [c.table, c.rows]));
      assert.equal(counts['dag_run'], 2, 'old1 and old2');
      assert.equal(counts['task_instance'], 4);
      assert.equal(counts['task_instance_try'], 4);
      assert.ok((counts['xcom'] ?? 0) >= 2);
      assert.ok((counts['task_instance_history'] ?? 0) >= 8, 'each TI moved at least through queued, running, success');
      assert.ok((counts['dag_run_history'] ?? 0) >= 4);
      assert.equal(counts['audit_log'], 1);
      assert.equal(await rows('dag_run'), 5, 'the dry run deleted nothing');

      const done = await cleanMetadata(t.engine.db, { before, batchSize: 1 });
      assert.deepEqual(done, dry, 'the clean deletes what the dry run counted');
      const left = (await db.selectFrom('dag_run').select(['dag_id', 'run_id']).orderBy('run_id').execute()).map((r) => `${r.dag_id}/${r.run_id}`);
      assert.deepEqual(left, ['etl/newest', 'other/recent', 'other/stuck']);
      for (const table of ['task_instance', 'task_instance_try', 'xcom', 'task_instance_history'] as const) {
        assert.equal(await rows(table, 'old1'), 0, `${table} of old1`);
        assert.ok(await rows(table, 'newest') > 0, `${table} of newest kept`);
      }
      assert.deepEqual((await audit.list()).map((e) => e.event).filter((e) => e.startsWith('dag.')), ['dag.unpaused']);
      assert.deepEqual(await cleanMetadata(t.engine.db, { before, groups: ['dag_run'] }), [{ table: 'dag_run', rows: 0 }], 'a second clean finds nothing');
    });
  });
}

after(() => stopPostgres());
