/**
 * Crash safety with real processes: the scheduler is SIGKILLed twice in the middle of a 30-task run and
 * restarted, once as `standalone` (scheduler, API server and DAG processor die together) and once as a
 * separate `scheduler` beside a live `api-server` and `dag-processor`. Every task appends
 * `<task_id> <try>` to a shared file, so the file shows whether any try ran twice or was lost.
 *
 * Expected behaviour: task processes outlive the scheduler (they are their own process groups) and keep
 * retrying their Execution API calls until an API server answers; the restarted scheduler takes over
 * what the dead one queued once its heartbeat ages out. So the run succeeds, every task ran exactly once,
 * and no crash costs a retry: a try counts only when a task process claimed it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openMetadataDb, type MetadataDb } from '../../src/store/db.ts';
import { getDagRun } from '../../src/store/dagRuns.ts';
import { getSerializedDag } from '../../src/store/dags.ts';
import { listTaskInstances, listTries } from '../../src/store/taskInstances.ts';
import { triggerDagRun } from '../../src/services/triggerRun.ts';
import type { Executor, ExecutorEvent, TaskWorkload } from '../../src/executors/types.ts';
import type { TaskInstanceRow } from '../../src/store/schema.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { commandLine, freePort, isProcessAlive, killAllRoles, killProcessesOfHome, pollUntil, processesOfHome, runCapstanCommand, startRole, type RoleProcess } from '../support/roles.ts';

const DAG_ID = 'crash_dag';

/** start → fan-out of 9 → join → chain of 4 → fan-out of 9 → join → chain of 4 → end: 30 tasks. */
function crashDag(logFile: string): string {
  return `
import { dag, BashOperator, chain } from 'capstan';
const cmd = 'echo "$CAPSTAN_CTX_TASK_ID $CAPSTAN_CTX_TRY_NUMBER" >> ${logFile}; sleep 0.2';
const t = (taskId: string) => new BashOperator({ taskId, bashCommand: cmd });
export default dag({ dagId: '${DAG_ID}', schedule: null, maxActiveTasks: 32 }, () => {
  const fan1 = Array.from({ length: 9 }, (_, i) => t('f' + i));
  const fan2 = Array.from({ length: 9 }, (_, i) => t('g' + i));
  chain(t('start'), fan1, t('join1'), t('c1'), t('c2'), t('c3'), t('c4'), fan2, t('join2'), t('d1'), t('d2'), t('d3'), t('d4'), t('end'));
});
`;
}

const TASK_COUNT = 30;

/** One task that runs until the test creates `<home>/go`, with a child process (`sleep`) and both pids in files. */
function gatedDag(home: string, logFile: string): string {
  return `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'gated', schedule: null }, () => {
  new BashOperator({
    taskId: 'wait_for_go',
    bashCommand: 'echo "$CAPSTAN_CTX_TASK_ID $CAPSTAN_CTX_TRY_NUMBER" >> ${logFile}; echo $$ > ${home}/gated.bash; sleep 600 & echo $! > ${home}/gated.sleep; ' +
      'while [ ! -f ${home}/go ]; do sleep 0.05; done; kill $(cat ${home}/gated.sleep)',
  });
});
`;
}

interface Setup {
  home: string;
  logFile: string;
  env: Record<string, string>;
  db: MetadataDb;
}

async function setUp(): Promise<Setup> {
  const home = mkdtempSync(join(tmpdir(), 'capstan-crash-'));
  const logFile = join(home, 'executions.log');
  mkdirSync(join(home, 'dags'), { recursive: true });
  writeFileSync(join(home, 'dags', 'crash.ts'), crashDag(logFile));
  writeFileSync(join(home, 'dags', 'gated.ts'), gatedDag(home, logFile));
  const port = await freePort();
  const url = `sqlite://${join(home, 'capstan.db')}`;
  const env = {
    CAPSTAN_HOME: home,
    CAPSTAN__DATABASE__URL: url,
    CAPSTAN__API__PORT: String(port),
    CAPSTAN__API__EXECUTION_API_URL: `http://127.0.0.1:${port}`,
    CAPSTAN__CORE__LOAD_EXAMPLES: 'false',
    CAPSTAN__SCHEDULER__LOOP_INTERVAL_MS: '100',
    CAPSTAN__SCHEDULER__HEARTBEAT_INTERVAL_MS: '300',
    CAPSTAN__SCHEDULER__HEALTH_CHECK_THRESHOLD_MS: '2000',
    CAPSTAN__SCHEDULER__ZOMBIE_CHECK_INTERVAL_MS: '300',
    // Longer than any outage here: a live task whose heartbeats could not get through is no zombie.
    CAPSTAN__SCHEDULER__TASK_HEARTBEAT_TIMEOUT_MS: '60000',
    CAPSTAN__SCHEDULER__HEALTH_PORT: '-1',
    CAPSTAN__DAG_PROCESSOR__REFRESH_INTERVAL_MS: '1000',
    CAPSTAN__LOGGING__LEVEL: 'info',
  };
  await runCapstanCommand(['db', 'migrate'], env);
  return { home, logFile, env, db: openMetadataDb(url, { poolSize: 2 }) };
}

