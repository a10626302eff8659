/**
 * `POST /api/v2/dags/{dagId}/clearTaskInstances` over a running engine: a dry run (the default) lists and
 * changes nothing, a real clear sets the failed task and what it blocked back to none, and the scheduler
 * runs them to success; bad bodies are 400 naming the field, unknown DAGs 404.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

describe('REST clearTaskInstances', () => {
  let t: TestEngine;
  let marker = '';
  before(async () => {
    t = await startTestEngine();
    marker = join(t.home, 'flip.ok');
    t.writeDag(
      'flip.ts',
      `
import { BashOperator, dag } from 'capstan';
export default dag({ dagId: 'flip', schedule: null }, () => {
  const flip = new BashOperator({ taskId: 'flip', bashCommand: 'test -f ${marker}' });
  flip.before(new BashOperator({ taskId: 'after', bashCommand: 'echo after' }));
  new BashOperator({ taskId: 'fine', bashCommand: 'echo fine' });
});
`,
    );
    await t.processor.processOnce();
  });
  after(async () => {
    await t.stop();
  });

  const post = async (dagId: string, body: unknown) => {
    const res = await t.apiFetch(`/api/v2/dags/${dagId}/clearTaskInstances`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { dryRun?: boolean; taskInstances?: Array<{ taskId: string; previousState: string }>; dagRuns?: Array<{ state: string }>; error?: { code: string; message: string; field?: string } } };
  };

  test('dry run by default; then a real clear re-runs the failed task and its downstream', async () => {
    await t.trigger('flip', { runId: 'r1' });
    assert.equal((await t.waitForRun('flip', 'r1')).state, 'failed');
    assert.deepEqual(await t.taskStates('flip', 'r1'), { after: 'upstream_failed', fine: 'success', flip: 'failed' });

    const dry = await post('flip', { dagRunId: 'r1', onlyFailed: true });
    assert.equal(dry.status, 200);
    assert.equal(dry.body.dryRun, true);
    assert.deepEqual(dry.body.taskInstances?.map((x) => [x.taskId, x.previousState]).sort(), [['after', 'upstream_failed'], ['flip', 'failed']]);
    assert.equal((await t.taskStates('flip', 'r1')).flip, 'failed');

    writeFileSync(marker, '');
    const real = await post('flip', { dagRunId: 'r1', taskIds: ['flip'], includeDownstream: true, dryRun: false });
    assert.equal(real.status, 200);
    assert.deepEqual(real.body.taskInstances?.map((x) => x.taskId).sort(), ['after', 'flip']);
    assert.deepEqual(real.body.dagRuns?.map((r) => r.state), ['queued']);
    const rerun = await t.waitForRun('flip', 'r1', { states: ['success'] });
    assert.equal(rerun.clear_number, 1);
    assert.deepEqual(await t.taskStates('flip', 'r1'), { after: 'success', fine: 'success', flip: 'success' });
    const audit = await t.engine.db.db.selectFrom('audit_log').select(['actor', 'event']).where('event', '=', 'task_instance.clear').execute();
    assert.deepEqual(audit.map((a) => [a.actor, a.event]), [['admin (token test-admin)', 'task_instance.clear']]);
  });

  test('bad bodies are 400 naming the field; unknown DAGs, runs and tasks are reported', async () => {
    const cases: Array<[string, unknown, number, RegExp, string?]> = [
      ['flip', { dryRun: 'yes' }, 400, /body: dryRun: /, 'dryRun'],
      ['flip', { startDate: 'monday' }, 400, /body: startDate: /, 'startDate'],
      ['flip', { surprise: true }, 400, /body: surprise: unknown field surprise/, 'surprise'],
      ['flip', { taskRegex: '(' }, 400, /is not a regular expression/, 'taskRegex'],
      ['flip', { taskIds: ['nope'] }, 400, /DAG 'flip' has no task 'nope'/],
      ['flip', { dagRunId: 'nope' }, 404, /DAG 'flip' has no run 'nope'/],
      ['nope', {}, 404, /DAG 'nope' is not known/],
    ];
    for (const [dagId, body, status, message, field] of cases) {
      const r = await post(dagId, body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.match(r.body.error?.message ?? '', message, JSON.stringify(body));
      if (field !== undefined) assert.equal(r.body.error?.field, field, JSON.stringify(body));
    }
  });
});
