/**
 * A task process SIGKILLed while its Bash command runs (the pid comes from `task_instance.pid`): the try
 * ends failed — or up for retry when it has retries — with a reason naming the lost process, and the
 * Bash command and its children do not outlive it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listTries } from '../../src/store/taskInstances.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { pollUntil } from '../support/roles.ts';

/** Records the Bash shell's pid and its `sleep` child's pid, then waits on the child. */
function lingering(dir: string, taskId: string): string {
  const f = (what: string) => join(dir, `${taskId}.${what}`);
  return `echo $$ > ${f('bash')}.$CAPSTAN_CTX_TRY_NUMBER; if [ "$CAPSTAN_CTX_TRY_NUMBER" = 1 ]; then sleep 60 & echo $! > ${f('sleep')}.1; wait; fi`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped) is dead for our purpose.
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
}

describe('a task process killed mid-run [sqlite]', () => {
  let t: TestEngine;
  before(async () => {
    t = await startTestEngine();
    // The DAG writes its pid files under the engine's home, known once the engine runs.
    t.writeDag(
      'killed.ts',
      `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'killed', schedule: null }, () => {
  new BashOperator({ taskId: 'no_retries', bashCommand: ${JSON.stringify(lingering(t.home, 'no_retries'))} });
  new BashOperator({ taskId: 'one_retry', retries: 1, retryDelay: 100, bashCommand: ${JSON.stringify(lingering(t.home, 'one_retry'))} });
});
`,
    );
    await t.processor.processOnce();
  });
  after(async () => {
    // On a failure, leave nothing running: task processes still on their try, then their commands.
    for (const ti of await t.taskInstances('killed', 'r1')) {
      if (ti.state === 'running' && ti.pid) {
        try {
          process.kill(-ti.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    for (const taskId of ['no_retries', 'one_retry']) {
      for (const what of ['bash.1', 'sleep.1']) {
        const file = join(t.home, `${taskId}.${what}`);
        if (existsSync(file)) {
          try {
            process.kill(Number(readFileSync(file, 'utf8')), 'SIGKILL');
          } catch {
            // gone, as it should be
          }
        }
      }
    }
    await t.stop();
  });

  test('the try fails or retries naming the lost process, and its Bash command does not linger', async () => {
    await t.trigger('killed', { runId: 'r1' });
    const diagnose = async () => JSON.stringify(await t.taskInstances('killed', 'r1'), null, 1);
    for (const taskId of ['no_retries', 'one_retry']) {
      const sleepFile = join(t.home, `${taskId}.sleep.1`);
      await pollUntil(`${taskId}'s command to start its sleep`, () => existsSync(sleepFile) && readFileSync(sleepFile, 'utf8').trim() !== '', { timeoutMs: 20_000, diagnose });
      const ti = (await t.taskInstances('killed', 'r1')).find((x) => x.task_id === taskId);
      assert.ok(ti?.pid, `${taskId} records its task process's pid`);
      assert.equal(ti.state, 'running');
      const bashPid = Number(readFileSync(join(t.home, `${taskId}.bash.1`), 'utf8'));
      const sleepPid = Number(readFileSync(sleepFile, 'utf8'));
      assert.ok(isAlive(bashPid) && isAlive(sleepPid), 'the command runs');
      process.kill(ti.pid, 'SIGKILL');
      await pollUntil(`${taskId}'s Bash shell (${bashPid}) and its child (${sleepPid}) to be gone`, () => !isAlive(bashPid) && !isAlive(sleepPid), { timeoutMs: 10_000, diagnose });
    }
    const run = await t.waitForRun('killed', 'r1', { timeoutMs: 30_000 });
    const tis = await t.taskInstances('killed', 'r1');
    const noRetries = tis.find((x) => x.task_id === 'no_retries');
    const oneRetry = tis.find((x) => x.task_id === 'one_retry');
    assert.equal(noRetries?.state, 'failed');
    assert.equal(noRetries.try_number, 1);
    assert.match(noRetries.failure_reason ?? '', /task process killed by SIGKILL/);
    assert.equal(oneRetry?.state, 'success', 'the retry ran to success');
    assert.equal(oneRetry.try_number, 2);
    const firstTry = (await listTries(t.engine.db, oneRetry.id)).find((x) => x.try_number === 1);
    assert.equal(firstTry?.state, 'up_for_retry');
    assert.match(firstTry.failure_reason ?? '', /task process killed by SIGKILL/);
    assert.equal(run.state, 'failed', 'the leaf no_retries failed');
  });
});
