/**
 * XCom size limit through real task processes: a TaskFlow return value or an explicit push bigger than
 * core.xcomMaxBytes fails the task with a message naming the size, the limit and the setting, in the
 * stored failure reason and in the task log; nothing oversized is stored, and a value at the limit passes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { stopPostgres } from '../support/postgres.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { pullXCom } from '../../src/store/xcom.ts';
import { findTaskInstance, listTries } from '../../src/store/taskInstances.ts';
import { readTaskLog } from '../../src/logging/taskLogReader.ts';
import { taskLogPath } from '../../src/logging/taskLog.ts';

const LIMIT = 1000;

const DAGS = `
import { dag, task, getCurrentContext } from 'capstan';
// A JSON string of n characters serializes to n + 2 bytes.
const big = task({ taskId: 'big', retries: 1, retryDelay: 100 }, () => 'x'.repeat(${LIMIT * 5}));
const fits = task({ taskId: 'fits' }, () => 'y'.repeat(${LIMIT - 2}));
const push = task({ taskId: 'push' }, async () => {
  await getCurrentContext().xcomPush('blob', 'z'.repeat(${LIMIT * 2}));
  return 'not reached';
});
dag({ dagId: 'xcom_big', schedule: null }, () => { big(); });
dag({ dagId: 'xcom_fits', schedule: null }, () => { fits(); });
dag({ dagId: 'xcom_push', schedule: null }, () => { push(); });
`;

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`XCom size limit [${dialect}]`, () => {
    let t: TestEngine;
    before(async () => {
      t = await startTestEngine({ dialect, dags: { 'xcom.ts': DAGS }, env: { CAPSTAN__CORE__XCOM_MAX_BYTES: String(LIMIT) } });
    });
    after(async () => {
      await t.stop();
    });

    const message = new RegExp(`is ${LIMIT * 5 + 2} bytes; the limit is ${LIMIT} bytes \\(core\\.xcomMaxBytes\\)`);

    test('a return value over core.xcomMaxBytes fails the task with a message naming the limit', async () => {
      await t.trigger('xcom_big', { runId: 'r1' });
      const run = await t.waitForRun('xcom_big', 'r1');
      assert.equal(run.state, 'failed');
      const ti = await findTaskInstance(t.engine.db, 'xcom_big', 'r1', 'big');
      assert.equal(ti.state, 'failed');
      assert.match(ti.failure_reason ?? '', /XCom 'return_value' of task 'big'/);
      assert.match(ti.failure_reason ?? '', message);
      // Like any failure that is not TaskFailFast, it is retried (Airflow's rule), and fails again.
      const tries = await listTries(t.engine.db, ti.id);
      assert.deepEqual(
        tries.map((x) => [x.try_number, x.state]),
        [
          [1, 'up_for_retry'],
          [2, 'failed'],
        ],
      );
      for (const x of tries) assert.match(x.failure_reason ?? '', message);
      assert.equal(await pullXCom(t.engine.db, run.id, 'big', 'return_value'), undefined);
      const log = await readTaskLog(taskLogPath(t.engine.config.logging.baseLogFolder, { dagId: 'xcom_big', runId: 'r1', taskId: 'big', mapIndex: -1, tryNumber: 1 }));
      assert.match(log.text, message);
    });

    test('a value exactly at the limit is stored', async () => {
      await t.trigger('xcom_fits', { runId: 'r1' });
      const run = await t.waitForRun('xcom_fits', 'r1');
      assert.equal(run.state, 'success');
      assert.equal(await pullXCom(t.engine.db, run.id, 'fits', 'return_value'), 'y'.repeat(LIMIT - 2));
    });

    test('an explicit push over the limit fails the task the same way', async () => {
      await t.trigger('xcom_push', { runId: 'r1' });
      const run = await t.waitForRun('xcom_push', 'r1');
      assert.equal(run.state, 'failed');
      const ti = await findTaskInstance(t.engine.db, 'xcom_push', 'r1', 'push');
      assert.match(ti.failure_reason ?? '', new RegExp(`XCom 'blob' of task 'push' is ${LIMIT * 2 + 2} bytes; the limit is ${LIMIT} bytes \\(core\\.xcomMaxBytes\\)`));
      assert.equal(await pullXCom(t.engine.db, run.id, 'push', 'blob'), undefined);
    });
  });
}

after(() => stopPostgres());
