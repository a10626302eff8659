/**
 * Templates and params through the real CLI: `dags test` renders and stores each try's fields,
 * `tasks render` renders against a run (or a logical date) without executing and shows what a try
 * stored, and conf that violates the params exits 2 with the bad value's path and stores nothing.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { listDagRuns } from '../../src/store/dagRuns.ts';
import { forEachCliDialect } from './capstan.ts';
import { runMany, setUpDags } from './dagFixtures.ts';

const TEMPLATED = `
import { BashOperator, chain, dag, task } from 'capstan';
const extract = task({ taskId: 'extract' }, () => 'rows.csv');
export default dag({ dagId: 'tmpl', schedule: null, params: { team: { default: 'core', type: 'string' }, batchSize: { default: 10, type: 'integer', minimum: 1 } } }, () => {
  const show = new BashOperator({
    taskId: 'show',
    bashCommand: 'echo "{{ ds }} {{ params.team }} {{ params.batchSize }} {{ ti.xcom_pull(task_ids=\\'extract\\') }}"',
    env: { RUN: '{{ run_id }}' },
  });
  const file = new BashOperator({ taskId: 'file', bashCommand: 'hello.sh' });
  chain(extract(), show, file);
});
`;

interface RenderJson {
  runId: string;
  tryNumber: number;
  source: string;
  renderedFields: { bashCommand: string; env: { RUN: string } | null };
}

forEachCliDialect('capstan tasks render and params', (t) => {
  before(async () => {
    const dags = await setUpDags(t, { 'tmpl.ts': TEMPLATED });
    writeFileSync(join(dags, 'hello.sh'), 'echo "hello {{ params.team }}"\n');
  });

  void test('dags test stores rendered fields; tasks render shows them (--stored) and renders without executing', async () => {
    const run = await t.run(['-o', 'json', 'dags', 'test', 'tmpl', '--run-id', 'd1', '--logical-date', '2026-02-03T00:00:00Z', '--conf', '{"team":"ops"}']);
    assert.equal(run.code, 0, run.stderr);
    const [stored, rendered, table, fresh, fileStored] = await runMany(t, [
      ['-o', 'json', 'tasks', 'render', 'tmpl', 'show', '--run-id', 'd1', '--stored'],
      ['-o', 'json', 'tasks', 'render', 'tmpl', 'show', '--run-id', 'd1'],
      ['tasks', 'render', 'tmpl', 'show', '--run-id', 'd1'],
      ['-o', 'json', 'tasks', 'render', 'tmpl', 'file', '--logical-date', '2026-05-06T07:00:00Z', '--conf', '{"team": "web"}'],
      ['-o', 'json', 'tasks', 'render', 'tmpl', 'file', '--run-id', 'd1', '--stored'],
    ]);
    for (const r of [stored, rendered, table, fresh, fileStored]) assert.equal(r?.code, 0, r?.stderr);
    const s = JSON.parse(stored?.stdout ?? '') as RenderJson;
    assert.deepEqual([s.source, s.tryNumber], ['stored', 1]);
    assert.deepEqual(s.renderedFields, { bashCommand: 'echo "2026-02-03 ops 10 rows.csv"', env: { RUN: 'd1' }, cwd: null });
    const r = JSON.parse(rendered?.stdout ?? '') as RenderJson;
    assert.equal(r.source, 'rendered');
    assert.deepEqual(r.renderedFields, s.renderedFields, 'rendering again against the run gives what the try stored');
    assert.match(table?.stdout ?? '', /# field: bashCommand\n# -+\necho "2026-02-03 ops 10 rows\.csv"\n/);
    const f = JSON.parse(fresh?.stdout ?? '') as RenderJson;
    assert.match(f.runId, /^manual__2026-05-06T07:00:00/);
    assert.equal(f.renderedFields.bashCommand, 'echo "hello web"\n');
    assert.equal((JSON.parse(fileStored?.stdout ?? '') as RenderJson).renderedFields.bashCommand, 'echo "hello ops"\n');
  });

  void test('tasks render: a missing value exits 1 naming the field and expression; bad usage exits 2, an unknown run 3', async () => {
    const [missing, noStored, badRun] = await runMany(t, [
      ['tasks', 'render', 'tmpl', 'show', '--logical-date', '2026-05-06T07:00:00Z'],
      ['tasks', 'render', 'tmpl', 'show', '--stored'],
      ['tasks', 'render', 'tmpl', 'show', '--run-id', 'nope'],
    ]);
    assert.equal(missing?.code, 1);
    assert.match(missing?.stderr ?? '', /task 'show' in DAG 'tmpl': cannot render field bashCommand: undefined value 'ti\.xcom_pull\(task_ids='extract'\)'/);
    assert.equal(noStored?.code, 2);
    assert.match(noStored?.stderr ?? '', /--stored needs --run-id/);
    assert.equal(badRun?.code, 3, badRun?.stderr);
  });

  void test('conf that violates the params: exit 2 with the path, nothing stored (trigger and dags test)', async () => {
    const [trigger, dagsTest, taskTest] = await runMany(t, [
      ['dags', 'trigger', 'tmpl', '--run-id', 'bad1', '--conf', '{"batchSize": "ten"}'],
      ['dags', 'test', 'tmpl', '--run-id', 'bad2', '--conf', '{"batchSize": 0, "team": 5}'],
      ['tasks', 'test', 'tmpl', 'show', '--conf', '{"batchSize": 1.5}'],
    ]);
    assert.equal(trigger?.code, 2);
    assert.match(trigger?.stderr ?? '', /conf\.batchSize: must be integer/);
    assert.equal(dagsTest?.code, 2);
    assert.match(dagsTest?.stderr ?? '', /conf\.team: must be string/);
    assert.match(dagsTest?.stderr ?? '', /conf\.batchSize: must be >= 1/);
    assert.equal(taskTest?.code, 2);
    const tried = await t.run(['-o', 'json', 'tasks', 'test', 'tmpl', 'file', '--conf', '{"team": "qa"}']);
    assert.equal(tried.code, 0, tried.stderr);
    assert.deepEqual((JSON.parse(tried.stdout) as { renderedFields: unknown }).renderedFields, { bashCommand: 'echo "hello qa"\n', env: null, cwd: null });
    assert.match(taskTest?.stderr ?? '', /conf\.batchSize: must be integer/);
    const runs = (await listDagRuns(t.db, { dagId: 'tmpl' })).map((x) => x.run_id);
    assert.ok(!runs.includes('bad1') && !runs.includes('bad2'), runs.join(','));
  });
});
