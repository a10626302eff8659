/**
 * State history (migration 010 and src/store/transitions/): a database made by the previous schema is
 * carried forward (old failed rows get failure kind `unknown`, history starts empty and records the next
 * move), and clearing a failed task and letting it run again leaves both tries, with who moved them and
 * why, readable through the store and `capstan tasks history` — on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Migrator } from 'kysely';
import { clearTaskInstances } from '../../src/services/clear.ts';
import { openMetadataDb, type MetadataDb } from '../../src/store/db.ts';
import type { DialectName } from '../../src/store/dialect.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { LATEST_MIGRATION, migrationProvider } from '../../src/store/migrations/index.ts';
import { clearTis, listDagRunHistory, listTaskInstanceHistory } from '../../src/store/transitions/index.ts';
import { runCapstan } from '../cli/capstan.ts';
import { DIALECTS } from '../support/dialects.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { createTestDatabase, stopPostgres } from '../support/postgres.ts';

after(() => stopPostgres());

/** An empty database of `dialect` that no migration has touched. */
async function emptyDb(dialect: DialectName): Promise<{ db: MetadataDb; dispose: () => Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'capstan-upgrade-'));
    const db = openMetadataDb(`sqlite://${join(dir, 'capstan.db')}`);
    return { db, dispose: async () => { await db.close(); rmSync(dir, { recursive: true, force: true }); } };
  }
  const database = await createTestDatabase();
  const db = openMetadataDb(database.url, { poolSize: 2 });
  return { db, dispose: async () => { await db.close(); await database.drop(); } };
}

/** The newest migration before the one that added history. */
async function previousLatest(dialect: DialectName): Promise<string> {
  const names = Object.keys(await migrationProvider(dialect).getMigrations()).sort();
  const i = names.indexOf('010_state_history');
  assert.ok(i > 0, 'migration 010_state_history is registered');
  return names[i - 1] as string;
}

for (const dialect of DIALECTS) {
  describe(`state history migration [${dialect}]`, () => {
    test('a database of the previous schema is carried forward: failure kinds for old failures, history from the next move on', async () => {
      const { db: m, dispose } = await emptyDb(dialect);
      try {
        const migrator = new Migrator({ db: m.db, provider: migrationProvider(dialect), migrationTableName: 'capstan_migration', migrationLockTableName: 'capstan_migration_lock' });
        const previous = await previousLatest(dialect);
        const up = await migrator.migrateTo(previous);
        assert.equal(up.error, undefined);
        const run = await m.db
          .insertInto('dag_run')
          .values({ dag_id: 'old', run_id: 'r1', run_type: 'manual', state: 'failed', logical_date: null, data_interval_start: null, data_interval_end: null, conf: '{}', queued_at: 1, start_date: 1, end_date: 2, note: null, clear_number: 0, created_at: 1, updated_at: 2 })
          .returning('id')
          .executeTakeFirstOrThrow();
        const ti = (taskId: string, state: 'failed' | 'success' | 'skipped', reason: string | null) => ({
          id: `ti-${taskId}`, dag_run_id: run.id, dag_id: 'old', run_id: 'r1', task_id: taskId, map_index: -1, state, try_number: 1, max_tries: 0,
          operator: 'BashOperator', pool: 'default_pool', pool_slots: 1, priority_weight: 1, queue: 'default', failure_reason: reason, updated_at: 2,
        });
        await m.db.insertInto('task_instance').values([ti('broke', 'failed', 'exit 1'), ti('fine', 'success', null), ti('passed', 'skipped', 'skipped by branch')]).execute();
        await m.db.insertInto('task_instance_try').values({ ti_id: 'ti-broke', try_number: 1, dag_id: 'old', run_id: 'r1', task_id: 'broke', map_index: -1, state: 'failed', executor: 'LocalExecutor', queued_at: 1, failure_reason: 'exit 1' }).execute();

        assert.deepEqual(await migrateToLatest(m), [...(await migrator.getMigrations()).map((x) => x.name).filter((n) => n > previous)]);
        assert.equal(LATEST_MIGRATION >= '010_state_history', true);
        const kinds = Object.fromEntries((await m.db.selectFrom('task_instance').select(['task_id', 'failure_kind', 'failure_reason']).execute()).map((r) => [r.task_id, [r.failure_kind, r.failure_reason]]));
        assert.deepEqual(kinds, { broke: ['unknown', 'exit 1'], fine: [null, null], passed: [null, 'skipped by branch'] });
        const tryRow = await m.db.selectFrom('task_instance_try').select(['failure_kind']).where('ti_id', '=', 'ti-broke').executeTakeFirstOrThrow();
        assert.equal(tryRow.failure_kind, 'unknown');
        assert.deepEqual(await listTaskInstanceHistory(m, { dagId: 'old', runId: 'r1', taskId: 'broke' }), []);
        assert.deepEqual(await listDagRunHistory(m, { dagId: 'old', runId: 'r1' }), []);

        // The carried-forward rows move like new ones, and their moves are recorded.
        assert.deepEqual(await clearTis(m.db, ['ti-broke'], 1, { actor: 'alice' }, 10), ['ti-broke']);
        const moves = await listTaskInstanceHistory(m, { dagId: 'old', runId: 'r1', taskId: 'broke' });
        assert.deepEqual(moves.map((h) => [h.try_number, h.from_state, h.to_state, h.actor, h.reason, h.at]), [[1, 'failed', 'none', 'alice', 'cleared', 10]]);
      } finally {
        await dispose();
      }
    });
  });
}

