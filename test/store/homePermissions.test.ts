/**
 * Files under CAPSTAN_HOME are private whatever the home folder's mode: in a home that already existed with
 * 0755, the real CLI creates the SQLite file (and SQLite its -wal/-shm) 0600, the generated keys 0600, and the
 * log folders 0700 with log files 0600 — the task log of a `dags test` run and a shipped log alike.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LocalFileTaskLogHandler } from '../../src/logging/logHandler.ts';
import { openMetadataDb } from '../../src/store/db.ts';
import { runCapstan } from '../cli/capstan.ts';

const home = mkdtempSync(join(tmpdir(), 'capstan-perm-'));
const url = `sqlite://${join(home, 'capstan.db')}`;
const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

before(() => {
  chmodSync(home, 0o755);
  mkdirSync(join(home, 'dags'));
  writeFileSync(join(home, 'capstan.yaml'), 'core:\n  loadExamples: false\nlogging:\n  level: warn\n');
  writeFileSync(join(home, 'dags', 'perm.ts'), `
import { BashOperator, dag } from 'capstan';
export default dag({ dagId: 'perm', schedule: null }, () => { new BashOperator({ taskId: 'say', bashCommand: 'echo private' }); });
`);
});
after(() => rmSync(home, { recursive: true, force: true }));

/** Every folder and file under `dir`, recursively. */
function walk(dir: string): Array<{ path: string; dir: boolean }> {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? [{ path, dir: true }, ...walk(path)] : [{ path, dir: false }];
  });
}

test('a pre-existing 0755 home: database, keys and logs are private to the user', async () => {
  const migrated = await runCapstan(['db', 'migrate'], home, url);
  assert.equal(migrated.code, 0, migrated.stderr);
  const parsed = await runCapstan(['dag-processor', '--once'], home, url);
  assert.equal(parsed.code, 0, parsed.stderr);
  const ran = await runCapstan(['dags', 'test', 'perm'], home, url);
  assert.equal(ran.code, 0, ran.stdout + ran.stderr);
  assert.equal(mode(home), '755', 'the home folder itself is the user\'s to choose');

  assert.equal(mode(join(home, 'capstan.db')), '600');
  for (const key of ['fernet.key', 'secret.key']) {
    assert.ok(existsSync(join(home, key)), `${key} was generated`);
    assert.equal(mode(join(home, key)), '600', key);
  }
  const logs = join(home, 'logs');
  assert.equal(mode(logs), '700');
  const entries = walk(logs);
  assert.ok(entries.some((e) => !e.dir && e.path.endsWith('.log')), `a task log was written: ${entries.map((e) => e.path).join(', ')}`);
  for (const e of entries) assert.equal(mode(e.path), e.dir ? '700' : '600', e.path);

  // SQLite's companions exist while the database is open.
  const db = openMetadataDb(url);
  try {
    await db.db.selectFrom('dag').select('dag_id').execute();
    for (const suffix of ['-wal', '-shm']) {
      assert.ok(existsSync(join(home, `capstan.db${suffix}`)), suffix);
      assert.equal(mode(join(home, `capstan.db${suffix}`)), '600', suffix);
    }
  } finally {
    await db.close();
  }

  // A log shipped to the API server's store (a worker pod's) is written the same way.
  const shipped = new LocalFileTaskLogHandler(join(home, 'shipped-logs'));
  await shipped.write({ dagId: 'perm', runId: 'r1', taskId: 'say', mapIndex: -1, tryNumber: 1 }, 0, Buffer.from('2026-01-01T00:00:00.000Z INFO hi\n'));
  for (const e of walk(join(home, 'shipped-logs'))) assert.equal(mode(e.path), e.dir ? '700' : '600', e.path);
  assert.equal(mode(join(home, 'shipped-logs')), '700');
});

test('an existing world-readable database file is narrowed when it is opened', async () => {
  const file = join(home, 'old.db');
  writeFileSync(file, '');
  chmodSync(file, 0o644);
  const db = openMetadataDb(`sqlite://${file}`);
  await db.close();
  assert.equal(mode(file), '600');
});
