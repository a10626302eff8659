/**
 * The task environment: what a task process (and a DAG-parsing process) inherits from a scheduler whose
 * own environment holds its secrets. The pure allow-list, then real task processes under the real
 * LocalExecutor: a BashOperator running `env` and a DAG file that looks at its environment while it is
 * parsed print none of Capstan's settings, while PATH, the user's CAPSTAN_VAR_* / CAPSTAN_CONN_* and the
 * operator's extra allow-list pass.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { isTaskEnvAllowed, parseTaskEnvAllowList, taskEnvironment } from '../../src/executors/taskEnv.ts';
import { taskLogPath } from '../../src/logging/taskLog.ts';
import { pullXCom } from '../../src/store/xcom.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const SECRET_VARS = {
  CAPSTAN__API__SECRET_KEY: 'leak-probe-secret-key-4f1e',
  CAPSTAN__CORE__FERNET_KEY: 'leak-probe-fernet-key-9a2b',
  CAPSTAN__DATABASE__URL: 'postgresql://capstan:leak-probe-db-password@db:5432/capstan',
  CAPSTAN__AUTH__JWT_SECRET: 'leak-probe-jwt-secret-77c0',
  CAPSTAN_CONFIG: '/etc/capstan/leak-probe.yaml',
  UNLISTED_OPERATOR_VAR: 'leak-probe-unlisted',
};
const PASSED_VARS = {
  CAPSTAN_VAR_REPORT_BUCKET: 'bucket-for-tasks',
  MY_TEAM_REGION: 'eu-west-1',
};

describe('taskEnvironment (pure)', () => {
  test('keeps the basics, the user secrets backends and the allow-list; drops every Capstan setting', () => {
    const parent = {
      PATH: '/usr/bin',
      HOME: '/home/u',
      LC_ALL: 'C.UTF-8',
      https_proxy: 'http://proxy:3128',
      CAPSTAN_CONN_WAREHOUSE: 'postgresql://u:p@h/db',
      CAPSTAN__KUBERNETES__POD_MUTATION_HOOK: '/hooks.ts#mutate',
      CAPSTAN__LOGGING__LEVEL: 'debug',
      CAPSTAN_HOME: '/var/capstan',
      AWS_REGION: 'eu-west-1',
      NPM_TOKEN: 'npm-secret',
      NOT_SET: undefined,
      ...SECRET_VARS,
    };
    assert.deepEqual(taskEnvironment(parent, { allow: ['AWS_*', 'CAPSTAN__*', 'CAPSTAN__API__SECRET_KEY'] }), {
      PATH: '/usr/bin',
      HOME: '/home/u',
      LC_ALL: 'C.UTF-8',
      https_proxy: 'http://proxy:3128',
      CAPSTAN_CONN_WAREHOUSE: 'postgresql://u:p@h/db',
      CAPSTAN__KUBERNETES__POD_MUTATION_HOOK: '/hooks.ts#mutate',
      CAPSTAN_HOME: '/var/capstan',
      AWS_REGION: 'eu-west-1',
    });
    assert.equal(isTaskEnvAllowed('NPM_TOKEN'), false);
    assert.equal(isTaskEnvAllowed('NPM_TOKEN', ['NPM_TOKEN']), true);
  });

  test('core.taskEnvAllowList: comma or space separated, a bare * lets nothing extra through', () => {
    assert.deepEqual(parseTaskEnvAllowList(' AWS_*, GOOGLE_APPLICATION_CREDENTIALS  DBT_PROFILE ,*,'), ['AWS_*', 'GOOGLE_APPLICATION_CREDENTIALS', 'DBT_PROFILE']);
    assert.deepEqual(parseTaskEnvAllowList(''), []);
  });
});

const DAG = `
import { BashOperator, dag, task } from 'capstan';
// Runs while the file is parsed (DAG processor) and again in the task process.
const seenAtParse = Object.keys(process.env).filter((k) => k.startsWith('CAPSTAN__') || k === 'UNLISTED_OPERATOR_VAR').sort().join(',');
const envKeys = task({ taskId: 'env_keys' }, () => ({ parse: seenAtParse, run: Object.keys(process.env).sort() }));
export default dag({ dagId: 'task_env', schedule: null, description: 'parse saw [' + seenAtParse + ']' }, () => {
  envKeys();
  new BashOperator({ taskId: 'print_env', bashCommand: 'env' });
});
`;

describe('task processes under the LocalExecutor', () => {
  let t: TestEngine;
  const saved: Record<string, string | undefined> = {};
  before(async () => {
    for (const [k, v] of Object.entries({ ...SECRET_VARS, ...PASSED_VARS })) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    t = await startTestEngine({ dags: { 'task_env.ts': DAG }, env: { CAPSTAN__CORE__TASK_ENV_ALLOW_LIST: 'MY_TEAM_*' } });
  });
  after(async () => {
    await t.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  test('`env` in a BashOperator and process.env in a task print no Capstan setting', async () => {
    await t.trigger('task_env', { runId: 'probe' });
    const run = await t.waitForRun('task_env', 'probe');
    assert.equal(run.state, 'success', JSON.stringify(await t.taskStates('task_env', 'probe')));
    const [bashTi] = (await t.taskInstances('task_env', 'probe')).filter((ti) => ti.task_id === 'print_env');
    assert.ok(bashTi);
    const log = readFileSync(taskLogPath(t.engine.config.logging.baseLogFolder, { dagId: 'task_env', runId: 'probe', taskId: 'print_env', mapIndex: -1, tryNumber: bashTi.try_number }), 'utf8');
    assert.match(log, /\bPATH=/);
    assert.match(log, /CAPSTAN_VAR_REPORT_BUCKET=bucket-for-tasks/);
    assert.match(log, /MY_TEAM_REGION=eu-west-1/);
    for (const [name, value] of Object.entries(SECRET_VARS)) {
      assert.ok(!log.includes(name), `${name} reached the task's env`);
      assert.ok(!log.includes(value), `the value of ${name} reached the task's env`);
    }
    assert.doesNotMatch(log, /CAPSTAN__/);

    const keys = (await pullXCom(t.engine.db, run.id, 'env_keys', 'return_value', -1)) as { parse: string; run: string[] };
    assert.equal(keys.parse, '', 'the DAG file saw Capstan settings when imported in the task process');
    assert.ok(keys.run.includes('PATH'));
    assert.deepEqual(keys.run.filter((k) => k.startsWith('CAPSTAN__') || k in SECRET_VARS), []);
  });

  test('a DAG file being parsed sees no Capstan setting either', async () => {
    const dag = await t.engine.dags.get('task_env');
    assert.equal(dag.dag.description, 'parse saw []');
  });
});