/** `flip` fails until the file `flip.ok` exists. */
const dagSource = (dir: string) => `
import { BashOperator, dag } from 'capstan';
export default dag({ dagId: 'hist', schedule: null }, () => {
  new BashOperator({ taskId: 'flip', bashCommand: 'test -f ${join(dir, 'flip.ok')}' });
});
`;

interface Move {
  at: string;
  mapIndex: number;
  try: number;
  from: string;
  to: string;
  actor: string;
  failureKind: string | null;
  reason: string | null;
}

for (const dialect of DIALECTS) {
  describe(`state history of a cleared and re-run task [${dialect}]`, () => {
    let t: TestEngine;
    before(async () => {
      t = await startTestEngine({ dialect });
      t.writeDag('hist.ts', dagSource(t.home));
      await t.processor.processOnce();
    });
    after(async () => {
      await t.stop();
    });

    test('both tries stay readable after the clear, with who moved them and why, through the store and the CLI', async () => {
      await t.trigger('hist', { runId: 'r1' });
      assert.equal((await t.waitForRun('hist', 'r1')).state, 'failed');
      writeFileSync(join(t.home, 'flip.ok'), '');
      const cleared = await clearTaskInstances(t.engine.db, { dagId: 'hist', runId: 'r1', taskIds: ['flip'] }, Date.now(), 'alice');
      assert.equal(cleared.taskInstances.length, 1);
      await t.waitForRun('hist', 'r1', { states: ['queued', 'running'] });
      assert.equal((await t.waitForRun('hist', 'r1')).state, 'success');

      const moves = await listTaskInstanceHistory(t.engine.db, { dagId: 'hist', runId: 'r1', taskId: 'flip' });
      assert.deepEqual(
        moves.map((h) => [h.try_number, h.from_state, h.to_state, h.actor]),
        [
          [0, 'none', 'scheduled', 'scheduler'],
          [1, 'scheduled', 'queued', 'scheduler'],
          [1, 'queued', 'running', 'worker'],
          [1, 'running', 'failed', 'worker'],
          [1, 'failed', 'none', 'alice'],
          [1, 'none', 'scheduled', 'scheduler'],
          [2, 'scheduled', 'queued', 'scheduler'],
          [2, 'queued', 'running', 'worker'],
          [2, 'running', 'success', 'worker'],
        ],
      );
      const failed = moves[3];
      assert.equal(failed?.failure_kind, 'exception');
      assert.match(failed?.reason ?? '', /exit|code|fail/i);
      assert.equal(moves[4]?.reason, 'cleared');
      assert.equal(moves[4]?.failure_kind, null, 'a clear is not a failure');
      for (let i = 1; i < moves.length; i++) assert.ok((moves[i]?.at ?? 0) >= (moves[i - 1]?.at ?? 0), 'moves are in time order');

      const runMoves = await listDagRunHistory(t.engine.db, { dagId: 'hist', runId: 'r1' });
      assert.deepEqual(
        runMoves.map((h) => [h.from_state, h.to_state, h.actor]),
        [
          [null, 'queued', 'unknown'],
          ['queued', 'running', 'scheduler'],
          ['running', 'failed', 'scheduler'],
          ['failed', 'queued', 'alice'],
          ['queued', 'running', 'scheduler'],
          ['running', 'success', 'scheduler'],
        ],
      );
      assert.match(runMoves[2]?.reason ?? '', /leaf task 'flip' ended failed/);

      const cli = await runCapstan(['--output', 'json', 'tasks', 'history', 'hist', 'r1', 'flip'], t.home, t.engine.db.url);
      assert.equal(cli.code, 0, cli.stderr);
      const printed = JSON.parse(cli.stdout) as Move[];
      assert.deepEqual(printed.map((p) => [p.try, p.from, p.to, p.actor, p.failureKind, p.reason]), moves.map((h) => [h.try_number, h.from_state, h.to_state, h.actor, h.failure_kind, h.reason]));
      assert.ok(printed.every((p) => p.mapIndex === -1 && !Number.isNaN(Date.parse(p.at))));

      const table = await runCapstan(['tasks', 'history', 'hist', 'r1', 'flip', '--map-index', '-1'], t.home, t.engine.db.url);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^at\s+mapIndex\s+try\s+from\s+to\s+actor\s+failureKind\s+reason/);
      assert.match(table.stdout, /failed\s+none\s+alice\s+cleared/);
      assert.equal(table.stdout.trim().split('\n').length, 2 + moves.length);

      const unknown = await runCapstan(['tasks', 'history', 'hist', 'r1', 'nope'], t.home, t.engine.db.url);
      assert.notEqual(unknown.code, 0);
      assert.match(unknown.stderr + unknown.stdout, /no task 'nope'/);
    });
  });
}
