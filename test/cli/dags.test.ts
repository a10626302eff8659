/** `capstan dags …` through real child processes, on SQLite and PostgreSQL. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { pullXCom } from '../../src/store/xcom.ts';
import { forEachCliDialect } from './capstan.ts';
import { BROKEN_DAG, ETL_DAG, RULES_DAG, runMany, setUpDags } from './dagFixtures.ts';

interface RunJson {
  runId: string;
  runType: string;
  state: string;
  conf: unknown;
  taskInstances?: Array<{ taskId: string; state: string; tryNumber: number }>;
}

forEachCliDialect('capstan dags', (t) => {
  let dagsFolder = '';
  before(async () => {
    dagsFolder = await setUpDags(t, { 'etl.ts': ETL_DAG, 'rules.ts': RULES_DAG, 'broken.ts': BROKEN_DAG });
  });

  void test('list, list-import-errors and show', async () => {
    const [list, listTable, errors, errorsTable, show, showTable, help] = await Promise.all([
      t.run(['-o', 'json', 'dags', 'list']),
      t.run(['dags', 'list']),
      t.run(['-o', 'json', 'dags', 'list-import-errors']),
      t.run(['dags', 'list-import-errors']),
      t.run(['-o', 'json', 'dags', 'show', 'etl']),
      t.run(['dags', 'show', 'etl']),
      t.run(['dags', '--help']),
    ]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual((JSON.parse(list.stdout) as Array<{ dagId: string }>).map((d) => d.dagId), ['etl', 'rules']);
    assert.match(listTable.stdout, /^dagId\s+schedule\s+isPaused/m);
    const errs = JSON.parse(errors.stdout) as Array<{ file: string; error: string }>;
    assert.equal(errs.length, 1);
    assert.equal(errs[0]?.file, join(dagsFolder, 'broken.ts'));
    assert.match(errs[0]?.error ?? '', /boom at import/);
    assert.match(errorsTable.stdout, /broken\.ts.*boom at import/);
    const s = JSON.parse(show.stdout) as { dagId: string; tasks: Array<{ taskId: string; upstream: string[] }> };
    assert.deepEqual(s.tasks.map((x) => [x.taskId, x.upstream]), [['extract', []], ['total', ['extract']], ['report', ['total']], ['notify', ['report']]]);
    assert.equal(showTable.code, 0);
    assert.match(showTable.stdout, /extract \[TaskFlow\]\n└── total \[TaskFlow\]\n {4}└── report \[TaskFlow\]\n {8}└── notify \[BashOperator\]/);
    assert.equal(help.code, 0);
    for (const cmd of ['list', 'list-import-errors', 'show', 'trigger', 'pause', 'unpause', 'list-runs', 'test']) assert.match(help.stdout, new RegExp(`^  ${cmd}\\b.*\\S`, 'm'), cmd);
  });

  void test('trigger with conf, list-runs, pause and unpause', async () => {
    const trig = await t.run(['-o', 'json', 'dags', 'trigger', 'etl', '--conf', '{"prefix":"x"}', '--run-id', 'cli_trigger']);
    assert.equal(trig.code, 0, trig.stderr);
    const run = JSON.parse(trig.stdout) as RunJson;
    assert.deepEqual([run.runId, run.runType, run.state, run.conf], ['cli_trigger', 'manual', 'queued', { prefix: 'x' }]);
    const runs = JSON.parse((await t.run(['-o', 'json', 'dags', 'list-runs', 'etl', '--state', 'queued'])).stdout) as RunJson[];
    assert.ok(runs.some((r) => r.runId === 'cli_trigger'));
    assert.equal((await t.run(['dags', 'pause', 'rules'])).code, 0);
    assert.equal((await t.db.db.selectFrom('dag').select('is_paused').where('dag_id', '=', 'rules').executeTakeFirstOrThrow()).is_paused, 1);
    assert.equal((await t.run(['dags', 'unpause', 'rules'])).code, 0);
    assert.equal((await t.db.db.selectFrom('dag').select('is_paused').where('dag_id', '=', 'rules').executeTakeFirstOrThrow()).is_paused, 0);
    const audit = await t.db.db.selectFrom('audit_log').select('event').where('dag_id', 'in', ['etl', 'rules']).execute();
    assert.deepEqual(audit.map((a) => a.event).sort(), ['dag.pause', 'dag.trigger', 'dag.unpause']);
  });

  void test('dags test runs the whole DAG in process: XCom between tasks, logs printed, states recorded', async () => {
    const out = await t.run(['dags', 'test', 'etl', '--logical-date', '2026-03-01T00:00:00Z', '--conf', '{"prefix":"total"}']);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.match(out.stdout, /run manual__2026-03-01T00:00:00\+00:00/);
    assert.match(out.stdout, /total \| INFO\s+summing 3 rows/);
    assert.match(out.stdout, /notify \| INFO\s+notified manual__2026-03-01T00:00:00\+00:00/);
    for (const task of ['extract', 'total', 'report', 'notify']) assert.match(out.stdout, new RegExp(`^success\\s+${task}  try 1/1`, 'm'), task);
    // Upstream first: each task finishes before its downstream starts.
    const order = ['extract', 'total', 'report', 'notify'].map((task) => out.stdout.search(new RegExp(`^success\\s+${task} `, 'm')));
    assert.deepEqual([...order].sort((a, b) => a - b), order);
    assert.match(out.stdout, /run manual__2026-03-01T00:00:00\+00:00 success$/m);

    const run = await t.db.db.selectFrom('dag_run').selectAll().where('dag_id', '=', 'etl').where('run_id', '=', 'manual__2026-03-01T00:00:00+00:00').executeTakeFirstOrThrow();
    assert.deepEqual([run.state, run.run_type], ['success', 'manual']);
    assert.equal(await pullXCom(t.db, run.id, 'total', 'return_value'), 8);
    assert.equal(await pullXCom(t.db, run.id, 'report', 'return_value'), 'total:8');
    assert.equal(await pullXCom(t.db, run.id, 'report', 'label'), 'total=8');
    const list = JSON.parse((await t.run(['-o', 'json', 'tasks', 'list', 'etl', run.run_id])).stdout) as Array<{ taskId: string; state: string }>;
    assert.deepEqual(list.map((x) => [x.taskId, x.state]), [['extract', 'success'], ['notify', 'success'], ['report', 'success'], ['total', 'success']]);
    const log = await t.run(['tasks', 'logs', 'etl', run.run_id, 'total']);
    assert.match(log.stdout, /INFO summing 3 rows/);
  });

  void test('dags test of a failing run: trigger rules, skips, retries; exit 1 and JSON on stdout', async () => {
    const out = await t.run(['-o', 'json', 'dags', 'test', 'rules', '--logical-date', '2026-03-02T00:00:00Z', '--skip-retry-delay']);
    assert.equal(out.code, 1, out.stderr);
    const result = JSON.parse(out.stdout) as RunJson & { reason: string };
    assert.equal(result.state, 'failed');
    assert.match(result.reason, /leaf task 'after_bad' ended upstream_failed/);
    const states = Object.fromEntries((result.taskInstances ?? []).map((x) => [x.taskId, [x.state, x.tryNumber]]));
    assert.deepEqual(states, {
      after_bad: ['upstream_failed', 0],
      after_skip: ['skipped', 0],
      bad: ['failed', 1],
      cleanup: ['success', 1],
      flaky: ['success', 2],
      ok: ['success', 1],
      skip: ['skipped', 1],
    });
    // Progress went to stderr, so stdout stayed one JSON document.
    assert.match(out.stderr, /^up_for_retry\s+flaky {2}try 1\/2/m);
    assert.match(out.stderr, /bad \| WARN\s+broken/);
    assert.match(out.stderr, /^upstream_failed\s+after_bad {2}not run/m);
  });

  void test('bad input exits 2, unknown DAGs and runs exit 3', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['dags', 'trigger', 'etl', '--conf', '{not json'], 2, /--conf is not valid JSON/],
      [['dags', 'trigger', 'etl', '--conf', '[1]'], 2, /--conf must be a JSON object/],
      [['dags', 'trigger', 'etl', '--logical-date', 'yesterday'], 2, /--logical-date 'yesterday' is not a date/],
      [['dags', 'test', 'etl', '--conf', '{'], 2, /--conf is not valid JSON/],
      [['dags', 'list-runs', 'etl', '--state', 'done'], 2, /--state 'done' is not a run state/],
      [['dags', 'list-runs', 'etl', '--limit', 'lots'], 2, /--limit 'lots'/],
      [['dags', 'show'], 2, /missing required argument 'dagId'/],
      [['dags', 'frobnicate'], 2, /unknown command 'frobnicate'/],
      [['dags', 'test', 'etl', '--file', join(t.home, 'dags', 'broken.ts')], 2, /error \[dag_invalid\]: .*boom at import/],
      [['dags', 'show', 'nope'], 3, /error \[not_found\]: DAG 'nope' is not known/],
      [['dags', 'trigger', 'nope'], 3, /DAG 'nope' is not known/],
      [['dags', 'pause', 'nope'], 3, /DAG 'nope' is not known/],
      [['dags', 'list-runs', 'nope'], 3, /DAG 'nope' is not known/],
      [['dags', 'test', 'nope'], 3, /DAG 'nope' is not known/],
      [['dags', 'test', 'nope', '--file', join(t.home, 'dags', 'etl.ts')], 3, /does not define DAG 'nope' \(it defines: etl\)/],
    ];
    // Input errors are the same on either database; lookups that miss are checked on both.
    const checked = t.dialect === 'sqlite' ? cases : cases.filter(([, code]) => code === 3);
    const results = await runMany(t, checked.map(([args]) => args), 4);
    checked.forEach(([args, code, message], i) => {
      const r = results[i];
      assert.equal(r?.code, code, `${args.join(' ')}: ${r?.stderr}`);
      assert.match(r?.stderr ?? '', message, args.join(' '));
    });
    const json = await t.run(['-o', 'json', 'dags', 'show', 'nope']);
    assert.deepEqual(JSON.parse(json.stderr), { error: { code: 'not_found', message: "DAG 'nope' is not known", hint: 'check the id with `capstan dags list`, or its file with `capstan dags list-import-errors`' } });
  });
});
