// Logs while deferred, on the real control plane (setup in podDeferrableSupport.ts): while a deferrable
// KubernetesPodOperator task is `deferred` (no task process; the triggerer watches its pod), the pod's log reaches
// the try's log live — the API's log route reads lines the pod prints after the deferral, and a follow opened
// while deferred streams them on until the resumed task ends the log — and the resumed task reads on from where
// the trigger stopped, so every pod line is in the log exactly once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { binariesAvailable, waitFor } from '../../support/k8s/index.ts';
import { openSse } from '../../support/sse.ts';
import { startDeferrableSetup, type DeferrableSetup } from './podDeferrableSupport.ts';

const available = await binariesAvailable();

void describe('deferrable KubernetesPodOperator: the pod log while deferred', { skip: !available && 'binaries not built' }, () => {
  let s: DeferrableSetup;
  before(async () => {
    s = await startDeferrableSetup();
  });
  after(async () => {
    await s?.stop();
  });

  void test("lines the pod prints while the task is deferred are in the try's log at once, once each after the resume", async () => {
    const logUrl = '/api/v2/dags/kpo_defer_forever/dagRuns/r-logs/taskInstances/forever/logs/1';
    const apiLog = async (): Promise<string> => {
      const res = await s.t.apiFetch(logUrl);
      return res.status === 200 ? ((await res.json()) as { content: string }).content : '';
    };
    const state = async (): Promise<string | undefined> => (await s.t.taskStates('kpo_defer_forever', 'r-logs'))['forever'];
    await s.t.trigger('kpo_defer_forever', { runId: 'r-logs' });
    await waitFor('the task deferred', async () => ((await state()) === 'deferred') || undefined, 60_000);
    // The pod's first line, printed before or around the deferral, arrives through the triggerer.
    await waitFor('the first pod line in the API log', async () => (await apiLog()).includes('INFO [base] ran while deferred\n') || undefined, 30_000);
    assert.equal(await state(), 'deferred');

    // The pod prints more while the task stays deferred: a follow opened now streams it.
    const [pod] = await s.podsOf('kpo_defer_forever');
    const podName = pod?.metadata?.name ?? '';
    const sse = await openSse(`${s.t.api.url}${logUrl}/stream`, { authorization: `Bearer ${s.t.adminToken}` });
    try {
      await sse.next((e) => e.event === 'log' && e.data.includes('ran while deferred'), 30_000);
      await s.cluster.setPodLogs(s.namespace, podName, { base: 'ran while deferred\nstep 2 of 3 while deferred\n' });
      await sse.next((e) => e.event === 'log' && e.data.includes('[base] step 2 of 3 while deferred'), 30_000);
      assert.equal(await state(), 'deferred', 'the new line came while the task was still deferred');
      assert.match(await apiLog(), /INFO \[base\] step 2 of 3 while deferred\n/);

      // The pod prints its last line and ends; the task resumes, and the follow ends with the try.
      await s.cluster.setPodLogs(s.namespace, podName, { base: 'ran while deferred\nstep 2 of 3 while deferred\nstep 3 of 3, done\n' });
      await s.release('kpo_defer_forever');
      assert.equal((await s.t.waitForRun('kpo_defer_forever', 'r-logs', { timeoutMs: 60_000 })).state, 'success');
      await sse.next((e) => e.event === 'end', 30_000);
    } finally {
      sse.close();
    }
    const log = await s.log('kpo_defer_forever', 'r-logs', 'forever');
    for (const line of ['ran while deferred', 'step 2 of 3 while deferred', 'step 3 of 3, done']) {
      assert.equal(log.split('\n').filter((l) => l.endsWith(`INFO [base] ${line}`)).length, 1, `'[base] ${line}' once in:\n${log}`);
    }
    assert.match(log, /the triggerer follows the log of pod/);
    assert.ok(log.indexOf('[base] step 2 of 3 while deferred') < log.indexOf('resumed: pod'), 'the deferred lines precede the resume');
  });
});
