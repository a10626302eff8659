/**
 * Connection secrets end to end: a password stored through the connection store is encrypted at rest
 * (the raw column does not contain it; a secret-named variable likewise), and a task that reads the
 * connection and prints the password —
 * through its logger, console.log, or an error message — leaves only `***` in its task log and in the
 * failure reason stored for the try.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { stopPostgres } from '../support/postgres.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { createFernet } from '../../src/crypto/index.ts';
import { ConnectionStore, connectionFromUri } from '../../src/store/connections.ts';
import { VariableStore } from '../../src/store/variables.ts';
import { readTaskLog } from '../../src/logging/taskLogReader.ts';
import { taskLogPath } from '../../src/logging/taskLog.ts';
import { findTaskInstance } from '../../src/store/taskInstances.ts';

const PASSWORD = 'Tr0ub4dor-and-3';
const TOKEN = 'tok-9f8e7d6c5b4a';
const VAR_SECRET = 'var-secret-5b4a3c2d';

const DAGS = `
import { dag, task, getCurrentContext } from 'capstan';
const leak = task({ taskId: 'leak' }, async () => {
  const ctx = getCurrentContext();
  const c = await ctx.getConnection('warehouse');
  ctx.log.info('logger: password=' + c.password + ' token=' + String(c.extra.api_key));
  console.log('console.log: password=' + c.password);
  console.error('console.error: token=' + String(c.extra.api_key));
  const v = await ctx.getVariable('smtp_password');
  process.stdout.write('variable: ' + v + '\\n');
  return c.login;
});
const fail = task({ taskId: 'fail' }, async () => {
  const c = await getCurrentContext().getConnection('warehouse');
  throw new Error('could not log in with ' + c.password);
});
dag({ dagId: 'secrets', schedule: null }, () => { leak(); });
dag({ dagId: 'secrets_fail', schedule: null }, () => { fail(); });
`;

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`secrets [${dialect}]`, () => {
    let t: TestEngine;
    before(async () => {
      t = await startTestEngine({ dialect, dags: { 'secrets.ts': DAGS } });
      const conns = new ConnectionStore(t.engine.db, { fernet: createFernet(t.engine.config.core.fernetKey) });
      await new VariableStore(t.engine.db, { fernet: createFernet(t.engine.config.core.fernetKey) }).set('smtp_password', VAR_SECRET);
      await conns.add(connectionFromUri('warehouse', `postgresql://etl:${encodeURIComponent(PASSWORD)}@db.example:5432/dw?api_key=${TOKEN}`));
    });
    after(async () => {
      await t.stop();
    });

    const log = async (dagId: string, taskId: string) =>
      (await readTaskLog(taskLogPath(t.engine.config.logging.baseLogFolder, { dagId, runId: 'r1', taskId, mapIndex: -1, tryNumber: 1 }))).text;

    test('the password and the extras are encrypted at rest', async () => {
      const row = await t.engine.db.db.selectFrom('connection').selectAll().where('conn_id', '=', 'warehouse').executeTakeFirstOrThrow();
      const raw = JSON.stringify(row);
      assert.ok(!raw.includes(PASSWORD), 'the password is stored in plaintext');
      assert.ok(!raw.includes(TOKEN), 'the extra is stored in plaintext');
      const variable = await t.engine.db.db.selectFrom('variable').selectAll().where('key', '=', 'smtp_password').executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(variable).includes(VAR_SECRET), 'the secret variable is stored in plaintext');
      assert.equal(row.login, 'etl');
      const fernet = createFernet(t.engine.config.core.fernetKey);
      assert.equal(fernet.decrypt(row.password ?? ''), PASSWORD);
    });

    test('a task that prints the password leaves only *** in its task log', async () => {
      await t.trigger('secrets', { runId: 'r1' });
      const run = await t.waitForRun('secrets', 'r1');
      assert.equal(run.state, 'success');
      const text = await log('secrets', 'leak');
      assert.ok(!text.includes(PASSWORD), `the password is in the log:\n${text}`);
      assert.ok(!text.includes(TOKEN), `the api token is in the log:\n${text}`);
      assert.match(text, /logger: password=\*\*\* token=\*\*\*/);
      assert.match(text, /console\.log: password=\*\*\*/);
      assert.match(text, /console\.error: token=\*\*\*/);
      assert.ok(!text.includes(VAR_SECRET), `the secret variable is in the log:\n${text}`);
      assert.match(text, /variable: \*\*\*/);
    });

    test('an error message with the password is masked in the log and in the stored failure reason', async () => {
      await t.trigger('secrets_fail', { runId: 'r1' });
      const run = await t.waitForRun('secrets_fail', 'r1');
      assert.equal(run.state, 'failed');
      const ti = await findTaskInstance(t.engine.db, 'secrets_fail', 'r1', 'fail');
      assert.equal(ti.failure_reason, 'could not log in with ***');
      const text = await log('secrets_fail', 'fail');
      assert.ok(!text.includes(PASSWORD), `the password is in the log:\n${text}`);
      assert.match(text, /could not log in with \*\*\*/);
    });
  });
}

after(() => stopPostgres());
