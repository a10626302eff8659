/**
 * Rendering of templated fields, in process: every context variable Airflow names, macros, lookups of
 * variables, connections and XComs, template files, user macros and filters, recursion, and errors that
 * name the task, the field path and the template.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BashOperator, dag, task } from '../../src/index.ts';
import type { JsonValue } from '../../src/core/serialized.ts';
import type { BaseOperator } from '../../src/sdk/baseOperator.ts';
import type { TaskConnection, TaskContext } from '../../src/sdk/taskContext.ts';
import { dsAdd, dsFormat, renderTemplateFields, strftime, TemplateRenderError } from '../../src/templating/index.ts';

interface FakeSources {
  variables?: Record<string, string>;
  connections?: Record<string, TaskConnection>;
  xcoms?: Record<string, JsonValue>;
  fetches?: string[];
}

function fakeContext(op: BaseOperator, o: Partial<TaskContext> = {}, s: FakeSources = {}): TaskContext {
  const fetches = s.fetches ?? [];
  return {
    dagId: op.dag.dagId,
    taskId: op.taskId,
    runId: 'scheduled__2026-01-01T00:00:00+00:00',
    runType: 'scheduled',
    mapIndex: -1,
    tryNumber: 1,
    maxTries: 1,
    logicalDate: new Date('2026-01-01T00:00:00Z'),
    dataIntervalStart: new Date('2026-01-01T00:00:00Z'),
    dataIntervalEnd: new Date('2026-01-02T00:00:00Z'),
    prevDataIntervalStartSuccess: new Date('2025-12-31T00:00:00Z'),
    prevDataIntervalEndSuccess: new Date('2026-01-01T00:00:00Z'),
    params: {},
    conf: {},
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    signal: new AbortController().signal,
    xcomPush: async () => undefined,
    xcomPull: async (taskId, key = 'return_value') => {
      fetches.push(`xcom:${taskId}:${key}`);
      return s.xcoms?.[`${taskId}:${key}`] ?? null;
    },
    getVariable: async (key) => {
      fetches.push(`var:${key}`);
      return s.variables?.[key] ?? null;
    },
    getJsonVariable: async () => null,
    getConnection: async (connId) => {
      fetches.push(`conn:${connId}`);
      const c = s.connections?.[connId];
      if (!c) throw new Error(`connection '${connId}' is not defined`);
      return c;
    },
    ...o,
  };
}

function bash(command: string, extra: { env?: Record<string, string>; cwd?: string } = {}, dagOptions: Partial<Parameters<typeof dag>[0]> = {}): BashOperator {
  let op: BashOperator | undefined;
  dag({ dagId: 'tmpl', tags: ['etl', 'daily'], owner: 'data', ...dagOptions }, () => {
    op = new BashOperator({ taskId: 'job', bashCommand: command, retries: 2, pool: 'p1', ...extra });
  });
  assert.ok(op);
  return op;
}

async function renderOne(template: string, ctx: Partial<TaskContext> = {}, s: FakeSources = {}): Promise<string> {
  const op = bash(template);
  return (await renderTemplateFields(op, fakeContext(op, ctx, s))).bashCommand as string;
}

describe('template context', () => {
  test('dates use Airflow formats for a scheduled run', async () => {
    const out = await renderOne('{{ ds }}|{{ ds_nodash }}|{{ ts }}|{{ ts_nodash }}|{{ ts_nodash_with_tz }}|{{ logical_date }}|{{ data_interval_start }}|{{ data_interval_end }}');
    assert.equal(
      out,
      '2026-01-01|20260101|2026-01-01T00:00:00+00:00|20260101T000000|20260101T000000+0000|2026-01-01T00:00:00+00:00|2026-01-01T00:00:00+00:00|2026-01-02T00:00:00+00:00',
    );
  });

  test('a manual run at a time of day: ts keeps the time, ds the UTC date', async () => {
    const at = new Date('2026-03-04T05:06:07.250Z');
    const out = await renderOne('{{ ds }} {{ ts }} {{ ts_nodash }} {{ run_id }} {{ dag_run.run_type }} {{ dag_run.external_trigger }}', {
      runId: 'manual__x',
      runType: 'manual',
      logicalDate: at,
      dataIntervalStart: at,
      dataIntervalEnd: at,
    });
    assert.equal(out, '2026-03-04 2026-03-04T05:06:07.250000+00:00 20260304T050607 manual__x manual true');
  });

  test('previous successful interval, and a fallback when there is none', async () => {
    assert.equal(await renderOne('{{ prev_data_interval_start_success }} {{ prev_data_interval_end_success.strftime("%d") }}'), '2025-12-31T00:00:00+00:00 01');
    assert.equal(await renderOne('{{ prev_data_interval_start_success or "first" }}', { prevDataIntervalStartSuccess: null }), 'first');
  });

  test('dag, task, ti, params and dag_run.conf', async () => {
    const out = await renderOne('{{ dag.dag_id }} {{ dag.tags | join(",") }} {{ dag.owner }} {{ task.task_id }} {{ task.retries }} {{ task.pool }} {{ ti.try_number }} {{ task_instance.map_index }} {{ params.n + 1 }} {{ dag_run.conf.who }} {{ task_instance_key_str }}', {
      params: { n: 41 },
      conf: { who: 'me' },
      tryNumber: 2,
    });
    assert.equal(out, 'tmpl etl,daily data job 2 p1 2 -1 42 me tmpl__job__20260101');
  });

  test('macros: ds_add, ds_format, datetime helpers', async () => {
    assert.equal(dsAdd('2026-03-01', -1), '2026-02-28');
    assert.equal(dsFormat('2026-01-05', '%Y-%m-%d', '%m/%d/%y'), '01/05/26');
    assert.equal(strftime(new Date('2026-02-03T04:05:06Z'), '%a %b %j %H%M%S %%'), 'Tue Feb 034 040506 %');
    const out = await renderOne("{{ macros.ds_add(ds, 7) }} {{ macros.ds_format(ds, '%Y-%m-%d', '%d.%m.%Y') }} {{ logical_date.add(days=1, hours=2) }} {{ macros.datetime(2026, 2, 1).strftime('%B') }} {{ macros.json.dumps(params) }}", {
      params: { a: 1 },
    });
    assert.equal(out, '2026-01-08 01.01.2026 2026-01-02T02:00:00+00:00 February {"a":1}');
  });
});

describe('lookups', () => {
  test('var.value, var.json, conn and ti.xcom_pull with keyword arguments, each fetched once', async () => {
    const fetches: string[] = [];
    const out = await renderOne(
      "{{ var.value.env }} {{ var.json.cfg.limit }} {{ var.value.get('nope', 'dflt') }} {{ conn.warehouse.host }}:{{ conn.warehouse.port }} {{ conn.warehouse.extra_dejson.region }} {{ ti.xcom_pull(task_ids='extract') }} {{ ti.xcom_pull(task_ids='extract', key='count') }} {{ ti.xcom_pull(task_ids=['extract', 'other'], key='count') | join('+') }} {{ var.value.env }}",
      {},
      {
        fetches,
        variables: { env: 'prod', cfg: '{"limit": 5}' },
        connections: { warehouse: { connId: 'warehouse', connType: 'postgres', host: 'db.internal', schema: null, login: 'u', password: 'p', port: 5432, extra: { region: 'eu' } } },
        xcoms: { 'extract:return_value': 'rows.csv', 'extract:count': 3, 'other:count': 4 },
      },
    );
    assert.equal(out, 'prod 5 dflt db.internal:5432 eu rows.csv 3 3+4 prod');
    assert.deepEqual([...fetches].sort(), ['conn:warehouse', 'var:cfg', 'var:env', 'var:nope', 'xcom:extract:count', 'xcom:extract:return_value', 'xcom:other:count']);
  });

  test('a variable that is not set fails, naming it and the field', async () => {
    await assert.rejects(renderOne('echo {{ var.value.missing }}'), (err: unknown) => {
      assert.ok(err instanceof TemplateRenderError);
      assert.match(err.message, /field bashCommand/);
      assert.match(err.message, /variable 'missing' is not set/);
      return true;
    });
  });

  test('a template that asks for a new variable on every pass is stopped', async () => {
    await assert.rejects(renderOne("{{ var.value.get(macros.uuid.uuid4(), 'x') }}"), /still asking for new variables, connections or XComs after 200 passes/);
  });

  test('an unknown connection fails with the lookup error', async () => {
    await assert.rejects(renderOne('{{ conn.nowhere.host }}'), /cannot render field bashCommand: .*connection 'nowhere' is not defined/);
  });
});

describe('fields', () => {
  test('strings in arrays and objects are rendered recursively; keys and non-strings are kept', async () => {
    const op = bash('echo {{ ds }}', { env: { TARGET: '{{ params.t }}', FIXED: 'x', '{{ key }}': 'k' }, cwd: '/tmp/{{ ds_nodash }}' });
    const r = await renderTemplateFields(op, fakeContext(op, { params: { t: 'db' } }));
    assert.deepEqual(r, { bashCommand: 'echo 2026-01-01', env: { TARGET: 'db', FIXED: 'x', '{{ key }}': 'k' }, cwd: '/tmp/20260101' });
    assert.equal(op.bashCommand, 'echo {{ ds }}', 'rendering leaves the operator as defined');
  });

  test('an undefined variable fails, naming the task, the field path, the expression and the template', async () => {
    const op = bash('echo ok', { env: { TARGET: 'to {{ params.target }}' } });
    await assert.rejects(renderTemplateFields(op, fakeContext(op)), (err: unknown) => {
      assert.ok(err instanceof TemplateRenderError);
      assert.equal(err.field, 'env.TARGET');
      assert.equal(err.template, 'to {{ params.target }}');
      assert.match(err.message, /task 'job' in DAG 'tmpl': cannot render field env\.TARGET: undefined value 'params\.target'/);
      return true;
    });
  });

  test('a syntax error names the field and Nunjucks’ reason', async () => {
    await assert.rejects(renderOne('echo {{ ds '), /cannot render field bashCommand: .*expected variable end/);
  });

  test('a command ending in .sh is a template file next to the DAG file, rendered', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'capstan-tmpl-'));
    writeFileSync(join(folder, 'load.sh'), 'echo loading {{ ds }} for {{ params.team }}\n');
    const op = bash('load.sh');
    const r = await renderTemplateFields(op, fakeContext(op, { params: { team: 'a' } }), { fileloc: join(folder, 'dag.ts') });
    assert.equal(r.bashCommand, 'echo loading 2026-01-01 for a\n');
    await assert.rejects(renderTemplateFields(bash('other.sh'), fakeContext(op), { fileloc: join(folder, 'dag.ts') }), /cannot render field bashCommand: .*template not found: other\.sh/);
  });

  test('templateSearchPath is searched after the DAG file’s folder', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'capstan-shared-'));
    writeFileSync(join(shared, 'common.sh'), 'echo shared {{ ds_nodash }}');
    const op = bash('common.sh', {}, { templateSearchPath: shared });
    assert.equal((await renderTemplateFields(op, fakeContext(op), { fileloc: '/nonexistent/dag.ts' })).bashCommand, 'echo shared 20260101');
  });

  test('user-defined macros and filters of the DAG', async () => {
    const op = bash('{{ greet(dag.dag_id) }} {{ region }} {{ ds | compact }}', {}, {
      userDefinedMacros: { greet: (who: string) => `hello ${who}`, region: 'eu-west-1' },
      userDefinedFilters: { compact: (s: string) => s.replaceAll('-', '') },
    });
    assert.equal((await renderTemplateFields(op, fakeContext(op))).bashCommand, 'hello tmpl eu-west-1 20260101');
  });

  test('TaskFlow: literal string arguments are rendered, upstream outputs are passed through', async () => {
    let op: BaseOperator | undefined;
    dag({ dagId: 'tf_tmpl' }, () => {
      const up = task({ taskId: 'up' }, () => 1);
      const down = task({ taskId: 'down' }, (_n: number, _label: string, _o: { d: string }) => null);
      op = down(up(), 'day {{ ds }}', { d: '{{ ds_nodash }}' }).operator;
    });
    assert.ok(op);
    const r = await renderTemplateFields(op, fakeContext(op));
    const args = r.args as unknown[];
    assert.equal(args[1], 'day 2026-01-01');
    assert.deepEqual(args[2], { d: '20260101' });
    assert.equal((args[0] as { operator: BaseOperator }).operator.taskId, 'up');
  });
});
