/**
 * The task runtime reads each variable and connection once per try: a task whose code and templates read the
 * same keys many times costs one Execution API call per key (counted by the API server's own request metric),
 * a missing variable is asked once too, and the next try asks again (it sees a value changed in between).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { createFernet } from '../../src/crypto/index.ts';
import { ConnectionStore, connectionFromUri } from '../../src/store/connections.ts';
import { VariableStore } from '../../src/store/variables.ts';

const DAGS = `
import { dag, task, getCurrentContext, BashOperator } from 'capstan';
const reader = task({ taskId: 'reader' }, async () => {
  const ctx = getCurrentContext();
  const values = await Promise.all([ctx.getVariable('bucket'), ctx.getVariable('bucket')]);
  values.push(await ctx.getVariable('bucket'));
  const json = await ctx.getJsonVariable('limits');
  const missing = [await ctx.getVariable('absent'), await ctx.getVariable('absent')];
  const a = await ctx.getConnection('warehouse');
  a.login = 'changed by the task';
  const b = await ctx.getConnection('warehouse');
  return { values, json, missing, login: b.login };
});
dag({ dagId: 'cache', schedule: null }, () => {
  reader();
  new BashOperator({ taskId: 'templated', bashCommand: 'echo {{ var.value.bucket }} {{ var.value.bucket }} {{ var.value.bucket }}' });
});
`;

/** Requests the API server answered on `route` so far (its latency histogram's count). */
async function requests(t: TestEngine, route: string): Promise<number> {
  const text = await t.engine.metrics.metricsText();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('capstan_api_request_duration_seconds_count{') && line.includes(`route="${route}"`)) total += Number(line.split(' ').at(-1));
  }
  return total;
}

describe('per-try variable and connection cache', () => {
  let t: TestEngine;
  before(async () => {
    t = await startTestEngine({ dags: { 'cache.ts': DAGS } });
    const fernet = createFernet(t.engine.config.core.fernetKey);
    const variables = new VariableStore(t.engine.db, { fernet });
    await variables.set('bucket', 'raw-data');
    await variables.set('limits', '{"rows":10}');
    await new ConnectionStore(t.engine.db, { fernet }).add(connectionFromUri('warehouse', 'postgresql://etl:pw@db.example:5432/dw'));
  });
  after(async () => {
    await t.stop();
  });

  test('each key costs one Execution API call per try; a task cannot change the cached connection for its next read', async () => {
    await t.trigger('cache', { runId: 'r1' });
    const run = await t.waitForRun('cache', 'r1');
    assert.equal(run.state, 'success');
    // reader: bucket, limits, absent; templated: bucket (its own try, its own cache).
    assert.equal(await requests(t, '/execution/v1/variables/:key'), 4);
    assert.equal(await requests(t, '/execution/v1/connections/:connId'), 1);
    const [xcom] = await t.engine.db.db.selectFrom('xcom').select('value').where('task_id', '=', 'reader').execute();
    assert.deepEqual(JSON.parse(String(xcom?.value)), { values: ['raw-data', 'raw-data', 'raw-data'], json: { rows: 10 }, missing: [null, null], login: 'etl' });
  });
});
