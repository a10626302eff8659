/**
 * Broken DAG files beside a good one: a file that throws, a cycle, an unknown trigger rule, a bad cron,
 * a duplicate task id and a file that never finishes importing each become an import error naming the
 * file and the reason, while the good DAG still runs green. Fixing a file clears its error; deleting a
 * file deactivates its DAG.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stopPostgres } from '../support/postgres.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { ImportErrorStore } from '../../src/store/importErrors.ts';
import { getDag, listDags } from '../../src/store/dags.ts';

const GOOD = `
import { dag, BashOperator, chain } from 'capstan';
export default dag({ dagId: 'good', schedule: null }, () => {
  chain(new BashOperator({ taskId: 'a', bashCommand: 'echo a' }), new BashOperator({ taskId: 'b', bashCommand: 'echo b' }));
});
`;

/** Broken file → a pattern its import error must match (besides naming the file). */
const BROKEN: Record<string, [string, RegExp]> = {
  'throws.ts': [`import { dag } from 'capstan';\nthrow new Error('boom: the config service is down');\n`, /boom: the config service is down/],
  'cycle.ts': [
    `import { dag, BashOperator, chain } from 'capstan';
export default dag({ dagId: 'cyclic', schedule: null }, () => {
  const x = new BashOperator({ taskId: 'x', bashCommand: 'true' });
  const y = new BashOperator({ taskId: 'y', bashCommand: 'true' });
  const z = new BashOperator({ taskId: 'z', bashCommand: 'true' });
  chain(x, y, z, x);
});
`,
    /DAG 'cyclic' has a cycle: .*x.*y.*z/,
  ],
  'badrule.ts': [
    `import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'bad_rule', schedule: null }, () => {
  new BashOperator({ taskId: 'picky', bashCommand: 'true', triggerRule: 'when_it_rains' as never });
});
`,
    /task 'picky' in DAG 'bad_rule': unknown triggerRule 'when_it_rains'/,
  ],
  'badcron.ts': [
    `import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'bad_cron', schedule: '0 25 * * *', startDate: '2026-01-01' }, () => {
  new BashOperator({ taskId: 't', bashCommand: 'true' });
});
`,
    /DAG 'bad_cron': schedule: '0 25 \* \* \*' is not a valid cron expression/,
  ],
  'duplicate.ts': [
    `import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'dup', schedule: null }, () => {
  new BashOperator({ taskId: 'same', bashCommand: 'true' });
  new BashOperator({ taskId: 'same', bashCommand: 'false' });
});
`,
    /DAG 'dup': duplicate taskId 'same'/,
  ],
  'hangs.ts': [`setInterval(() => {}, 1000);\nawait new Promise(() => {});\n`, /timed out after 6000 ms/],
};

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`broken DAG files [${dialect}]`, () => {
    let t: TestEngine;
    let errors: ImportErrorStore;
    const path = (name: string) => join(t.dagsFolder, name);
    before(async () => {
      const dags: Record<string, string> = { 'good.ts': GOOD };
      for (const [name, [source]] of Object.entries(BROKEN)) dags[name] = source;
      t = await startTestEngine({ dialect, dags, env: { CAPSTAN__DAG_PROCESSOR__PARSE_TIMEOUT_MS: '6000' } });
      errors = new ImportErrorStore(t.engine.db);
    });
    after(async () => {
      await t.stop();
    });

    test('each broken file has an import error with its path and reason; only the good DAG is loaded', async () => {
      const stored = await errors.list();
      assert.deepEqual(stored.map((e) => e.fileloc).sort(), Object.keys(BROKEN).map(path).sort());
      for (const [name, [, reason]] of Object.entries(BROKEN)) {
        const e = stored.find((x) => x.fileloc === path(name));
        assert.ok(e, name);
        assert.ok(e.message.includes(path(name)), `${name}: the message names the file: ${e.message}`);
        assert.match(e.message, reason, name);
      }
      assert.deepEqual((await listDags(t.engine.db)).map((d) => d.dag_id), ['good']);
    });

    test('the good DAG beside them runs green', async () => {
      await t.trigger('good', { runId: 'r1' });
      const run = await t.waitForRun('good', 'r1');
      assert.equal(run.state, 'success');
      assert.deepEqual(await t.taskStates('good', 'r1'), { a: 'success', b: 'success' });
    });

    test('fixing a file clears its error and loads its DAG', async () => {
      t.writeDag(
        'cycle.ts',
        `import { dag, BashOperator, chain } from 'capstan';
export default dag({ dagId: 'cyclic', schedule: null }, () => {
  chain(new BashOperator({ taskId: 'x', bashCommand: 'true' }), new BashOperator({ taskId: 'y', bashCommand: 'true' }));
});
`,
      );
      await t.processor.processOnce();
      assert.deepEqual(await errors.list({ fileloc: path('cycle.ts') }), []);
      assert.equal((await errors.list()).length, Object.keys(BROKEN).length - 1);
      assert.equal((await getDag(t.engine.db, 'cyclic')).is_active, 1);
      await t.trigger('cyclic', { runId: 'r1' });
      assert.equal((await t.waitForRun('cyclic', 'r1')).state, 'success');
    });

    test('a file that breaks again keeps its DAG and gets an error; deleting a file deactivates its DAG and clears its error', async () => {
      t.writeDag('good.ts', `${GOOD}\nthrow new Error('half-edited');\n`);
      await t.processor.processOnce();
      assert.match((await errors.list({ fileloc: path('good.ts') }))[0]?.message ?? '', /half-edited/);
      rmSync(path('good.ts'));
      rmSync(path('throws.ts'));
      await t.processor.processOnce();
      assert.equal((await getDag(t.engine.db, 'good')).is_active, 0);
      assert.deepEqual(await errors.list({ fileloc: path('good.ts') }), []);
      assert.deepEqual(await errors.list({ fileloc: path('throws.ts') }), []);
      assert.deepEqual((await listDags(t.engine.db)).map((d) => d.dag_id), ['cyclic']);
    });
  });
}

after(() => stopPostgres());
