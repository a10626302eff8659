/**
 * A real scheduler re-runs what `clear` sets back to none: in a run that is still running (found by the
 * scheduler's incremental sync on updated_at) and in a finished run (back to queued), with real task
 * processes, on both databases.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { clearTaskInstances } from '../../src/services/clear.ts';
import { getDagRun } from '../../src/store/dagRuns.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { stopPostgres } from '../support/postgres.ts';

/** `flip` fails until the file `flip.ok` exists; `hold` runs until `hold.ok` exists. */
const dagSource = (dir: string) => `
import { BashOperator, dag } from 'capstan';
export default dag({ dagId: 'rerun', schedule: null }, () => {
  const flip = new BashOperator({ taskId: 'flip', bashCommand: 'test -f ${join(dir, 'flip.ok')}' });
  flip.before(new BashOperator({ taskId: 'after_flip', bashCommand: 'echo after' }));
  new BashOperator({ taskId: 'hold', bashCommand: 'until test -f ${join(dir, 'hold.ok')}; do sleep 0.05; done' });
});
`;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`clear and re-run [${dialect}]`, () => {
    let t: TestEngine;
    let dir = '';
    before(async () => {
      t = await startTestEngine({ dialect });
      dir = t.home;
      t.writeDag('rerun.ts', dagSource(dir));
      await t.processor.processOnce();
    });
    after(async () => {
      await t.stop();
    });

    test('cleared tasks of a running run are scheduled again; a finished run goes back to queued and finishes again', async () => {
      await t.trigger('rerun', { runId: 'r1' });
      await until('flip to fail while hold runs', async () => {
        const s = await t.taskStates('rerun', 'r1');
        return s['flip'] === 'failed' && s['after_flip'] === 'upstream_failed' && s['hold'] === 'running' ? s : undefined;
      });
      assert.equal((await getDagRun(t.engine.db, 'rerun', 'r1')).state, 'running');

      writeFileSync(join(dir, 'flip.ok'), '');
      const cleared = await clearTaskInstances(t.engine.db, { dagId: 'rerun', runId: 'r1', taskRegex: '^flip$', downstream: true }, Date.now(), 'test');
      assert.deepEqual(cleared.runs.map((r) => r.state), ['running']);
      await until('flip and after_flip to succeed', async () => {
        const s = await t.taskStates('rerun', 'r1');
        return s['flip'] === 'success' && s['after_flip'] === 'success' ? s : undefined;
      });
      writeFileSync(join(dir, 'hold.ok'), '');
      const run = await t.waitForRun('rerun', 'r1');
      assert.equal(run.state, 'success');
      const flip = (await t.taskInstances('rerun', 'r1')).find((ti) => ti.task_id === 'flip');
      assert.equal(flip?.try_number, 2);

      // The run is finished: clearing everything queues it, and the scheduler runs it to the end again.
      const again = await clearTaskInstances(t.engine.db, { dagId: 'rerun', runId: 'r1' }, Date.now(), 'test');
      assert.deepEqual(again.runs.map((r) => [r.previousState, r.state, r.clearNumber]), [['success', 'queued', 2]]);
      t.scheduler.wake();
      const rerun = await t.waitForRun('rerun', 'r1', { states: ['success'] });
      assert.equal(rerun.clear_number, 2);
      assert.deepEqual(
        (await t.taskInstances('rerun', 'r1')).map((ti) => [ti.task_id, ti.state, ti.try_number]),
        [['after_flip', 'success', 2], ['flip', 'success', 3], ['hold', 'success', 2]],
      );
    });
  });
}

after(() => stopPostgres());
