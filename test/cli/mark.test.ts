/**
 * `capstan tasks mark-success|mark-failed|note`, `capstan dags mark-run|note`, and a branching DAG through
 * `dags test`, as child processes on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { forEachCliDialect } from './capstan.ts';
import { RULES_DAG, runMany, setUpDags } from './dagFixtures.ts';

const RULES_RUN = 'manual__2026-04-02T00:00:00+00:00';

const BRANCH_DAG = `
import { branchTask, dag, EmptyOperator } from 'capstan';
export default dag({ dagId: 'branchy', schedule: null }, () => {
  const pick = branchTask({ taskId: 'pick' }, () => 'left');
  pick().operator.before([new EmptyOperator({ taskId: 'left' }), new EmptyOperator({ taskId: 'right' })]);
});
`;

forEachCliDialect('capstan mark and notes', (t) => {
  const states = async (runId: string) =>
    Object.fromEntries((await t.db.db.selectFrom('task_instance').select(['task_id', 'state']).where('run_id', '=', runId).execute()).map((r) => [r.task_id, r.state]));
  const run = (runId: string) => t.db.db.selectFrom('dag_run').selectAll().where('run_id', '=', runId).executeTakeFirstOrThrow();

  before(async () => {
    await setUpDags(t, { 'rules.ts': RULES_DAG, 'branchy.ts': BRANCH_DAG });
    const rules = await t.run(['dags', 'test', 'rules', '--logical-date', '2026-04-02T00:00:00Z', '--skip-retry-delay']);
    if (rules.code !== 1) throw new Error(`dags test: ${rules.stdout}${rules.stderr}`);
  });

  void test('mark-success with --downstream (dry run first), then mark the run failed, and notes', async () => {
    const dry = await t.run(['tasks', 'mark-success', 'rules', RULES_RUN, 'bad', '--downstream', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would mark 2 task instance\(s\) success/);
    assert.equal((await states(RULES_RUN))['bad'], 'failed');
    const done = await t.run(['-o', 'json', 'tasks', 'mark-success', 'rules', RULES_RUN, 'bad', '--downstream']);
    assert.equal(done.code, 0, done.stderr);
    const marked = (JSON.parse(done.stdout) as { taskInstances: Array<{ taskId: string; previousState: string }> }).taskInstances;
    assert.deepEqual(marked.map((m) => [m.taskId, m.previousState]).sort(), [['after_bad', 'upstream_failed'], ['bad', 'failed']]);
    const after = await states(RULES_RUN);
    assert.equal(after['bad'], 'success');
    assert.equal(after['after_bad'], 'success');
    assert.equal((await run(RULES_RUN)).state, 'running', 'the finished run is handed back to the scheduler to judge');

    const failed = await t.run(['dags', 'mark-run', 'rules', RULES_RUN, '--state', 'failed']);
    assert.equal(failed.code, 0, failed.stderr);
    assert.match(failed.stdout, /running -> failed/);
    assert.equal((await run(RULES_RUN)).state, 'failed');

    const note = await t.run(['dags', 'note', 'rules', RULES_RUN, 'looked into it']);
    assert.equal(note.code, 0, note.stderr);
    assert.equal((await run(RULES_RUN)).note, 'looked into it');
    assert.equal((await t.run(['dags', 'note', 'rules', RULES_RUN, '--clear'])).code, 0);
    assert.equal((await run(RULES_RUN)).note, null);

    const tiNote = async () => t.db.db.selectFrom('task_instance').select(['note', 'note_updated_by']).where('run_id', '=', RULES_RUN).where('task_id', '=', 'bad').executeTakeFirstOrThrow();
    const noted = await t.run(['tasks', 'note', 'rules', RULES_RUN, 'bad', 'flaky upstream API']);
    assert.equal(noted.code, 0, noted.stderr);
    assert.deepEqual({ ...(await tiNote()) }, { note: 'flaky upstream API', note_updated_by: 'cli' });
    assert.equal((await t.run(['tasks', 'note', 'rules', RULES_RUN, 'bad', '--clear'])).code, 0);
    assert.deepEqual({ ...(await tiNote()) }, { note: null, note_updated_by: null });
  });

  void test('bad input: unknown task, bad state, missing note text, unknown run, note on an unknown task', async () => {
    const [unknownTask, badState, noText, noRun, noTaskNote] = await runMany(t, [
      ['tasks', 'mark-failed', 'rules', RULES_RUN, 'nope'],
      ['dags', 'mark-run', 'rules', RULES_RUN, '--state', 'running'],
      ['dags', 'note', 'rules', RULES_RUN],
      ['dags', 'note', 'rules', 'no_such_run', 'x'],
      ['tasks', 'note', 'rules', RULES_RUN, 'nope', 'x'],
    ]);
    assert.notEqual(unknownTask?.code, 0);
    assert.match(unknownTask?.stderr ?? '', /has no task 'nope'/);
    assert.notEqual(badState?.code, 0);
    assert.match(badState?.stderr ?? '', /--state must be success or failed/);
    assert.notEqual(noText?.code, 0);
    assert.match(noText?.stderr ?? '', /give the note text/);
    assert.notEqual(noRun?.code, 0);
    assert.match(noRun?.stderr ?? '', /no run 'no_such_run'/);
    assert.notEqual(noTaskNote?.code, 0);
    assert.match(noTaskNote?.stderr ?? '', /has no task 'nope'/);
  });

  void test('dags test runs a branch: the chosen task runs, the other is skipped', async () => {
    const r = await t.run(['dags', 'test', 'branchy', '--logical-date', '2026-04-03T00:00:00Z']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await states('manual__2026-04-03T00:00:00+00:00'), { pick: 'success', left: 'success', right: 'skipped' });
  });
});
