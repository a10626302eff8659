/**
 * Reused task processes (localExecutor.reuseProcesses): a process that ended a try cleanly runs the next one
 * with the try's own environment, working directory and DAG-file instance; one whose try left something behind
 * (a global, a timer, a signal handler), crashed or timed out is replaced. Real task processes, one at a time
 * (parallelism 1), so consecutive tries would share a process unless it was retired.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { isRunning, waitFor } from '../support/processes.ts';
import { pullXCom } from '../../src/store/xcom.ts';

const LEAKS: Record<string, string> = {
  global: `(globalThis as Record<string, unknown>)['leakedGlobal'] = 1;`,
  timer: `setInterval(() => undefined, 60_000);`,
  signalHandler: `process.on('SIGUSR2', () => undefined);`,
};

const DAGS = `
import { dag, task, chain } from 'capstan';
// Module state of this instance of the DAG file: each try gets an instance of its own.
let imports = 0;
imports++;
dag({ dagId: 'reuse_env', schedule: null }, () => {
  const dirty = task({ taskId: 'dirty' }, () => {
    const cwd = process.cwd();
    process.env['LEAKED_BY_DIRTY'] = 'yes';
    process.chdir('/');
    imports += 100;
    return { pid: process.pid, cwd };
  });
  const clean = task({ taskId: 'clean' }, () => ({ env: process.env['LEAKED_BY_DIRTY'] ?? null, cwd: process.cwd(), imports, pid: process.pid }));
  chain(dirty(), clean());
});
${Object.entries(LEAKS)
  .map(
    ([kind, code]) => `
dag({ dagId: 'leak_${kind}', schedule: null }, () => {
  const leak = task({ taskId: 'leak' }, () => { ${code} return process.pid; });
  const next = task({ taskId: 'next' }, () => ({ pid: process.pid, leaked: typeof (globalThis as Record<string, unknown>)['leakedGlobal'] }));
  chain(leak(), next());
});`,
  )
  .join('\n')}
dag({ dagId: 'reuse_crash', schedule: null }, () => {
  const crash = task({ taskId: 'crash' }, async () => {
    setTimeout(() => { throw new Error('uncaught in a timer'); }, 0);
    await new Promise((r) => setTimeout(r, 5_000));
  });
  const next = task({ taskId: 'next', triggerRule: 'all_done' }, () => process.pid);
  chain(crash(), next());
});
dag({ dagId: 'reuse_timeout', schedule: null }, () => {
  const hang = task({ taskId: 'hang', executionTimeout: '1s' }, () => new Promise(() => { setInterval(() => undefined, 1_000); }));
  const next = task({ taskId: 'next', triggerRule: 'all_done' }, () => process.pid);
  chain(hang(), next());
});
`;

describe('reused task processes', () => {
  let t: TestEngine;
  let stopped = false;
  const pids = new Set<number>();
  before(async () => {
    t = await startTestEngine({
      dags: { 'reuse.ts': DAGS },
      env: {
        CAPSTAN__CORE__PARALLELISM: '1',
        CAPSTAN__LOCAL_EXECUTOR__WARM_PROCESSES: '1',
        CAPSTAN__LOCAL_EXECUTOR__REUSE_PROCESSES: 'true',
        CAPSTAN__CORE__KILLED_TASK_CLEANUP_TIME_MS: '1000',
      },
    });
  });
  after(async () => {
    if (!stopped) await t.stop();
  });

  async function run(dagId: string): Promise<{ states: Record<string, string>; pid: (taskId: string) => number; xcom: (taskId: string) => Promise<unknown> }> {
    const r = await t.trigger(dagId);
    await t.waitForRun(dagId, r.run_id);
    const tis = await t.taskInstances(dagId, r.run_id);
    for (const ti of tis) if (ti.pid !== null) pids.add(ti.pid);
    return {
      states: await t.taskStates(dagId, r.run_id),
      pid: (taskId) => tis.find((ti) => ti.task_id === taskId)?.pid ?? -1,
      xcom: (taskId) => pullXCom(t.engine.db, r.id, taskId, 'return_value'),
    };
  }

  test('the next try in the same process sees its own environment, working directory and DAG-file instance', async () => {
    const r = await run('reuse_env');
    assert.deepEqual(r.states, { dirty: 'success', clean: 'success' });
    const dirty = (await r.xcom('dirty')) as { pid: number; cwd: string };
    const clean = (await r.xcom('clean')) as { env: string | null; cwd: string; imports: number; pid: number };
    assert.equal(clean.pid, dirty.pid, 'both tries ran in one reused process');
    assert.equal(clean.env, null, 'the variable the first try set is gone');
    assert.equal(clean.cwd, dirty.cwd, 'the working directory is back');
    assert.notEqual(clean.cwd, '/');
    assert.equal(clean.imports, 1, 'the DAG file was imported afresh: its module state is not the first try’s');
  });

  for (const kind of Object.keys(LEAKS)) {
    test(`a try that leaves a ${kind} behind retires its process; the next try runs in a fresh one`, async () => {
      const r = await run(`leak_${kind}`);
      assert.deepEqual(r.states, { leak: 'success', next: 'success' });
      const next = (await r.xcom('next')) as { pid: number; leaked: string };
      assert.notEqual(next.pid, r.pid('leak'));
      assert.equal(next.leaked, 'undefined');
      await waitFor(async () => !(await isRunning(r.pid('leak'))), `the process that ran the leaking try (${r.pid('leak')}) still runs`);
    });
  }

  test('a try that crashes its process fails; the pool replaces the process and the next try runs', async () => {
    const r = await run('reuse_crash');
    assert.deepEqual(r.states, { crash: 'failed', next: 'success' });
    assert.notEqual(await r.xcom('next'), r.pid('crash'));
    assert.equal(await isRunning(r.pid('crash')), false);
  });

  test('a try that timed out has its process killed and replaced', async () => {
    const r = await run('reuse_timeout');
    assert.deepEqual(r.states, { hang: 'failed', next: 'success' });
    assert.notEqual(await r.xcom('next'), r.pid('hang'));
    await waitFor(async () => !(await isRunning(r.pid('hang'))), `the timed-out try's process (${r.pid('hang')}) still runs`);
    // A clean run afterwards still works.
    assert.deepEqual((await run('reuse_env')).states, { dirty: 'success', clean: 'success' });
  });

  test('no task process outlives its stopped executor', async () => {
    assert.ok(pids.size >= 2);
    stopped = true;
    await t.stop();
    await waitFor(async () => (await Promise.all([...pids].map(isRunning))).every((alive) => !alive), `task processes still alive after stop: ${[...pids].join(', ')}`, 5_000);
  });
});

describe('reused task processes: limits', () => {
  let t: TestEngine;
  before(async () => {
    t = await startTestEngine({
      dags: {
        'limits.ts': `
import { dag, task, chain } from 'capstan';
dag({ dagId: 'three_in_a_row', schedule: null }, () => {
  const step = (id: string) => task({ taskId: id }, () => process.pid)();
  chain(step('a'), step('b'), step('c'));
});
dag({ dagId: 'three_at_once', schedule: null }, () => {
  for (const id of ['x', 'y', 'z']) task({ taskId: id }, () => new Promise((r) => setTimeout(() => r(process.pid), 500)))();
});
`,
      },
      env: {
        CAPSTAN__CORE__PARALLELISM: '3',
        CAPSTAN__LOCAL_EXECUTOR__WARM_PROCESSES: '1',
        CAPSTAN__LOCAL_EXECUTOR__REUSE_PROCESSES: 'true',
        CAPSTAN__LOCAL_EXECUTOR__TRIES_PER_PROCESS: '2',
        CAPSTAN__LOCAL_EXECUTOR__IDLE_PROCESS_TIMEOUT_MS: '300',
      },
    });
  });
  after(async () => {
    await t.stop();
  });

  const pidsOf = async (dagId: string): Promise<Record<string, number>> => {
    const r = await t.trigger(dagId);
    assert.equal((await t.waitForRun(dagId, r.run_id)).state, 'success');
    return Object.fromEntries((await t.taskInstances(dagId, r.run_id)).map((ti) => [ti.task_id, ti.pid ?? -1]));
  };

  test('a process retires after triesPerProcess tries', async () => {
    // Run until one process has run two of the three tries: the one that follows them runs elsewhere.
    const pids = await pidsOf('three_in_a_row');
    const counts = new Map<number, number>();
    for (const pid of Object.values(pids)) counts.set(pid, (counts.get(pid) ?? 0) + 1);
    assert.ok([...counts.values()].every((n) => n <= 2), `no process ran more than 2 tries: ${JSON.stringify(pids)}`);
    for (const [pid, n] of counts) if (n === 2) await waitFor(async () => !(await isRunning(pid)), `process ${pid} ran 2 tries and still runs`);
  });

  test('idle processes beyond warmProcesses exit after idleProcessTimeoutMs; the pool still serves', async () => {
    const pids = Object.values(await pidsOf('three_at_once'));
    assert.equal(new Set(pids).size, 3, 'three tries at once ran in three processes');
    // One of them may stay as the warm one; the others exit once idle for 300 ms.
    await waitFor(async () => (await Promise.all(pids.map(isRunning))).filter(Boolean).length <= 1, `more than one idle process left of ${pids.join(', ')}`, 10_000);
    assert.equal(Object.keys(await pidsOf('three_in_a_row')).length, 3);
  });
});
