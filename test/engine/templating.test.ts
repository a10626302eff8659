/**
 * Templates rendered in real task processes (LocalExecutor, Execution API) for scheduled and manual
 * runs, on both metadata databases: every context variable, XCom, variables and connections, a `.sh`
 * template file, user macros and filters, rendered fields stored per try, and an undefined variable
 * failing the try with a clear reason. Params validation rejects bad conf over REST with nothing stored.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { apiV2Client } from '../../src/api/public/v2/client/index.ts';
import { createFernet } from '../../src/crypto/index.ts';
import { listDagRuns } from '../../src/store/dagRuns.ts';
import { ConnectionStore, connectionFromUri } from '../../src/store/connections.ts';
import { listTries } from '../../src/store/taskInstances.ts';
import { VariableStore } from '../../src/store/variables.ts';
import { pullXCom } from '../../src/store/xcom.ts';
import { strftime } from '../../src/templating/index.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { stopPostgres } from '../support/postgres.ts';

const LINE =
  "{{ ds }}|{{ ds_nodash }}|{{ ts }}|{{ ts_nodash }}|{{ logical_date }}|{{ data_interval_start }}|{{ data_interval_end }}|{{ prev_data_interval_start_success or 'none' }}|{{ prev_data_interval_end_success or 'none' }}|{{ run_id }}|{{ dag.dag_id }}|{{ task.task_id }}|{{ ti.try_number }}|{{ params.team }}|{{ dag_run.conf.who or 'nobody' }}|{{ var.value.region }}|{{ var.json.limits.max }}|{{ conn.wh.host }}|{{ ti.xcom_pull(task_ids='extract') }}|{{ macros.ds_add(ds, 1) }}|{{ shout('x') }}|{{ ds | nodash }}";

const DAG = (dagId: string, schedule: string) => `
import { BashOperator, chain, dag, task } from 'capstan';
const extract = task({ taskId: 'extract' }, (label: string) => 'rows-' + label);
export default dag({
  dagId: '${dagId}', schedule: ${schedule}, startDate: '2026-01-01', endDate: '2026-01-02T12:00:00Z', catchup: true, maxActiveRuns: 1,
  params: { team: 'core' },
  userDefinedMacros: { shout: (s: string) => s.toUpperCase() + '!' },
  userDefinedFilters: { nodash: (s: string) => s.replaceAll('-', '') },
}, () => {
  const show = new BashOperator({ taskId: 'show', bashCommand: 'echo "$LINE"', env: { LINE: ${JSON.stringify(LINE)} } });
  const file = new BashOperator({ taskId: 'file', bashCommand: 'report.sh' });
  chain(extract('{{ ds_nodash }}'), show, file);
});
`;

const BROKEN = `
import { BashOperator, dag } from 'capstan';
export default dag({ dagId: 'tmpl_undefined', schedule: null }, () => {
  new BashOperator({ taskId: 'bad', bashCommand: 'echo ok', env: { TARGET: 'to {{ params.target }}' } });
});
`;

const PARAMS = `
import { BashOperator, dag } from 'capstan';
export default dag({ dagId: 'tmpl_params', schedule: null, params: { batchSize: { default: 10, type: 'integer', minimum: 1 }, mode: { default: 'full', enum: ['full', 'delta'] }, table: { type: 'string', pattern: '^[a-z_]+$' } } }, () => {
  new BashOperator({ taskId: 'echo', bashCommand: 'echo {{ params.batchSize }} {{ params.mode }} {{ params.table }}' });
});
`;

function expectedLine(o: { logicalDate: number; start: number; end: number; prev: [number, number] | null; runId: string; dagId: string; who: string; team: string; }): string {
  const iso = (ms: number) => strftime(new Date(ms), '%Y-%m-%dT%H:%M:%S') + (ms % 1000 ? `.${String((ms % 1000) * 1000).padStart(6, '0')}` : '') + '+00:00';
  const ds = strftime(new Date(o.logicalDate), '%Y-%m-%d');
  const next = strftime(new Date(o.logicalDate + 86_400_000), '%Y-%m-%d');
  return [
    ds,
    ds.replaceAll('-', ''),
    iso(o.logicalDate),
    strftime(new Date(o.logicalDate), '%Y%m%dT%H%M%S'),
    iso(o.logicalDate),
    iso(o.start),
    iso(o.end),
    o.prev ? iso(o.prev[0]) : 'none',
    o.prev ? iso(o.prev[1]) : 'none',
    o.runId,
    o.dagId,
    'show',
    '1',
    o.team,
    o.who,
    'eu-west-1',
    '7',
    'db.internal',
    `rows-${ds.replaceAll('-', '')}`,
    next,
    'X!',
    ds.replaceAll('-', ''),
  ].join('|');
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`templating in task processes [${dialect}]`, () => {
    let t: TestEngine;
    before(async () => {
      t = await startTestEngine({ dialect, dags: { 'sched.ts': DAG('tmpl_sched', "'@daily'"), 'manual.ts': DAG('tmpl_manual', 'null'), 'broken.ts': BROKEN, 'params.ts': PARAMS } });
      writeFileSync(join(t.dagsFolder, 'report.sh'), 'echo "report {{ ds }} for {{ params.team }} after {{ ti.xcom_pull(task_ids=\'show\') | length }} chars"\n');
      const fernet = createFernet(t.engine.config.core.fernetKey);
      const vars = new VariableStore(t.engine.db, { fernet });
      await vars.set('region', 'eu-west-1');
      await vars.set('limits', '{"max": 7}');
      await new ConnectionStore(t.engine.db, { fernet }).add(connectionFromUri('wh', 'postgresql://etl:pw@db.internal:5432/dw'));
    });
    after(async () => {
      await t.stop();
    });

    test('scheduled runs: every variable rendered, the previous successful interval, stored rendered fields', async () => {
      const deadline = Date.now() + 60_000;
      let runs = await listDagRuns(t.engine.db, { dagId: 'tmpl_sched' });
      while (!(runs.length === 2 && runs.every((r) => r.state === 'success' || r.state === 'failed'))) {
        if (Date.now() > deadline) throw new Error(`runs: ${runs.map((r) => `${r.run_id}=${r.state}`).join(', ')}`);
        await new Promise((r) => setTimeout(r, 100));
        runs = await listDagRuns(t.engine.db, { dagId: 'tmpl_sched' });
      }
      runs.sort((a, b) => (a.logical_date ?? 0) - (b.logical_date ?? 0));
      const [first, second] = runs;
      assert.ok(first && second);
      for (const run of runs) assert.equal(run.state, 'success', JSON.stringify(await t.taskStates('tmpl_sched', run.run_id)));
      const line = (run: typeof first) => pullXCom(t.engine.db, run.id, 'show', 'return_value');
      const common = { dagId: 'tmpl_sched', who: 'nobody', team: 'core' };
      assert.equal(await line(first), expectedLine({ ...common, logicalDate: Date.UTC(2026, 0, 1), start: Date.UTC(2026, 0, 1), end: Date.UTC(2026, 0, 2), prev: null, runId: first.run_id }));
      assert.equal(
        await line(second),
        expectedLine({ ...common, logicalDate: Date.UTC(2026, 0, 2), start: Date.UTC(2026, 0, 2), end: Date.UTC(2026, 0, 3), prev: [Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 2)], runId: second.run_id }),
      );
      const report = (await pullXCom(t.engine.db, first.id, 'file', 'return_value')) as string;
      assert.match(report, /^report 2026-01-01 for core after \d+ chars$/);
      const show = (await t.taskInstances('tmpl_sched', first.run_id)).find((ti) => ti.task_id === 'show');
      assert.ok(show?.rendered_fields);
      const stored = JSON.parse(show.rendered_fields) as { bashCommand: string; env: { LINE: string }; cwd: null };
      assert.deepEqual(stored, { bashCommand: 'echo "$LINE"', env: { LINE: await line(first) }, cwd: null });
      const tries = await listTries(t.engine.db, show.id);
      assert.equal(tries.length, 1);
      assert.deepEqual(JSON.parse(tries[0]?.rendered_fields ?? 'null'), stored);
      const file = (await t.taskInstances('tmpl_sched', first.run_id)).find((ti) => ti.task_id === 'file');
      assert.match((JSON.parse(file?.rendered_fields ?? '{}') as { bashCommand: string }).bashCommand, /^echo "report 2026-01-01 for core after \d+ chars"\n$/);
      const api = apiV2Client({ baseUrl: t.api.url, token: t.adminToken });
      const viaRest = await api.call('get', '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/renderedFields', { path: { dagId: 'tmpl_sched', dagRunId: first.run_id, taskId: 'show' } });
      assert.deepEqual(viaRest.data, { tryNumber: 1, renderedFields: stored }, 'the REST API shows the rendered fields');
      const extract = (await t.taskInstances('tmpl_sched', first.run_id)).find((ti) => ti.task_id === 'extract');
      assert.deepEqual(JSON.parse(extract?.rendered_fields ?? '{}'), { args: ['20260101'] });
    });

    test('a manual run: its own logical date and conf, params overridden by conf', async () => {
      const run = await t.trigger('tmpl_manual', { runId: 'm1', conf: { who: 'ann', team: 'ops' } });
      const done = await t.waitForRun('tmpl_manual', 'm1', { timeoutMs: 60_000 });
      assert.equal(done.state, 'success', JSON.stringify(await t.taskStates('tmpl_manual', 'm1')));
      assert.ok(run.logical_date !== null && run.data_interval_start !== null && run.data_interval_end !== null);
      assert.equal(
        await pullXCom(t.engine.db, run.id, 'show', 'return_value'),
        expectedLine({ dagId: 'tmpl_manual', who: 'ann', team: 'ops', logicalDate: run.logical_date, start: run.data_interval_start, end: run.data_interval_end, prev: null, runId: 'm1' }),
      );
    });

    if (dialect === 'sqlite') {
      test('an undefined variable fails the try, naming the task, field, expression and template', async () => {
        await t.trigger('tmpl_undefined', { runId: 'u1' });
        const run = await t.waitForRun('tmpl_undefined', 'u1', { timeoutMs: 60_000 });
        assert.equal(run.state, 'failed');
        const [ti] = await t.taskInstances('tmpl_undefined', 'u1');
        assert.equal(ti?.state, 'failed');
        assert.match(ti?.failure_reason ?? '', /task 'bad' in DAG 'tmpl_undefined': cannot render field env\.TARGET: undefined value 'params\.target'.*template: "to \{\{ params\.target \}\}"/);
        assert.equal(ti?.rendered_fields, null, 'nothing rendered, nothing stored');
      });

      test('REST: conf that violates the params is rejected with 400 and the path of each bad value; no run is stored', async () => {
        const post = (conf: unknown) =>
          t.apiFetch(`/api/v2/dags/tmpl_params/dagRuns`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dagRunId: 'bad', conf }) });
        const res = await post({ batchSize: 'ten', mode: 'some', table: 'Bad-Name' });
        assert.equal(res.status, 400);
        const body = (await res.json()) as { error: { code: string; message: string; field?: string } };
        assert.equal(body.error.code, 'invalid_argument');
        assert.match(body.error.field ?? '', /^conf\.(batchSize|mode|table)$/, 'the field of the first bad value');
        assert.match(body.error.message, /conf\.batchSize: must be integer/);
        assert.match(body.error.message, /conf\.mode: must be equal to one of the allowed values: "full", "delta"/);
        assert.match(body.error.message, /conf\.table: must match pattern/);
        const missing = await post({ batchSize: 0 });
        assert.equal(missing.status, 400);
        const missingBody = (await missing.json()) as { error: { message: string } };
        assert.match(missingBody.error.message, /conf\.batchSize: must be >= 1/);
        assert.match(missingBody.error.message, /conf\.table: is required/);
        assert.deepEqual(await listDagRuns(t.engine.db, { dagId: 'tmpl_params' }), []);
        const ok = await post({ table: 'orders', batchSize: 5 });
        assert.equal(ok.status, 201, await ok.text());
      });
    }
  });
}

after(stopPostgres);
