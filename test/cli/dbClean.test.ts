/**
 * `capstan db clean` from the command line: it needs exactly one cut-off, names a bad group or date and the fix,
 * refuses to delete without --yes, and prints what it counted (dry run) or deleted, as a table or JSON.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachCliDialect } from './capstan.ts';
import { AuditLog } from '../../src/store/auditLog.ts';

forEachCliDialect('db clean', (t) => {
  void test('arguments are checked, --yes is required, and counts are printed', async () => {
    const none = await t.run(['db', 'clean', '--yes']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /exactly one of --clean-before-timestamp and --older-than/);
    assert.match((await t.run(['db', 'clean', '--older-than', '30d', '--clean-before-timestamp', '2026-01-01', '--yes'])).stderr, /exactly one/);
    assert.match((await t.run(['db', 'clean', '--older-than', 'a month', '--yes'])).stderr, /--older-than: 'a month' is not a duration/);
    assert.match((await t.run(['db', 'clean', '--clean-before-timestamp', 'yesterday', '--yes'])).stderr, /--clean-before-timestamp: 'yesterday' is not a date-time/);
    assert.match((await t.run(['db', 'clean', '--older-than', '30d', '--tables', 'dag_run,logs', '--yes'])).stderr, /--tables: 'logs' is not a table group.*use one of dag_run, audit_log, job, revoked_session/s);

    const audit = new AuditLog(t.db);
    await audit.append({ event: 'variable.set', actor: 'cli:alice' });
    await t.db.db.updateTable('audit_log').set({ at: Date.parse('2020-01-01T00:00:00Z') }).execute();
    const unconfirmed = await t.run(['db', 'clean', '--older-than', '30d']);
    assert.notEqual(unconfirmed.code, 0);
    assert.match(unconfirmed.stderr, /pass --yes to confirm, or --dry-run to count first/);
    assert.equal(await audit.count(), 1, 'nothing deleted without --yes');

    const dry = await t.run(['-o', 'json', 'db', 'clean', '--older-than', '30d', '--tables', 'audit_log', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(JSON.parse(dry.stdout), [{ table: 'audit_log', 'would delete': 1 }]);
    const real = await t.run(['db', 'clean', '--clean-before-timestamp', '2021-01-01T00:00:00Z', '--yes']);
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /audit_log\s+1/);
    assert.equal(await audit.count(), 0);
  });
});
