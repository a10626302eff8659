/** `capstan tasks …` through real child processes, on SQLite and PostgreSQL. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { forEachCliDialect } from './capstan.ts';
import { ETL_DAG, RULES_DAG, runMany, setUpDags } from './dagFixtures.ts';

const ETL_DATE = '2026-04-01T00:00:00Z';
const ETL_RUN = 'manual__2026-04-01T00:00:00+00:00';
const RULES_RUN = 'manual__2026-04-02T00:00:00+00:00';

forEachCliDialect('capstan tasks', (t) => {
  const count = async (table: 'task_instance' | 'xcom' | 'dag_run') => Number((await t.db.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const states = async (runId: string) =>
    Object.fromEntries((await t.db.db.selectFrom('task_instance').select(['task_id', 'state']).where('run_id', '=', runId).execute()).map((r) => [r.task_id, r.state]));

  before(async () => {
    await setUpDags(t, { 'etl.ts': ETL_DAG, 'rules.ts': RULES_DAG });
    const [etl, rules] = await Promise.all([
      t.run(['dags', 'test', 'etl', '--logical-date', ETL_DATE]),
      t.run(['dags', 'test', 'rules', '--logical-date', '2026-04-02T00:00:00Z', '--skip-retry-delay']),
    ]);
    if (etl.code !== 0 || rules.code !== 1) throw new Error(`dags test: ${etl.stdout}${etl.stderr}${rules.stdout}${rules.stderr}`);
  });

  void test('tasks test runs one task, prints its log and return value, and records nothing', async () => {
    const before = await Promise.all([count('task_instance'), count('xcom'), count('dag_run')]);
    const [extract, total, totalJson, failing] = await Promise.all([
      t.run(['tasks', 'test', 'etl', 'extract']),
      t.run(['tasks', 'test', 'etl', 'total', '--logical-date', ETL_DATE]),
      t.run(['-o', 'json', 'tasks', 'test', 'etl', 'report', '--logical-date', ETL_DATE, '--conf', '{"prefix":"p"}']),
      t.run(['tasks', 'test', 'rules', 'bad']),
    ]);
    assert.equal(extract.code, 0, extract.stderr);
    assert.match(extract.stdout, /^success\s+extract$/m);
    assert.match(extract.stdout, /^return value: \{"rows":\[3,1,4\]\}$/m);
    // With the logical date of the dags-test run, upstream XComs come from that run.
    assert.equal(total.code, 0, total.stdout + total.stderr);
    assert.match(total.stdout, /total \| INFO\s+summing 3 rows/);
    assert.match(total.stdout, /^return value: 8$/m);
    assert.equal(totalJson.code, 0, totalJson.stderr);
    assert.deepEqual(JSON.parse(totalJson.stdout), {
      dagId: 'etl',
      taskId: 'report',
      state: 'success',
      reason: null,
      returnValue: 'p:8',
      // TaskFlow args are templated fields; an upstream output shows as its XCom reference.
      renderedFields: { args: [{ __xcomArg: { key: 'return_value', taskId: 'total' } }] },
      readXComsFromRun: ETL_RUN,
      pushedXComs: [{ taskId: 'report', mapIndex: -1, key: 'label', value: 'total=8' }],
    });
    assert.equal(failing.code, 1);
    assert.match(failing.stdout, /bad \| WARN\s+broken/);
    assert.match(failing.stdout, /^failed\s+bad\s+command failed with exit code 3$/m);
    assert.deepEqual(await Promise.all([count('task_instance'), count('xcom'), count('dag_run')]), before, 'nothing was recorded');
  });

  void test('tasks list, state and logs show what dags test recorded', async () => {
    const [list, state, stateJson, logs, logs1] = await Promise.all([
      t.run(['tasks', 'list', 'rules', RULES_RUN]),
      t.run(['tasks', 'state', 'rules', RULES_RUN, 'flaky']),
      t.run(['-o', 'json', 'tasks', 'state', 'rules', RULES_RUN, 'flaky']),
      t.run(['tasks', 'logs', 'rules', RULES_RUN, 'bad']),
      t.run(['tasks', 'logs', 'rules', RULES_RUN, 'flaky', '--try', '1']),
    ]);
    assert.match(list.stdout, /^after_bad\s+upstream_failed\s+0/m);
    assert.match(list.stdout, /^flaky\s+success\s+2/m);
    assert.equal(state.stdout, 'success\n');
    const tries = (JSON.parse(stateJson.stdout) as { tries: Array<{ tryNumber: number; state: string; executor: string }> }).tries;
    assert.deepEqual(tries.map((x) => [x.tryNumber, x.state, x.executor]), [[1, 'up_for_retry', 'InProcess'], [2, 'success', 'InProcess']]);
    assert.match(logs.stdout, /WARN broken/);
    assert.match(logs1.stdout, /try ended: up_for_retry/);
  });

  void test('tasks clear refuses without --yes, then clears, puts the run back to queued and audits', async () => {
    const refused = await t.run(['tasks', 'clear', 'rules', '--run-id', RULES_RUN, '--only-failed']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /refusing to clear 2 task instance\(s\) without --yes/);
    assert.match(refused.stdout, /bad\s+failed/);
    assert.equal((await states(RULES_RUN)).bad, 'failed', 'nothing changed');

    const cleared = await t.run(['tasks', 'clear', 'rules', '--run-id', RULES_RUN, '--only-failed', '--yes']);
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.match(cleared.stdout, /cleared 2 task instance\(s\) in 1 run\(s\)/);
    assert.match(cleared.stdout, /after_bad\s+upstream_failed/);
    assert.deepEqual(await states(RULES_RUN), { ok: 'success', flaky: 'success', bad: 'none', skip: 'skipped', after_bad: 'none', after_skip: 'skipped', cleanup: 'success' });
    const run = await t.db.db.selectFrom('dag_run').select(['state', 'clear_number']).where('run_id', '=', RULES_RUN).executeTakeFirstOrThrow();
    assert.deepEqual([run.state, run.clear_number], ['queued', 1]);

    const json = await t.run(['-o', 'json', 'tasks', 'clear', 'rules', '--run-id', RULES_RUN, '-t', '^cleanup$', '--upstream', '--yes']);
    assert.equal(json.code, 0, json.stderr);
    const result = JSON.parse(json.stdout) as { taskInstances: Array<{ taskId: string }>; runs: Array<{ state: string; clearNumber: number }> };
    assert.deepEqual(result.taskInstances.map((x) => x.taskId).sort(), ['after_skip', 'cleanup', 'flaky', 'ok', 'skip']);
    assert.deepEqual(result.runs.map((r) => [r.state, r.clearNumber]), [['queued', 2]]);
    const nothing = await t.run(['tasks', 'clear', 'rules', '--run-id', RULES_RUN, '--only-failed', '--yes']);
    assert.equal(nothing.stdout, 'nothing to clear\n');
    const audit = await t.db.db.selectFrom('audit_log').select(['event', 'run_id']).where('event', '=', 'task_instance.clear').execute();
    assert.equal(audit.length, 2, 'the refused and the empty clear change nothing and are not audited');
  });

  void test('bad input exits 2, unknown things exit 3', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['tasks', 'clear', 'rules', '-t', '(', '--yes'], 2, /--task-regex '\(' is not a regular expression/],
      [['tasks', 'clear', 'rules', '--start-date', 'someday'], 2, /--start-date 'someday' is not a date/],
      [['tasks', 'test', 'etl', 'extract', '--conf', '"x"'], 2, /--conf must be a JSON object/],
      [['tasks', 'test', 'etl', 'extract', '--logical-date', 'x'], 2, /--logical-date 'x' is not a date/],
      [['tasks', 'state', 'etl', ETL_RUN, 'total', '--map-index', 'one'], 2, /--map-index 'one'/],
      [['tasks', 'test', 'etl'], 2, /missing required argument 'taskId'/],
      [['tasks', 'clear', 'nope', '--yes'], 3, /DAG 'nope' is not known/],
      [['tasks', 'clear', 'rules', '--run-id', 'nope', '--yes'], 3, /DAG 'rules' has no run 'nope'/],
      [['tasks', 'test', 'etl', 'nope'], 3, /DAG 'etl' has no task 'nope'/],
      [['tasks', 'test', 'nope', 'x'], 3, /DAG 'nope' is not known/],
      [['tasks', 'list', 'etl', 'nope'], 3, /DAG 'etl' has no run 'nope'/],
      [['tasks', 'state', 'etl', ETL_RUN, 'nope'], 3, /has no task 'nope'/],
    ];
    // Input errors are the same on either database; lookups that miss are checked on both.
    const checked = t.dialect === 'sqlite' ? cases : cases.filter(([, code]) => code === 3);
    const results = await runMany(t, checked.map(([args]) => args), 4);
    checked.forEach(([args, code, message], i) => {
      assert.equal(results[i]?.code, code, `${args.join(' ')}: ${results[i]?.stderr}`);
      assert.match(results[i]?.stderr ?? '', message, args.join(' '));
    });
    const help = await t.run(['tasks', '--help']);
    for (const cmd of ['list', 'state', 'logs', 'run', 'test', 'clear']) assert.match(help.stdout, new RegExp(`^  ${cmd}\\b.*\\S`, 'm'), cmd);
  });
});
