/** Every bundled example DAG imports cleanly and a manual run of it ends in success. */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { EXAMPLE_DAGS_FOLDER } from '../../src/app/roles.ts';
import { ImportErrorStore } from '../../src/store/importErrors.ts';
import { listDags } from '../../src/store/dags.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

describe('example DAGs', () => {
  let t: TestEngine;
  before(async () => {
    t = await startTestEngine({ env: { CAPSTAN__CORE__LOAD_EXAMPLES: 'true', CAPSTAN__CORE__PARALLELISM: '8' } });
  });
  after(async () => {
    await t.stop();
  });

  test('all example files import without errors', async () => {
    assert.deepEqual(await new ImportErrorStore(t.engine.db).list(), []);
    const files = readdirSync(EXAMPLE_DAGS_FOLDER).filter((f) => f.endsWith('.ts'));
    const dags = await listDags(t.engine.db);
    assert.equal(dags.length, files.length, `one DAG per example file: ${dags.map((d) => d.dag_id).join(', ')}`);
  });

  test('a manual run of every example DAG succeeds', async () => {
    const dags = await listDags(t.engine.db);
    for (const d of dags) await t.trigger(d.dag_id, { runId: 'example-check' });
    for (const d of dags) {
      const run = await t.waitForRun(d.dag_id, 'example-check', { timeoutMs: 120_000 });
      assert.equal(run.state, 'success', `${d.dag_id}: ${JSON.stringify(await t.taskStates(d.dag_id, 'example-check'))}`);
    }
  });
});
