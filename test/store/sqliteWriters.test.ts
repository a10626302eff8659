/**
 * Two processes writing one SQLite file: a transaction that reads, then writes after the other process
 * committed, must wait for the lock instead of failing with "database is locked" (transactions begin
 * immediate). The processes are real; they are sequenced by messages, not sleeps.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openMetadataDb } from '../../src/store/db.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';

const WRITER = fileURLToPath(new URL('./sqliteWriter.ts', import.meta.url));

/** Resolve with the first of `expected` the child sends; reject on its error report or exit. */
function message(child: ChildProcess, ...expected: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown) => {
      if (typeof m === 'string' && expected.includes(m)) {
        child.off('message', onMessage);
        resolve(m);
      } else if (typeof m === 'string' && m.startsWith('error')) reject(new Error(m));
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`writer exited (${code}) before '${expected.join("' or '")}'`)));
  });
}

test('a read-then-write transaction waits for another process instead of failing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'capstan-writers-'));
  const url = `sqlite://${join(dir, 'capstan.db')}`;
  const m = openMetadataDb(url);
  await migrateToLatest(m);
  try {
    const a = fork(WRITER, [url, 'transaction'], { stdio: 'ignore' });
    await message(a, 'read'); // A is inside its transaction, after a read.
    const b = fork(WRITER, [url, 'insert'], { stdio: 'ignore' });
    // B either committed while A's transaction is open (A then writes on a stale snapshot) or finds A
    // holding the write lock and waits for it.
    const first = await message(b, 'committed', 'blocked');
    const bDone = first === 'committed' ? Promise.resolve('done') : message(b, 'done');
    const aDone = message(a, 'done');
    a.send('write');
    await Promise.all([aDone, bDone]);
    assert.equal(first, 'blocked', 'the first writer holds the write lock for its whole transaction');
    const actors = (await m.db.selectFrom('audit_log').select('actor').execute()).map((r) => r.actor).sort();
    assert.deepEqual(actors, ['a', 'b']);
  } finally {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
