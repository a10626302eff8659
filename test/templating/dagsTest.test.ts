/**
 * Templates in `dags test` (the in-process runner): the same context as a task process, variables and
 * connections through the secrets lookup, rendered fields stored per try (each retry renders afresh, so
 * `ti.try_number` differs per try), masked secrets in what is stored, and the previous successful interval.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SecretsLookup } from '../../src/secrets/index.ts';
import { BashOperator, dag, task } from '../../src/sdk/index.ts';
import { listTries } from '../../src/store/taskInstances.ts';
import { pullXCom } from '../../src/store/xcom.ts';
import { runDagInProcess } from '../../src/testing/index.ts';
import { forEachDialect } from '../support/dialects.ts';

const secrets = new SecretsLookup({ env: { CAPSTAN_VAR_REGION: 'eu-west-1', CAPSTAN_CONN_WH: 'postgresql://etl:s3cr3t-pass@db.internal:5432/dw' } });

forEachDialect('templates in dags test', (t) => {
  test('context, lookups, per-try rendered fields with masked secrets, previous successful interval', async () => {
    const d = dag({ dagId: 'inproc_tmpl', schedule: '@daily', startDate: '2026-01-01', params: { team: 'core' } }, () => {
      const extract = task({ taskId: 'extract' }, (day: string) => `rows-${day}`);
      const show = new BashOperator({
        taskId: 'show',
        bashCommand: 'echo "$LINE"; test {{ ti.try_number }} -ge 2',
        env: {
          LINE: "{{ ds }} {{ ts }} {{ prev_data_interval_start_success or 'none' }} {{ params.team }} {{ dag_run.conf.who }} {{ var.value.region }} {{ conn.wh.host }} {{ ti.xcom_pull(task_ids='extract') }} try {{ ti.try_number }}",
          PASSWORD: '{{ conn.wh.password }}',
        },
        retries: 1,
      });
      extract('{{ ds_nodash }}').operator.before(show);
    });
    const first = await runDagInProcess({ db: t.db, dag: d, fileloc: '/dags/inproc_tmpl.ts', secrets, xcomMaxBytes: 10_000, retryDelay: 'skip', logicalDate: Date.UTC(2026, 0, 1), conf: { who: 'ann', team: 'ops' } });
    assert.equal(first.state, 'success', first.reason ?? '');
    assert.equal(await pullXCom(t.db, first.run.id, 'show', 'return_value'), '2026-01-01 2026-01-01T00:00:00+00:00 none ops ann eu-west-1 db.internal rows-20260101 try 2');
    const show = first.taskInstances.find((ti) => ti.task_id === 'show');
    assert.ok(show);
    const tries = await listTries(t.db, show.id);
    const rendered = tries.map((x) => JSON.parse(x.rendered_fields ?? 'null') as { bashCommand: string; env: { LINE: string; PASSWORD: string } });
    assert.deepEqual(
      rendered.map((r) => r.bashCommand),
      ['echo "$LINE"; test 1 -ge 2', 'echo "$LINE"; test 2 -ge 2'],
      'each try renders the templates, not the previous try’s output',
    );
    assert.equal(rendered[1]?.env.PASSWORD, '***', 'a connection password is masked in the stored fields');
    assert.deepEqual(JSON.parse(show.rendered_fields ?? 'null'), rendered[1]);

    const second = await runDagInProcess({ db: t.db, dag: d, fileloc: '/dags/inproc_tmpl.ts', secrets, xcomMaxBytes: 10_000, retryDelay: 'skip', logicalDate: Date.UTC(2026, 0, 2), conf: { who: 'bob' } });
    assert.equal(second.state, 'success', second.reason ?? '');
    assert.equal(
      await pullXCom(t.db, second.run.id, 'show', 'return_value'),
      `2026-01-02 2026-01-02T00:00:00+00:00 ${new Date(first.run.data_interval_start ?? 0).toISOString().replace('.000Z', '+00:00')} core bob eu-west-1 db.internal rows-20260102 try 2`,
    );
  });
});
