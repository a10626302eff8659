// The example DAG examples/kubernetes/dags/k8s_deferrable.ts on the real control plane (setup in
// podDeferrableSupport.ts; the DAG file imports the example unchanged and only gives its pods the test namespace
// and their simulated outcome and XCom): six deferred shards under core.parallelism 2, then the summary.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pullXCom } from '../../../src/store/xcom.ts';
import { binariesAvailable } from '../../support/k8s/index.ts';
import { startDeferrableSetup, type DeferrableSetup } from './podDeferrableSupport.ts';

const available = await binariesAvailable();

void describe('example k8s_deferrable', { skip: !available && 'binaries not built' }, () => {
  let s: DeferrableSetup;
  before(async () => {
    s = await startDeferrableSetup();
  });
  after(async () => {
    await s?.stop();
  });

  void test('the example DAG k8s_deferrable runs green: six deferred shards under parallelism 2, the summary reads their XComs', async () => {
    const run = await s.t.trigger('k8s_deferrable', { runId: 'example' });
    const finished = await s.t.waitForRun('k8s_deferrable', 'example', { timeoutMs: 90_000 });
    const tis = await s.t.taskInstances('k8s_deferrable', 'example');
    assert.equal(finished.state, 'success', tis.map((ti) => `${ti.task_id}=${ti.state} ${ti.failure_reason ?? ''}`).join('; '));
    assert.equal(await pullXCom(s.t.engine.db, run.id, 'summarize', 'return_value'), '6 shards trained; worst loss 0.15 (shard 5)');
    const shardLog = await s.log('k8s_deferrable', 'example', 'train_shard_3');
    assert.match(shardLog, /deferring: the triggerer watches pod/);
    assert.match(shardLog, /\[base\] training shard 3/);
    assert.match(shardLog, /shard 3: pod .* ended while deferred/);
  });
});
