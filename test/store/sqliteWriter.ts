/** Child process of sqliteWriters.test.ts: one writer, driven by IPC messages. */
import { DatabaseSync } from 'node:sqlite';
import { openMetadataDb } from '../../src/store/db.ts';

const [url, mode] = process.argv.slice(2);
const m = openMetadataDb(url as string);
const row = (actor: string) => ({ at: Date.now(), actor, event: 'test', dag_id: null, run_id: null, task_id: null, details: null });
try {
  if (mode === 'transaction') {
    await m.db.transaction().execute(async (tx) => {
      await tx.selectFrom('audit_log').selectAll().execute();
      const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
      process.send?.('read');
      await go;
      await tx.insertInto('audit_log').values(row('a')).execute();
    });
    process.send?.('done');
  } else {
    // Does another connection hold the write lock right now? Probe without waiting.
    const probe = new DatabaseSync((url as string).replace(/^sqlite:\/\//, ''));
    probe.exec('PRAGMA busy_timeout = 0');
    let blocked = false;
    try {
      probe.exec('BEGIN IMMEDIATE');
      probe.exec('ROLLBACK');
    } catch {
      blocked = true;
    }
    probe.close();
    if (blocked) process.send?.('blocked');
    await m.db.insertInto('audit_log').values(row('b')).execute();
    process.send?.(blocked ? 'done' : 'committed');
  }
} catch (err) {
  process.send?.(`error: ${(err as Error).message}`);
} finally {
  await m.close();
  process.disconnect?.();
}
