/**
 * Limits are never exceeded, asserted by recording what actually ran at once: every task command appends
 * its start and end to a file and the overlaps are counted afterwards. Covers pool slots, multi-slot tasks,
 * a DAG's maxActiveTasks, core.parallelism, maxActiveRuns across triggered runs, and priority order when
 * slots are scarce.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stopPostgres } from '../support/postgres.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { maxConcurrency, readIntervals, recordingCommand } from '../support/concurrency.ts';
import { PoolStore } from '../../src/store/pools.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { openFreshDb } from '../support/dialects.ts';
import { dag, type Dag } from '../../src/sdk/dag.ts';
import { BashOperator } from '../../src/sdk/bash.ts';
import { takeDefinedDags } from '../../src/sdk/authoring.ts';
import { upsertSerializedDag } from '../../src/store/dags.ts';
import { createDagRun, transitionDagRun } from '../../src/store/dagRuns.ts';
import { transitionTis } from '../../src/store/taskInstances.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createEngine } from '../../src/app/components.ts';
import { createScheduler } from '../../src/app/roles.ts';
import type { Executor, TaskWorkload } from '../../src/executors/types.ts';

/** A DAG of `n` independent recording tasks; `extra(i)` adds task options. */
function wideDag(dagId: string, file: string, n: number, options: { dag?: string; extra?: (i: number) => string; seconds?: number } = {}): string {
  const tasks = Array.from({ length: n }, (_, i) => {
    const id = `t${i}`;
    return `  new BashOperator({ taskId: '${id}', bashCommand: ${JSON.stringify(recordingCommand(file, `${id}@$CAPSTAN_CTX_RUN_ID`, options.seconds))}${options.extra ? `, ${options.extra(i)}` : ''} });`;
  }).join('\n');
  return `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: '${dagId}', schedule: null${options.dag ? `, ${options.dag}` : ''} }, () => {
${tasks}
});
`;
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`limits [${dialect}]`, () => {
    let t: TestEngine;
    let rec: (name: string) => string;
    before(async () => {
      t = await startTestEngine({ dialect });
      rec = (name) => join(t.home, `${name}.rec`);
      const pools = new PoolStore(t.engine.db);
      await pools.set('two', { slots: 2 });
      await pools.set('three', { slots: 3 });
      await pools.set('single', { slots: 1 });
      t.writeDag('pool2.ts', wideDag('pool2', rec('pool2'), 6, { extra: () => `pool: 'two'` }));
      // Three 2-slot tasks and two 1-slot tasks share a 3-slot pool: at most one 2-slot task at a time.
      t.writeDag('pool3.ts', wideDag('pool3', rec('pool3'), 5, { extra: (i) => `pool: 'three', poolSlots: ${i < 3 ? 2 : 1}` }));
      t.writeDag('mat.ts', wideDag('mat', rec('mat'), 8, { dag: 'maxActiveTasks: 3' }));
      t.writeDag('mar.ts', wideDag('mar', rec('mar'), 2, { dag: 'maxActiveRuns: 1', seconds: 0.2 }));
      t.writeDag('prio.ts', wideDag('prio', rec('prio'), 5, { extra: (i) => `pool: 'single', priorityWeight: ${[3, 1, 5, 2, 4][i]}`, seconds: 0.05 }));
      await t.processor.processOnce();
    });
    after(async () => {
      await t.stop();
    });

    async function runAndRecord(dagId: string): Promise<ReturnType<typeof readIntervals>> {
      await t.trigger(dagId, { runId: 'r1' });
      const run = await t.waitForRun(dagId, 'r1');
      assert.equal(run.state, 'success', `${dagId}: ${JSON.stringify(await t.taskStates(dagId, 'r1'))}`);
      return readIntervals(rec(dagId));
    }

    test('a pool with 2 slots never runs more than 2 tasks at once', async () => {
      const runs = await runAndRecord('pool2');
      assert.equal(runs.length, 6);
      assert.ok(maxConcurrency(runs) <= 2, `max ${maxConcurrency(runs)} at once`);
    });

    test('poolSlots count against the pool: slots in use never exceed 3', async () => {
      const runs = await runAndRecord('pool3');
      assert.equal(runs.length, 5);
      const slots = (label: string) => (['t0', 't1', 't2'].includes(label.split('@')[0] as string) ? 2 : 1);
      assert.ok(maxConcurrency(runs, slots) <= 3, `max ${maxConcurrency(runs, slots)} slots at once`);
      const twoSlot = runs.filter((r) => slots(r.label) === 2);
      assert.ok(maxConcurrency(twoSlot) <= 1, 'two 2-slot tasks overlapped in a 3-slot pool');
    });

    test("a DAG's maxActiveTasks=3 is never exceeded", async () => {
      const runs = await runAndRecord('mat');
      assert.equal(runs.length, 8);
      assert.ok(maxConcurrency(runs) <= 3, `max ${maxConcurrency(runs)} at once`);
    });

    test('maxActiveRuns=1: three triggered runs never overlap', async () => {
      for (const r of ['a', 'b', 'c']) await t.trigger('mar', { runId: r });
      const runs = [];
      for (const r of ['a', 'b', 'c']) runs.push(await t.waitForRun('mar', r));
      for (const r of runs) assert.equal(r.state, 'success');
      const byStart = [...runs].sort((x, y) => (x.start_date ?? 0) - (y.start_date ?? 0));
      for (let i = 1; i < byStart.length; i++) {
        const prev = byStart[i - 1];
        const cur = byStart[i];
        assert.ok(prev?.end_date !== null && cur?.start_date !== null && (cur?.start_date ?? 0) >= (prev?.end_date ?? Infinity), `run ${cur?.run_id} started before ${prev?.run_id} ended`);
      }
      // What the commands saw agrees: no task of one run overlaps a task of another.
      const tasks = readIntervals(rec('mar'));
      assert.equal(tasks.length, 6);
      for (const x of tasks) {
        for (const y of tasks) {
          if (x.label.split('@')[1] === y.label.split('@')[1]) continue;
          assert.ok(x.end <= y.start || y.end <= x.start, `${x.label} overlaps ${y.label}`);
        }
      }
    });

    test('with one slot, tasks start in priorityWeight order', async () => {
      const runs = await runAndRecord('prio');
      assert.equal(maxConcurrency(runs), 1);
      // Weights by task: t0=3, t1=1, t2=5, t3=2, t4=4.
      assert.deepEqual(
        runs.map((r) => r.label.split('@')[0]),
        ['t2', 't4', 't0', 't3', 't1'],
      );
    });
  });

  describe(`core.parallelism [${dialect}]`, () => {
    let t: TestEngine;
    let file: string;
    before(async () => {
      t = await startTestEngine({ dialect, env: { CAPSTAN__CORE__PARALLELISM: '2' } });
      file = join(t.home, 'par.rec');
      t.writeDag('par.ts', wideDag('par', file, 6));
      await t.processor.processOnce();
    });
    after(async () => {
      await t.stop();
    });

    test('core.parallelism=2 never runs more than 2 tasks at once', async () => {
      await t.trigger('par', { runId: 'r1' });
      const run = await t.waitForRun('par', 'r1');
      assert.equal(run.state, 'success');
      const runs = readIntervals(file);
      assert.equal(runs.length, 6);
      assert.ok(maxConcurrency(runs) <= 2, `max ${maxConcurrency(runs)} at once`);
    });
  });
  describe(`a full pool does not starve other tasks [${dialect}]`, () => {
    let t: TestEngine;
    before(async () => {
      // Only two scheduled task instances are examined per loop.
      t = await startTestEngine({
        dialect,
        env: { CAPSTAN__SCHEDULER__MAX_TIS_PER_QUERY: '2' },
        dags: {
          'starve.ts': `
import { dag, BashOperator } from 'capstan';
dag({ dagId: 'hog', schedule: null }, () => {
  for (let i = 0; i < 4; i++) new BashOperator({ taskId: 'h' + i, bashCommand: 'sleep 60', pool: 'single', priorityWeight: 10 });
});
dag({ dagId: 'small', schedule: null }, () => {
  new BashOperator({ taskId: 'quick', bashCommand: 'true', priorityWeight: 1 });
});
dag({ dagId: 'capped', schedule: null, maxActiveTasks: 1 }, () => {
  for (let i = 0; i < 4; i++) new BashOperator({ taskId: 'c' + i, bashCommand: 'sleep 60', priorityWeight: 10 });
});
`,
        },
      });
      await new PoolStore(t.engine.db).set('single', { slots: 1 });
    });
    after(async () => {
      for (const dagId of ['hog', 'capped']) {
        for (const ti of await t.taskInstances(dagId, 'r1')) if (ti.state === 'running') await t.executor.terminate(ti.id, ti.try_number, 'test over');
      }
      await t.stop();
    });

    test('higher-priority tasks waiting on a full pool do not hold back a ready task elsewhere', async () => {
      await t.trigger('hog', { runId: 'r1' });
      await waitForState(t, 'hog', 'running');
      await t.trigger('small', { runId: 'r1' });
      // With the bug, 'quick' waits until at most one 'hog' task is left scheduled (minutes).
      const run = await t.waitForRun('small', 'r1', { timeoutMs: 30_000 });
      assert.equal(run.state, 'success');
    });

    test("higher-priority tasks of a DAG at its maxActiveTasks do not hold back another DAG's task", async () => {
      await t.trigger('capped', { runId: 'r1' });
      await waitForState(t, 'capped', 'running');
      await t.trigger('small', { runId: 'r2' });
      const run = await t.waitForRun('small', 'r2', { timeoutMs: 30_000 });
      assert.equal(run.state, 'success');
    });
  });
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`maxActiveTasks of a DAG this scheduler has not looked at yet [${dialect}]`, () => {
    let fresh: Awaited<ReturnType<typeof openFreshDb>>;
    let home: string;
    before(async () => {
      fresh = await openFreshDb(dialect);
      home = mkdtempSync(join(tmpdir(), 'capstan-limits-'));
    });
    after(async () => {
      await fresh.dispose();
      rmSync(home, { recursive: true, force: true });
    });

    test('a restarted scheduler with a cold DAG cache still honours maxActiveTasks', async () => {
      const m = fresh.db;
      const now = Date.now();
      const store = async (build: () => Dag) => {
        const d = build();
        takeDefinedDags();
        const s = d.serialize(`/dags/${d.dagId}.ts`);
        await upsertSerializedDag(m, s, now);
        return s;
      };
      const other = await store(() => dag({ dagId: 'other', schedule: null }, () => void new BashOperator({ taskId: 'a', bashCommand: 'true' })));
      const capped = await store(() =>
        dag({ dagId: 'capped2', schedule: null, maxActiveTasks: 2 }, () => {
          for (let i = 0; i < 6; i++) new BashOperator({ taskId: `c${i}`, bashCommand: 'true' });
        }),
      );
      // What a previous scheduler left: two running runs, the capped one's tasks all scheduled.
      const r1 = await createDagRun(m, { dagId: 'other', runId: 'r1', runType: 'manual', logicalDate: now, dataIntervalStart: now, dataIntervalEnd: now, conf: {} }, other, now);
      const r2 = await createDagRun(m, { dagId: 'capped2', runId: 'r1', runType: 'manual', logicalDate: now, dataIntervalStart: now, dataIntervalEnd: now, conf: {} }, capped, now);
      for (const r of [r1, r2]) await transitionDagRun(m, r.id, ['queued'], 'running', now, { start_date: now });
      const cappedTis = await m.db.selectFrom('task_instance').select('id').where('dag_run_id', '=', r2.id).execute();
      await transitionTis(m, cappedTis.map((x) => x.id), 'scheduled', now);
      // A new scheduler (empty DAG cache) that examines one run per loop: this loop it is 'other'.
      const config = loadConfig({ env: { CAPSTAN_HOME: home, CAPSTAN__SCHEDULER__MAX_DAG_RUNS_PER_LOOP: '1', CAPSTAN__LOGGING__LEVEL: 'error' } });
      const queued: TaskWorkload[] = [];
      const executor: Executor = {
        name: 'RecordingExecutor',
        start: async () => undefined,
        openSlots: () => 100,
        queueWorkloads: (w) => void queued.push(...w),
        sync: async () => [],
        terminate: async () => undefined,
        tryAdopt: async (tis) => tis,
        end: async () => undefined,
      };
      const scheduler = createScheduler(createEngine(config, { db: m }), executor);
      await scheduler.runOnce();
      const cappedQueued = queued.filter((w) => w.dagId === 'capped2');
      assert.ok(cappedQueued.length > 0, 'the capped DAG got no task at all');
      assert.ok(cappedQueued.length <= 2, `${cappedQueued.length} tasks of a DAG with maxActiveTasks=2 queued at once`);
    });
  });
}

/** Wait until some task of run r1 of `dagId` is in `state`. */
async function waitForState(t: TestEngine, dagId: string, state: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!Object.values(await t.taskStates(dagId, 'r1')).includes(state)) {
    if (Date.now() > deadline) throw new Error(`no task of ${dagId} reached ${state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

after(() => stopPostgres());
