// Deferrable KubernetesPodOperator under control actions (setup in podDeferrableSupport.ts): a startup timeout
// decided by the trigger while deferred, executionTimeout bounding the deferral, mark-failed while deferred
// deleting the pod, and a triggerer restart mid-pod that neither deletes the pod nor loses the task.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { markTaskInstances } from '../../../src/services/mark.ts';
import { binariesAvailable, waitFor } from '../../support/k8s/index.ts';
import { startDeferrableSetup, type DeferrableSetup } from './podDeferrableSupport.ts';

const available = await binariesAvailable();

void describe('deferrable KubernetesPodOperator: timeouts, mark-failed, triggerer restart', { skip: !available && 'binaries not built' }, () => {
  let s: DeferrableSetup;
  before(async () => {
    s = await startDeferrableSetup();
  });
  after(async () => {
    await s?.stop();
  });

  void test('startup timeout decided by the trigger while deferred fails the task and deletes the pod', async () => {
    await s.t.trigger('kpo_defer_stuck', { runId: 'r1' });
    await waitFor('task deferred', async () => ((await s.states('kpo_defer_stuck', 'r1'))[0] === 'deferred') || undefined, 30_000);
    const finished = await s.t.waitForRun('kpo_defer_stuck', 'r1', { timeoutMs: 60_000 });
    assert.equal(finished.state, 'failed');
    const [ti] = await s.t.taskInstances('kpo_defer_stuck', 'r1');
    assert.match(ti?.failure_reason ?? '', /did not start within 2s/);
    await waitFor('pod deleted', async () => ((await s.podsOf('kpo_defer_stuck')).length === 0) || undefined, 30_000);
  });

  void test('executionTimeout passing while deferred fails the task and deletes the pod', async () => {
    await s.t.trigger('kpo_defer_timeout', { runId: 'r1' });
    await waitFor('task deferred', async () => ((await s.states('kpo_defer_timeout', 'r1'))[0] === 'deferred') || undefined, 30_000);
    assert.equal((await s.podsOf('kpo_defer_timeout')).length, 1);
    const finished = await s.t.waitForRun('kpo_defer_timeout', 'r1', { timeoutMs: 60_000 });
    assert.equal(finished.state, 'failed');
    const [ti] = await s.t.taskInstances('kpo_defer_timeout', 'r1');
    assert.match(ti?.failure_reason ?? '', /deferred past its deadline/);
    await waitFor('pod deleted', async () => ((await s.podsOf('kpo_defer_timeout')).length === 0) || undefined, 30_000);
  });

  void test('marking the task failed while deferred deletes its pod (the trigger, cancelled, sees its task left deferred)', async () => {
    await s.t.trigger('kpo_defer_forever', { runId: 'r1' });
    await waitFor('task deferred', async () => ((await s.states('kpo_defer_forever', 'r1'))[0] === 'deferred') || undefined, 30_000);
    await waitFor('trigger running', async () => ((s.triggerer()?.runningTriggerIds().length ?? 0) > 0) || undefined, 30_000);
    const [pod] = await s.podsOf('kpo_defer_forever');
    assert.ok(pod?.metadata?.name, 'the pod exists while deferred');
    await markTaskInstances(s.t.engine.db, { dagId: 'kpo_defer_forever', runId: 'r1', taskIds: ['forever'], state: 'failed' }, Date.now(), 'test');
    s.t.scheduler.wake();
    await waitFor('pod deleted after mark-failed', async () => ((await s.podsOf('kpo_defer_forever')).length === 0) || undefined, 30_000);
    assert.equal((await s.states('kpo_defer_forever', 'r1'))[0], 'failed');
  });

  void test('a triggerer restart mid-pod leaves the pod running; the next triggerer resumes the watch and the task succeeds', async () => {
    await s.t.trigger('kpo_defer_restart', { runId: 'r1' });
    await waitFor('task deferred', async () => ((await s.states('kpo_defer_restart', 'r1'))[0] === 'deferred') || undefined, 30_000);
    await waitFor('trigger running', async () => ((s.triggerer()?.runningTriggerIds().length ?? 0) > 0) || undefined, 30_000);
    const [before] = await s.podsOf('kpo_defer_restart');
    await s.stopTriggerer();
    const [still] = await s.podsOf('kpo_defer_restart');
    assert.equal(still?.metadata?.uid, before?.metadata?.uid, 'a stopping triggerer must not delete the pod');
    assert.equal((await s.states('kpo_defer_restart', 'r1'))[0], 'deferred');
    s.startTriggerer();
    await waitFor('trigger running again', async () => ((s.triggerer()?.runningTriggerIds().length ?? 0) > 0) || undefined, 30_000);
    await s.release('kpo_defer_restart');
    const finished = await s.t.waitForRun('kpo_defer_restart', 'r1', { timeoutMs: 60_000 });
    assert.equal(finished.state, 'success');
    assert.match(await s.log('kpo_defer_restart', 'r1', 'long'), /\[base\] ran while deferred/);
  });
});