function executions(logFile: string): Array<{ taskId: string; tryNumber: number }> {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [taskId = '', tryNumber = ''] = l.split(' ');
      return { taskId, tryNumber: Number(tryNumber) };
    });
}

async function describeState(s: Setup, roles: RoleProcess[], runId?: string): Promise<string> {
  const lines: string[] = [];
  if (runId) {
    const tis = await listTaskInstances(s.db, { dagId: DAG_ID, runId });
    lines.push(`tasks: ${tis.map((t) => `${t.task_id}=${t.state}#${t.try_number}${t.failure_reason ? ` (${t.failure_reason})` : ''}`).join(', ')}`);
  }
  lines.push(`executions: ${executions(s.logFile).map((e) => `${e.taskId}#${e.tryNumber}`).join(' ')}`);
  for (const r of roles) lines.push(`--- ${r.name} (pid ${r.pid}, ${r.alive() ? 'alive' : 'exited'}) output:\n${r.output().slice(-6000)}`);
  return lines.join('\n');
}

/**
 * SIGKILL `role` once at least `lines` task executions are logged and (with `whileQueued`) some try is
 * queued but not yet claimed by a task process; resolves when it is dead.
 */
async function killAfter(s: Setup, role: RoleProcess, lines: number, all: RoleProcess[], runId: string, whileQueued = false): Promise<void> {
  await pollUntil(
    `${lines} task executions${whileQueued ? ' and a queued try' : ''} before killing ${role.name}`,
    async () => executions(s.logFile).length >= lines && (!whileQueued || (await listTaskInstances(s.db, { dagId: DAG_ID, runId, state: 'queued' })).length > 0),
    { timeoutMs: 30_000, intervalMs: 10, diagnose: () => describeState(s, all, runId) },
  );
  role.kill('SIGKILL');
  const { signal } = await role.exited;
  assert.equal(signal, 'SIGKILL', `${role.name} was SIGKILLed`);
}

async function assertExactlyOnce(s: Setup, runId: string, roles: RoleProcess[]): Promise<void> {
  const run = await pollUntil(
    `run ${runId} to end`,
    async () => {
      const r = await getDagRun(s.db, DAG_ID, runId);
      return r.state === 'success' || r.state === 'failed' ? r : undefined;
    },
    { timeoutMs: 45_000, diagnose: () => describeState(s, roles, runId) },
  );
  assert.equal(run.state, 'success', await describeState(s, roles, runId));
  const tis = await listTaskInstances(s.db, { dagId: DAG_ID, runId });
  assert.equal(tis.length, TASK_COUNT);
  const counts = new Map<string, number>();
  for (const e of executions(s.logFile)) counts.set(e.taskId, (counts.get(e.taskId) ?? 0) + 1);
  for (const ti of tis) {
    assert.equal(counts.get(ti.task_id), 1, `task ${ti.task_id} ran ${counts.get(ti.task_id) ?? 0} times\n${await describeState(s, roles, runId)}`);
    assert.equal(ti.state, 'success', `task ${ti.task_id} is ${ti.state}`);
  }
  assert.equal(counts.size, TASK_COUNT, 'no execution of an unknown task');
  // A crash may re-queue a try that no task process had claimed yet, but it never costs a retry: every
  // try before the last one never started.
  for (const ti of tis) {
    const tries = await listTries(s.db, ti.id);
    const started = tries.filter((t) => t.start_date !== null);
    assert.equal(started.length, 1, `task ${ti.task_id} started ${started.length} tries: ${JSON.stringify(tries)}`);
    assert.equal(ti.try_number, started[0]?.try_number, `task ${ti.task_id}'s current try is the one that ran`);
    // retries is 0: each try re-queued without starting extends the budget by one, so none is consumed.
    assert.equal(ti.max_tries, ti.try_number - 1, `task ${ti.task_id}: max_tries ${ti.max_tries} at try ${ti.try_number}`);
  }
  for (const e of executions(s.logFile)) {
    assert.equal(e.tryNumber, tis.find((ti) => ti.task_id === e.taskId)?.try_number, `the logged try of ${e.taskId} is its recorded try`);
  }
}

async function assertNoProcessLeft(home: string, roles: RoleProcess[]): Promise<void> {
  await pollUntil('every task process of the test to exit', () => processesOfHome(home).length === 0, {
    timeoutMs: 10_000,
    diagnose: () => `left behind:\n${processesOfHome(home).map((p) => `  ${p}: ${commandLine(p)}`).join('\n')}\n${roles.map((r) => `--- ${r.name}:\n${r.output().slice(-3000)}`).join('\n')}`,
  });
}

describe('scheduler SIGKILLed mid-run and restarted: every task ends exactly once [sqlite]', () => {
  const setups: Setup[] = [];
  after(async () => {
    await killAllRoles();
    for (const s of setups) {
      killProcessesOfHome(s.home);
      await s.db.close();
      rmSync(s.home, { recursive: true, force: true });
    }
  });

  test('standalone killed twice', async () => {
    const s = await setUp();
    setups.push(s);
    const roles: RoleProcess[] = [];
    const standalone = () => {
      const r = startRole(`standalone#${roles.length + 1}`, ['standalone'], s.env);
      roles.push(r);
      return r;
    };
    const first = standalone();
    await pollUntil('the DAG to be parsed', () => getSerializedDag(s.db, DAG_ID).then(() => true), { timeoutMs: 20_000, diagnose: () => describeState(s, roles) });
    const run = await triggerDagRun(s.db, { dagId: DAG_ID, runId: 'r1' }, Date.now());
    await killAfter(s, first, 1, roles, run.run_id, true);
    const second = standalone();
    await killAfter(s, second, 15, roles, run.run_id);
    const third = standalone();
    await assertExactlyOnce(s, run.run_id, roles);
    third.kill('SIGTERM');
    await third.exited;
    await assertNoProcessLeft(s.home, roles);
  });

  test('separate roles: only the scheduler is killed, twice', async () => {
    const s = await setUp();
    setups.push(s);
    const roles: RoleProcess[] = [];
    const role = (name: string) => {
      const r = startRole(`${name}#${roles.length + 1}`, [name], s.env);
      roles.push(r);
      return r;
    };
    const api = role('api-server');
    const processor = role('dag-processor');
    const first = role('scheduler');
    await pollUntil('the DAG to be parsed', () => getSerializedDag(s.db, DAG_ID).then(() => true), { timeoutMs: 20_000, diagnose: () => describeState(s, roles) });
    const run = await triggerDagRun(s.db, { dagId: DAG_ID, runId: 'r1' }, Date.now());
    await killAfter(s, first, 1, roles, run.run_id, true);
    const second = role('scheduler');
    await killAfter(s, second, 15, roles, run.run_id);
    const third = role('scheduler');
    await assertExactlyOnce(s, run.run_id, roles);
    for (const r of [third, api, processor]) r.kill('SIGTERM');
    await Promise.all([third.exited, api.exited, processor.exited]);
    await assertNoProcessLeft(s.home, roles);
  });
});

describe('a scheduler stopped with SIGTERM while its task runs [sqlite]', () => {
  let s: Setup | undefined;
  after(async () => {
    await killAllRoles();
    if (s) {
      killProcessesOfHome(s.home);
      await s.db.close();
      rmSync(s.home, { recursive: true, force: true });
    }
  });

  test('exits without waiting for the task, which still reports its success through the API server', async () => {
    s = await setUp();
    const setup = s;
    const roles: RoleProcess[] = [];
    const role = (name: string) => {
      const r = startRole(`${name}#${roles.length + 1}`, [name], setup.env);
      roles.push(r);
      return r;
    };
    role('api-server');
    role('dag-processor');
    const scheduler = role('scheduler');
    await pollUntil('the DAG to be parsed', () => getSerializedDag(setup.db, 'gated').then(() => true), { timeoutMs: 20_000, diagnose: () => describeState(setup, roles) });
    await triggerDagRun(setup.db, { dagId: 'gated', runId: 'r1' }, Date.now());
    const running = await pollUntil('the task to run', async () => (await listTaskInstances(setup.db, { dagId: 'gated', runId: 'r1', state: 'running' }))[0], {
      timeoutMs: 20_000,
      diagnose: () => describeState(setup, roles),
    });
    scheduler.kill('SIGTERM');
    await pollUntil('the scheduler to exit while its task still runs', () => !scheduler.alive(), { timeoutMs: 10_000, diagnose: () => describeState(setup, roles) });
    assert.ok(running.pid !== null && processesOfHome(setup.home).includes(running.pid), 'the task process outlives the scheduler');
    writeFileSync(join(setup.home, 'go'), '');
    const ended = await pollUntil('the task to report success', async () => (await listTaskInstances(setup.db, { dagId: 'gated', runId: 'r1', state: 'success' }))[0], {
      timeoutMs: 20_000,
      diagnose: () => describeState(setup, roles),
    });
    assert.equal(ended.try_number, 1);
    role('scheduler');
    await pollUntil('the run to succeed', async () => (await getDagRun(setup.db, 'gated', 'r1')).state === 'success', { timeoutMs: 20_000, diagnose: () => describeState(setup, roles) });
    assert.deepEqual(executions(setup.logFile), [{ taskId: 'wait_for_go', tryNumber: 1 }]);
  });
});

describe('a task process adopted by a restarted scheduler, then SIGKILLed [sqlite]', () => {
  let s: Setup | undefined;
  after(async () => {
    await killAllRoles();
    if (s) {
      killProcessesOfHome(s.home);
      await s.db.close();
      rmSync(s.home, { recursive: true, force: true });
    }
  });

  test('the new scheduler notices, fails the try naming the lost process, and stops its command', async () => {
    s = await setUp();
    const setup = s;
    const roles: RoleProcess[] = [];
    const role = (name: string) => {
      const r = startRole(`${name}#${roles.length + 1}`, [name], setup.env);
      roles.push(r);
      return r;
    };
    role('api-server');
    role('dag-processor');
    const first = role('scheduler');
    await pollUntil('the DAG to be parsed', () => getSerializedDag(setup.db, 'gated').then(() => true), { timeoutMs: 20_000, diagnose: () => describeState(setup, roles) });
    await triggerDagRun(setup.db, { dagId: 'gated', runId: 'r1' }, Date.now());
    const pidFile = (what: string) => join(setup.home, `gated.${what}`);
    await pollUntil('the command to start its child', () => existsSync(pidFile('sleep')) && readFileSync(pidFile('sleep'), 'utf8').trim() !== '', { timeoutMs: 20_000, diagnose: () => describeState(setup, roles) });
    const bashPid = Number(readFileSync(pidFile('bash'), 'utf8'));
    const sleepPid = Number(readFileSync(pidFile('sleep'), 'utf8'));
    first.kill('SIGKILL');
    await first.exited;
    const second = role('scheduler');
    // Once the first scheduler's heartbeat ages out, the second takes over the still running task process.
    await pollUntil('the new scheduler to adopt the task process', () => /"adopted":1\b/.test(second.output()), { timeoutMs: 20_000, diagnose: () => describeState(setup, roles) });
    const ti = (await listTaskInstances(setup.db, { dagId: 'gated', runId: 'r1' }))[0];
    assert.equal(ti?.state, 'running');
    assert.ok(ti.pid !== null && isProcessAlive(ti.pid));
    const secondJob = await setup.db.db.selectFrom('job').select('id').where('pid', '=', second.pid).executeTakeFirstOrThrow();
    assert.equal(ti.queued_by_job_id, secondJob.id, 'the adopter owns the try now');
    process.kill(ti.pid, 'SIGKILL');
    await pollUntil(`the command (bash ${bashPid}, sleep ${sleepPid}) to be stopped`, () => !isProcessAlive(bashPid) && !isProcessAlive(sleepPid), { timeoutMs: 10_000, diagnose: () => describeState(setup, roles) });
    const failed = await pollUntil('the try to fail', async () => (await listTaskInstances(setup.db, { dagId: 'gated', runId: 'r1', state: 'failed' }))[0], {
      timeoutMs: 10_000,
      diagnose: () => describeState(setup, roles),
    });
    assert.match(failed.failure_reason ?? '', /task process .*without reporting a result: adopted process is gone/);
    assert.equal((await pollUntil('the run to fail', async () => { const r = await getDagRun(setup.db, 'gated', 'r1'); return r.state === 'failed' ? r : undefined; }, { timeoutMs: 10_000 })).state, 'failed');
  });
});

describe('tries orphaned by a crash between queueing and claiming [sqlite]', () => {
  /** An executor that only records what it is given: the test plays the task process over HTTP. */
  class RecordingExecutor implements Executor {
    readonly name = 'LocalExecutor';
    readonly workloads: TaskWorkload[] = [];
    async start(): Promise<void> {}
    openSlots(): number {
      return 8;
    }
    queueWorkloads(w: TaskWorkload[]): void {
      this.workloads.push(...w);
    }
    async sync(): Promise<ExecutorEvent[]> {
      return [];
    }
    async terminate(): Promise<void> {}
    async tryAdopt(tis: TaskInstanceRow[]): Promise<TaskInstanceRow[]> {
      return tis;
    }
    async end(): Promise<void> {}
  }
  const executor = new RecordingExecutor();
  let t: TestEngine;
  before(async () => {
    t = await startTestEngine({
      dags: { 'one.ts': `import { dag, BashOperator } from 'capstan';\nexport default dag({ dagId: 'one', schedule: null }, () => { new BashOperator({ taskId: 'only', bashCommand: 'true' }); });\n` },
      executor: () => executor,
    });
  });
  after(async () => {
    await t.stop();
  });

  test('retrying the same claim succeeds; another process claiming it is refused', async () => {
    await t.trigger('one', { runId: 'r1' });
    const w = await pollUntil('the try to be queued', () => executor.workloads[0], { timeoutMs: 10_000 });
    const token = t.engine.tokens.issue(w.tiId, w.tryNumber, Date.now());
    const claim = (pid: number) =>
      fetch(`${t.api.url}/execution/v1/task-instances/${w.tiId}/start`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ hostname: 'worker-a', pid }),
      });
    assert.equal((await claim(4242)).status, 200, 'first claim');
    const again = await claim(4242);
    assert.equal(again.status, 200, `the same process claiming again (its first answer was lost): ${await again.clone().text()}`);
    assert.equal(((await again.json()) as { tryNumber: number }).tryNumber, w.tryNumber);
    assert.equal((await claim(4343)).status, 409, 'another process cannot claim a running try');
  });

  test('a try queued by a scheduler that died before any process claimed it is re-queued as a new try, without costing a retry', async () => {
    await t.trigger('one', { runId: 'r2' });
    const first = await pollUntil('the try to be queued', () => executor.workloads.find((x) => x.runId === 'r2'), { timeoutMs: 10_000 });
    // As if a scheduler that is now dead had queued it: registered, but no heartbeat for long.
    await t.engine.db.db.insertInto('job').values({ id: 'dead-scheduler', job_type: 'scheduler', hostname: 'gone', pid: 1, state: 'running', start_date: 0, end_date: null, latest_heartbeat: 0 }).execute();
    await t.engine.db.db.updateTable('task_instance').set({ queued_by_job_id: 'dead-scheduler' }).where('id', '=', first.tiId).where('state', '=', 'queued').execute();
    const second = await pollUntil('the live scheduler to queue the task again', () => executor.workloads.find((x) => x.runId === 'r2' && x.tryNumber > first.tryNumber), {
      timeoutMs: 10_000,
      diagnose: async () => JSON.stringify(await t.taskInstances('one', 'r2')),
    });
    assert.equal(second.tryNumber, first.tryNumber + 1, 'the old try number is not reused');
    const ti = (await t.taskInstances('one', 'r2'))[0];
    assert.equal(ti?.max_tries, 1, 'the abandoned try does not count against retries (retries: 0)');
    const abandoned = (await listTries(t.engine.db, first.tiId)).find((x) => x.try_number === first.tryNumber);
    assert.equal(abandoned?.state, 'removed');
    assert.match(abandoned.failure_reason ?? '', /scheduler dead-scheduler died before a task process claimed the try/);
    const claim = (w: TaskWorkload) =>
      fetch(`${t.api.url}/execution/v1/task-instances/${w.tiId}/start`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.engine.tokens.issue(w.tiId, w.tryNumber, Date.now())}`, 'content-type': 'application/json' },
        body: JSON.stringify({ hostname: 'worker-b', pid: 5151 }),
      });
    assert.equal((await claim(first)).status, 409, 'a late process holding the abandoned try finds it stale');
    assert.equal((await claim(second)).status, 200);
  });
});
