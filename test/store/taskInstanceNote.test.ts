/**
 * Task-instance notes (migration 012): a database of the previous schema is carried forward with its task
 * instances and tries intact and no notes; a note then set is read back with who set it and when, and
 * removing it clears all three — on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Migrator } from 'kysely';
import { NotFound } from '../../src/core/errors.ts';
import { openMetadataDb, type MetadataDb } from '../../src/store/db.ts';
import type { DialectName } from '../../src/store/dialect.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { migrationProvider } from '../../src/store/migrations/index.ts';
import { findTaskInstance, listTries, setTiNote } from '../../src/store/taskInstances.ts';
import { DIALECTS } from '../support/dialects.ts';
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

for (const dialect of DIALECTS) {
  describe(`task-instance note migration [${dialect}]`, () => {
    test('a database of the previous schema keeps its task instances and tries; notes are then set and removed', async () => {
      const { db: m, dispose } = await emptyDb(dialect);
      try {
        const migrator = new Migrator({ db: m.db, provider: migrationProvider(dialect), migrationTableName: 'capstan_migration', migrationLockTableName: 'capstan_migration_lock' });
        const names = Object.keys(await migrationProvider(dialect).getMigrations()).sort();
        const previous = names[names.indexOf('012_task_instance_note') - 1];
        assert.equal(previous, '011_deployment_key');
        assert.equal((await migrator.migrateTo(previous)).error, undefined);

        const run = await m.db
          .insertInto('dag_run')
          .values({ dag_id: 'old', run_id: 'r1', run_type: 'manual', state: 'success', logical_date: null, data_interval_start: null, data_interval_end: null, conf: '{}', queued_at: 1, start_date: 1, end_date: 2, note: 'run note', clear_number: 0, created_at: 1, updated_at: 2 })
          .returning('id')
          .executeTakeFirstOrThrow();
        const ti = (taskId: string, mapIndex: number) => ({
          id: `ti-${taskId}-${mapIndex}`, dag_run_id: run.id, dag_id: 'old', run_id: 'r1', task_id: taskId, map_index: mapIndex, state: 'success' as const, try_number: 2, max_tries: 1,
          operator: 'BashOperator', pool: 'default_pool', pool_slots: 1, priority_weight: 1, queue: 'default', hostname: 'worker-1', updated_at: 2,
        });
        await m.db.insertInto('task_instance').values([ti('extract', -1), ti('load', 0), ti('load', 1)]).execute();
        await m.db.insertInto('task_instance_try').values([1, 2].map((n) => ({ ti_id: 'ti-extract--1', try_number: n, dag_id: 'old', run_id: 'r1', task_id: 'extract', map_index: -1, state: n === 1 ? ('failed' as const) : ('success' as const), executor: 'LocalExecutor', queued_at: n }))).execute();

        assert.deepEqual(await migrateToLatest(m), names.filter((n) => n > previous));
        const carried = await findTaskInstance(m, 'old', 'r1', 'extract');
        assert.deepEqual([carried.state, carried.try_number, carried.hostname, carried.note, carried.note_updated_by, carried.note_updated_at], ['success', 2, 'worker-1', null, null, null]);
        assert.deepEqual((await listTries(m, carried.id)).map((t) => [t.try_number, t.state]), [[1, 'failed'], [2, 'success']]);
        const runRow = await m.db.selectFrom('dag_run').select('note').where('id', '=', run.id).executeTakeFirstOrThrow();
        assert.equal(runRow.note, 'run note');

        const noted = await setTiNote(m, { dagId: 'old', runId: 'r1', taskId: 'load', mapIndex: 1 }, 'second index only', 'alice', 1_700_000_000_000);
        assert.deepEqual([noted.map_index, noted.note, noted.note_updated_by, Number(noted.note_updated_at)], [1, 'second index only', 'alice', 1_700_000_000_000]);
        assert.equal((await findTaskInstance(m, 'old', 'r1', 'load', 0)).note, null);
        const read = await findTaskInstance(m, 'old', 'r1', 'load', 1);
        assert.deepEqual([read.note, read.note_updated_by, Number(read.note_updated_at), Number(read.updated_at)], ['second index only', 'alice', 1_700_000_000_000, 1_700_000_000_000]);

        const removed = await setTiNote(m, { dagId: 'old', runId: 'r1', taskId: 'load', mapIndex: 1 }, null, 'bob', 1_700_000_000_500);
        assert.deepEqual([removed.note, removed.note_updated_by, removed.note_updated_at], [null, null, null]);
        await assert.rejects(setTiNote(m, { dagId: 'old', runId: 'r1', taskId: 'load', mapIndex: 5 }, 'x', 'alice', 1), NotFound);
      } finally {
        await dispose();
      }
    });
  });
}
