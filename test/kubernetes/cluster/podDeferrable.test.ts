// Deferrable KubernetesPodOperator end to end on the real control plane (setup in podDeferrableSupport.ts): the
// worker creates the pod and defers, the trigger watches it in the triggerer, the task resumes on a worker that
// reads the whole log and the XCom and judges the pod like sync mode; more deferred tasks than core.parallelism
// wait at once with no worker slot held.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pullXCom } from '../../../src/store/xcom.ts';
import { binariesAvailable, waitFor } from '../../support/k8s/index.ts';
import { FAN_OUT, startDeferrableSetup, type DeferrableSetup } from './podDeferrableSupport.ts';

const available = await binariesAvailable();

void describe('deferrable KubernetesPodOperator: outcomes and freed slots', { skip: !available && 'binaries not built' }, () => {
  let s: DeferrableSetup;
  before(async () => {
    s = await startDeferrableSetup();
  });
  after(async () => {
    await s?.stop();
  });

  void test('success with the whole log, the XCom and the callbacks; failure with exit code and termination message', async () => {
    // The log as it stands when the task's success is recorded: what the task printed while it ran is in it
    // already (the last callback's line lands late on purpose, see delayNextLogWrite in the DAG).
    const lifecycle = s.t.engine.lifecycle;
    const finish = lifecycle.finish;
    let logAtOutcome: string | undefined;
    lifecycle.finish = async function (key, reported, ...rest) {
      const ti = reported.kind === 'success' ? (await s.t.taskInstances('kpo_defer_ok', 'r1')).find((x) => x.id === key.tiId) : undefined;
      if (ti?.task_id === 'ok') logAtOutcome = await s.log('kpo_defer_ok', 'r1', 'ok');
      return finish.call(this, key, reported, ...rest);
    };
    const run = await s.t.trigger('kpo_defer_ok', { runId: 'r1' });
    // Both tasks are deferred while their pods run (the worker processes have ended).
    await waitFor('both tasks deferred', async () => ((await s.states('kpo_defer_ok', 'r1')).filter((x) => x === 'deferred').length === 2) || undefined, 30_000);
    const finished = await s.t.waitForRun('kpo_defer_ok', 'r1', { timeoutMs: 60_000 }).finally(() => (lifecycle.finish = finish));
    assert.equal(finished.state, 'failed');
    const tis = Object.fromEntries((await s.t.taskInstances('kpo_defer_ok', 'r1')).map((ti) => [ti.task_id, ti]));
    assert.equal(tis.ok?.state, 'success', tis.ok?.failure_reason ?? '');
    assert.equal(tis.ok?.try_number, 1);
    assert.deepEqual(await pullXCom(s.t.engine.db, run.id, 'ok', 'return_value'), { rows: 42 });
    const okLog = await s.log('kpo_defer_ok', 'r1', 'ok');
    assert.match(okLog, /deferring: the triggerer watches pod/);
    assert.match(okLog, /resumed: pod .* ended \(succeeded\)/);
    assert.match(okLog, /\[base\] hello/);
    assert.match(okLog, /\[base\] from the deferred pod/);
    for (const line of ['callback onPodCreation deferred', 'callback onOperatorResuming deferred', 'callback onPodCompletion deferred', 'callback onPodTeardown', 'callback onPodCleanup']) {
      assert.ok(logAtOutcome?.includes(line), `task log lacked '${line}' when the success was recorded:\n${logAtOutcome ?? '(no success recorded)'}`);
      assert.ok(okLog.includes(line), `task log lacks '${line}'`);
    }

    assert.equal(tis.fails?.state, 'failed');
    assert.match(tis.fails?.failure_reason ?? '', /exited with code 3/);
    assert.match(tis.fails?.failure_reason ?? '', /input bucket is empty/);
    assert.match(tis.fails?.failure_reason ?? '', /checking input/);
    // onFinishAction delete_pod (the default) applied on resume.
    await waitFor('pods deleted', async () => ((await s.podsOf('kpo_defer_ok')).length === 0) || undefined, 30_000);
  });

  void test(`${FAN_OUT} deferred tasks with core.parallelism 2: all deferred at once while their pods run, all succeed`, async () => {
    await s.t.trigger('kpo_defer_many', { runId: 'r1' });
    await waitFor(`all ${FAN_OUT} tasks deferred at once`, async () =>
      ((await s.states('kpo_defer_many', 'r1')).filter((x) => x === 'deferred').length === FAN_OUT) || undefined, 45_000);
    assert.equal((await s.podsOf('kpo_defer_many')).length, FAN_OUT);
    // No worker holds a slot: every task instance is deferred, none queued or running.
    assert.equal((await s.states('kpo_defer_many', 'r1')).filter((x) => x === 'running' || x === 'queued').length, 0);
    await s.release('kpo_defer_many');
    const finished = await s.t.waitForRun('kpo_defer_many', 'r1', { timeoutMs: 60_000 });
    assert.equal(finished.state, 'success');
    assert.deepEqual((await s.states('kpo_defer_many', 'r1')).sort(), Array<string>(FAN_OUT).fill('success'));
  });
});
