/**
 * Reused task processes and DAGs defined outside the DAG file: a DAG file that re-exports a DAG defined at the top
 * level of another module of the user's (`export { default } from '../pipelines/etl.ts'`) runs every try of a
 * chain in one reused process, each try with its own instance of that module too (its module state starts
 * afresh), while packages and Capstan stay loaded once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { pullXCom } from '../../src/store/xcom.ts';

const pipelines = mkdtempSync(join(tmpdir(), 'capstan-pipelines-'));
writeFileSync(join(pipelines, 'etl.ts'), `
import { dag, task, chain } from 'capstan';
let calls = 0;
const step = (taskId: string) => task({ taskId }, () => ({ calls: ++calls, pid: process.pid }));
export default dag({ dagId: 'defined_elsewhere', schedule: null }, () => { chain(step('a')(), step('b')(), step('c')()); });
`);

describe('reused task processes: a DAG defined in an imported module', () => {
  let t: TestEngine;
  before(async () => {
    t = await startTestEngine({
      dags: { 'etl_dag.ts': `export { default } from ${JSON.stringify(join(pipelines, 'etl.ts'))};\n` },
      env: { CAPSTAN__CORE__PARALLELISM: '1', CAPSTAN__LOCAL_EXECUTOR__WARM_PROCESSES: '1', CAPSTAN__LOCAL_EXECUTOR__REUSE_PROCESSES: 'true' },
    });
  });
  after(async () => {
    await t.stop();
  });

  test('every try finds its DAG and gets a fresh instance of the module that defines it', async () => {
    const r = await t.trigger('defined_elsewhere');
    const run = await t.waitForRun('defined_elsewhere', r.run_id);
    const tis = await t.taskInstances('defined_elsewhere', r.run_id);
    assert.equal(run.state, 'success', tis.map((ti) => `${ti.task_id}: ${ti.state} ${ti.failure_reason ?? ''}`).join('\n'));
    const results = await Promise.all(['a', 'b', 'c'].map(async (id) => (await pullXCom(t.engine.db, r.id, id, 'return_value')) as { calls: number; pid: number }));
    assert.deepEqual(results.map((x) => x.calls), [1, 1, 1], 'module state starts afresh for each try');
    assert.ok(new Set(results.map((x) => x.pid)).size < 3, `the process was reused (pids ${results.map((x) => x.pid).join(', ')})`);
  });
});
