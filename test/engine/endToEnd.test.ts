/**
 * End to end through real task processes: TaskFlow XCom, Bash, skip codes, failures and retries, on
 * both metadata databases.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { stopPostgres } from '../support/postgres.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { pullXCom } from '../../src/store/xcom.ts';
import { getDagRun } from '../../src/store/dagRuns.ts';
import { readTaskLog } from '../../src/logging/taskLogReader.ts';
import { taskLogPath } from '../../src/logging/taskLog.ts';

const TASKFLOW = `
import { dag, task } from 'capstan';
const extract = task({ taskId: 'extract' }, () => ({ rows: [1, 2, 3] }));
const total = task({ taskId: 'total' }, (b: { rows: number[] }) => b.rows.reduce((a, c) => a + c, 0));
const report = task({ taskId: 'report' }, (n: number, label: string) => label + ':' + n);
export default dag({ dagId: 'tf', schedule: null }, () => { report(total(extract()), 'sum'); });
`;

const BASH = `
import { dag, BashOperator, chain } from 'capstan';
export default dag({ dagId: 'bash', schedule: null }, () => {
  const a = new BashOperator({ taskId: 'a', bashCommand: 'echo first; echo last-line' });
  const skip = new BashOperator({ taskId: 'skip', bashCommand: 'exit 99' });
  const after = new BashOperator({ taskId: 'after_skip', bashCommand: 'echo never' });
  const flaky = new BashOperator({ taskId: 'flaky', bashCommand: 'test "$CAPSTAN_CTX_TRY_NUMBER" -ge 2', retries: 2, retryDelay: 100 });
  const bad = new BashOperator({ taskId: 'bad', bashCommand: 'echo failing >&2; exit 7', retries: 1, retryDelay: 100 });
  const cleanup = new BashOperator({ taskId: 'cleanup', bashCommand: 'echo cleanup', triggerRule: 'all_done' });
  chain(a, [skip, flaky, bad]);
  skip.before(after);
  chain([flaky, bad], cleanup);
});
`;

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`end to end [${dialect}]`, () => {
    let t: TestEngine;
    before(async () => {
      t = await startTestEngine({ dialect, dags: { 'tf.ts': TASKFLOW, 'bash.ts': BASH } });
    });
    after(async () => {
      await t.stop();
    });

    test('TaskFlow values travel through XCom to downstream tasks', async () => {
      await t.trigger('tf', { runId: 'r1' });
      const run = await t.waitForRun('tf', 'r1');
      assert.equal(run.state, 'success');
      assert.deepEqual(await t.taskStates('tf', 'r1'), { extract: 'success', total: 'success', report: 'success' });
      assert.equal(await pullXCom(t.engine.db, run.id, 'report', 'return_value'), 'sum:6');
      assert.deepEqual(await pullXCom(t.engine.db, run.id, 'extract', 'return_value'), { rows: [1, 2, 3] });
    });

    test('bash: last line is the XCom, skip code skips downstream, retries until success, failure after retries', async () => {
      await t.trigger('bash', { runId: 'r1' });
      const run = await t.waitForRun('bash', 'r1');
      const states = await t.taskStates('bash', 'r1');
      assert.deepEqual(states, { a: 'success', skip: 'skipped', after_skip: 'skipped', flaky: 'success', bad: 'failed', cleanup: 'success' });
      // The leaf `after_skip` is skipped and `cleanup` succeeded, but `bad` is not a leaf: run succeeds.
      assert.equal(run.state, 'success');
      assert.equal(await pullXCom(t.engine.db, run.id, 'a', 'return_value'), 'last-line');
      const tis = await t.taskInstances('bash', 'r1');
      const flaky = tis.find((x) => x.task_id === 'flaky');
      const bad = tis.find((x) => x.task_id === 'bad');
      assert.equal(flaky?.try_number, 2);
      assert.equal(bad?.try_number, 2);
      assert.match(bad?.failure_reason ?? '', /exit code 7/);
      const log = await readTaskLog(taskLogPath(t.engine.config.logging.baseLogFolder, { dagId: 'bash', runId: 'r1', taskId: 'bad', mapIndex: -1, tryNumber: 2 }));
      assert.match(log.text, /failing/);
      assert.equal((await getDagRun(t.engine.db, 'bash', 'r1')).state, 'success');
    });
  });
}

after(() => stopPostgres());

describe('unknown pool', () => {
  test('a task in a pool that does not exist fails with the command that creates it', async () => {
    const t = await startTestEngine({
      dags: {
        'p.ts': `import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'nopool', schedule: null }, () => { new BashOperator({ taskId: 'a', bashCommand: 'true', pool: 'gpu_pool' }); });`,
      },
    });
    try {
      await t.trigger('nopool', { runId: 'r' });
      const run = await t.waitForRun('nopool', 'r');
      assert.equal(run.state, 'failed');
      const [ti] = await t.taskInstances('nopool', 'r');
      assert.equal(ti?.state, 'failed');
      assert.match(ti?.failure_reason ?? '', /pool 'gpu_pool' does not exist; create it with `capstan pools set gpu_pool <slots>`/);
    } finally {
      await t.stop();
    }
  });
});

describe('task code that holds no handle of its own', () => {
  test('a TaskFlow task awaiting an unreferenced timer still finishes and reports (the heartbeat keeps its process alive)', async () => {
    const t = await startTestEngine({
      dags: {
        'idle.ts': `import { dag, task } from 'capstan';
const wait = task({ taskId: 'wait' }, async () => {
  await new Promise<void>((resolve) => { setTimeout(resolve, 300).unref(); });
  return 'woke';
});
export default dag({ dagId: 'idle', schedule: null }, () => { wait(); });`,
      },
    });
    try {
      const run = await t.trigger('idle', { runId: 'r' });
      assert.equal((await t.waitForRun('idle', 'r')).state, 'success');
      assert.equal(await pullXCom(t.engine.db, run.id, 'wait', 'return_value'), 'woke');
    } finally {
      await t.stop();
    }
  });
});
