/**
 * Two `scheduler` processes on one PostgreSQL, beside one `api-server` and one `dag-processor`, all real
 * processes. Runs of a 50-task DAG (part of it in a 3-slot pool): every (run, task) executes
 * exactly once, the pool never holds more than its slots, and both schedulers queue work. Then one
 * scheduler is SIGKILLed mid-run and the survivor finishes, taking over what the dead one had queued
 * once its heartbeat ages out — still with no double execution.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { triggerDagRun } from '../../src/services/triggerRun.ts';
import { openMetadataDb, type MetadataDb } from '../../src/store/db.ts';
import { getDagRun } from '../../src/store/dagRuns.ts';
import { getSerializedDag } from '../../src/store/dags.ts';
import { PoolStore } from '../../src/store/pools.ts';
import { listTaskInstances } from '../../src/store/taskInstances.ts';
import { createTestDatabase, stopPostgres, type TestDatabase } from '../support/postgres.ts';
import { commandLine, freePort, killAllRoles, killProcessesOfHome, pollUntil, processesOfHome, runCapstanCommand, startRole, type RoleProcess } from '../support/roles.ts';

const DAG_ID = 'shared_dag';
const POOL = 'narrow';
const POOL_SLOTS = 3;
const FAN_OUT = 48;

/** start → 48 parallel tasks (every third in the 3-slot pool) → end: 50 tasks. */
function sharedDag(logFile: string): string {
  return `
import { dag, BashOperator, chain } from 'capstan';
const line = (what: string) => 'echo "$CAPSTAN_CTX_RUN_ID $CAPSTAN_CTX_TASK_ID $CAPSTAN_CTX_TRY_NUMBER ' + what + ' $(date +%s%N)" >> ${logFile}';
const cmd = line('start') + '; sleep 0.1; ' + line('end');
export default dag({ dagId: '${DAG_ID}', schedule: null, maxActiveTasks: 64 }, () => {
  const fan = Array.from({ length: ${FAN_OUT} }, (_, i) =>
    new BashOperator({ taskId: 'p' + i, bashCommand: cmd, ...(i % 3 === 0 ? { pool: '${POOL}' } : {}) }));
  chain(new BashOperator({ taskId: 'start', bashCommand: cmd }), fan, new BashOperator({ taskId: 'end', bashCommand: cmd }));
});
`;
}

/** maxActiveRuns: 1, one task logging its start and end. */
function serialDag(logFile: string): string {
  return `
import { dag, BashOperator } from 'capstan';
const line = (what: string) => 'echo "$CAPSTAN_CTX_RUN_ID $CAPSTAN_CTX_TASK_ID $CAPSTAN_CTX_TRY_NUMBER ' + what + ' $(date +%s%N)" >> ${logFile}';
export default dag({ dagId: 'serial', schedule: null, maxActiveRuns: 1 }, () => {
  new BashOperator({ taskId: 'only', bashCommand: line('start') + '; sleep 0.2; ' + line('end') });
});
`;
}

interface Line {
  runId: string;
  taskId: string;
  tryNumber: number;
  what: 'start' | 'end';
  at: bigint;
}

function readLines(logFile: string): Line[] {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => l.split(' ').length === 5)
    .map((l) => {
      const [runId = '', taskId = '', tryNumber = '', what = '', at = '0'] = l.split(' ');
      return { runId, taskId, tryNumber: Number(tryNumber), what: what as Line['what'], at: BigInt(at) };
    });
}

/** The most pool tasks whose commands ran at the same moment, from their recorded start/end times. */
function maxPoolConcurrency(lines: Line[]): number {
  const inPool = (taskId: string) => /^p\d+$/.test(taskId) && Number(taskId.slice(1)) % 3 === 0;
  const events = lines.filter((l) => inPool(l.taskId)).map((l) => ({ at: l.at, delta: l.what === 'start' ? 1 : -1 }));
  // At equal times an end is counted before a start: touching intervals do not overlap.
  events.sort((a, b) => (a.at === b.at ? a.delta - b.delta : a.at < b.at ? -1 : 1));
  let cur = 0;
  let max = 0;
  for (const e of events) {
    cur += e.delta;
    max = Math.max(max, cur);
  }
  return max;
}

describe('two schedulers on one PostgreSQL never run a task try twice', () => {
  let home = '';
  let logFile = '';
  let serialLog = '';
  let database: TestDatabase | undefined;
  let db: MetadataDb | undefined;
  let env: Record<string, string> = {};
  const roles: RoleProcess[] = [];
  const role = (name: string) => {
    const r = startRole(`${name}#${roles.length + 1}`, [name], env);
    roles.push(r);
    return r;
  };
  let schedulerA: RoleProcess | undefined;
  let schedulerB: RoleProcess | undefined;

  const m = (): MetadataDb => {
    if (!db) throw new Error('the database is opened in before()');
    return db;
  };

  async function describeState(runIds: string[]): Promise<string> {
    const out: string[] = [];
    for (const runId of runIds) {
      const tis = await listTaskInstances(m(), { dagId: DAG_ID, runId });
      const byState = new Map<string, string[]>();
      for (const t of tis) byState.set(t.state, [...(byState.get(t.state) ?? []), `${t.task_id}#${t.try_number}`]);
      out.push(`${runId}: ${[...byState].map(([s, ids]) => `${s}=${ids.length}${s === 'success' ? '' : ` [${ids.join(' ')}]`}`).join(', ')}`);
    }
    for (const r of roles) out.push(`--- ${r.name} (pid ${r.pid}, ${r.alive() ? 'alive' : 'exited'}):\n${r.output().slice(-4000)}`);
    return out.join('\n');
  }

  async function waitForRuns(runIds: string[], timeoutMs: number): Promise<void> {
    await pollUntil(
      `runs ${runIds.join(', ')} to end`,
      async () => {
        for (const id of runIds) {
          const r = await getDagRun(m(), DAG_ID, id);
          if (r.state !== 'success' && r.state !== 'failed') return false;
        }
        return true;
      },
      { timeoutMs, intervalMs: 200, diagnose: () => describeState(runIds) },
    );
    for (const id of runIds) assert.equal((await getDagRun(m(), DAG_ID, id)).state, 'success', await describeState(runIds));
  }

  /** Every (run, task) of `runIds` started exactly once, with the try the metadata DB recorded. */
  async function assertExactlyOnce(runIds: string[]): Promise<void> {
    const starts = readLines(logFile).filter((l) => l.what === 'start' && runIds.includes(l.runId));
    const counts = new Map<string, number>();
    for (const l of starts) counts.set(`${l.runId}/${l.taskId}`, (counts.get(`${l.runId}/${l.taskId}`) ?? 0) + 1);
    for (const runId of runIds) {
      const tis = await listTaskInstances(m(), { dagId: DAG_ID, runId });
      assert.equal(tis.length, FAN_OUT + 2);
      for (const ti of tis) {
        assert.equal(counts.get(`${runId}/${ti.task_id}`), 1, `${runId}/${ti.task_id} ran ${counts.get(`${runId}/${ti.task_id}`) ?? 0} times`);
        assert.equal(ti.state, 'success');
        const logged = starts.find((l) => l.runId === runId && l.taskId === ti.task_id);
        assert.equal(logged?.tryNumber, ti.try_number, `${runId}/${ti.task_id}: the try that ran is the recorded one`);
      }
    }
    assert.equal(counts.size, runIds.length * (FAN_OUT + 2), 'no execution outside the known tasks');
  }

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'capstan-two-'));
    logFile = join(home, 'executions.log');
    serialLog = join(home, 'serial.log');
    mkdirSync(join(home, 'dags'), { recursive: true });
    writeFileSync(join(home, 'dags', 'shared.ts'), sharedDag(logFile));
    writeFileSync(join(home, 'dags', 'serial.ts'), serialDag(serialLog));
    database = await createTestDatabase();
    const port = await freePort();
    env = {
      CAPSTAN_HOME: home,
      CAPSTAN__DATABASE__URL: database.url,
      CAPSTAN__DATABASE__POOL_SIZE: '4',
      CAPSTAN__API__PORT: String(port),
      CAPSTAN__API__EXECUTION_API_URL: `http://127.0.0.1:${port}`,
      CAPSTAN__CORE__LOAD_EXAMPLES: 'false',
      // Each scheduler's executor holds at most 8 tries, so one scheduler cannot take all the work.
      CAPSTAN__CORE__PARALLELISM: '8',
      CAPSTAN__SCHEDULER__LOOP_INTERVAL_MS: '100',
      CAPSTAN__SCHEDULER__HEARTBEAT_INTERVAL_MS: '300',
      CAPSTAN__SCHEDULER__HEALTH_CHECK_THRESHOLD_MS: '2000',
      CAPSTAN__SCHEDULER__ZOMBIE_CHECK_INTERVAL_MS: '300',
      CAPSTAN__SCHEDULER__TASK_HEARTBEAT_TIMEOUT_MS: '60000',
      CAPSTAN__SCHEDULER__HEALTH_PORT: '-1',
      CAPSTAN__DAG_PROCESSOR__REFRESH_INTERVAL_MS: '1000',
      CAPSTAN__LOGGING__LEVEL: 'info',
    };
    await runCapstanCommand(['db', 'migrate'], env);
    db = openMetadataDb(database.url, { poolSize: 2 });
    await new PoolStore(db).set(POOL, { slots: POOL_SLOTS });
    role('api-server');
    role('dag-processor');
    schedulerA = role('scheduler');
    schedulerB = role('scheduler');
    await pollUntil('the DAG to be parsed', () => getSerializedDag(m(), DAG_ID).then(() => true), { timeoutMs: 20_000, diagnose: () => describeState([]) });
  });

  after(async () => {
    await killAllRoles();
    if (home) killProcessesOfHome(home);
    await db?.close();
    await database?.drop();
    await stopPostgres();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test('two runs at once: each task once, pool never over its slots, both schedulers queue work', async () => {
    const runIds = ['a1', 'a2'];
    for (const runId of runIds) await triggerDagRun(m(), { dagId: DAG_ID, runId }, Date.now());
    await waitForRuns(runIds, 60_000);
    await assertExactlyOnce(runIds);
    const max = maxPoolConcurrency(readLines(logFile));
    assert.ok(max <= POOL_SLOTS, `pool '${POOL}' ran ${max} tasks at once (slots: ${POOL_SLOTS})`);
    assert.ok(max >= 1, 'pool tasks ran');
    const queuedBy = new Set<string | null>();
    for (const runId of runIds) for (const ti of await listTaskInstances(m(), { dagId: DAG_ID, runId })) queuedBy.add(ti.queued_by_job_id);
    const schedulerJobs = await m().db.selectFrom('job').select('id').where('job_type', '=', 'scheduler').where('state', '=', 'running').execute();
    assert.equal(schedulerJobs.length, 2);
    assert.deepEqual([...queuedBy].sort(), schedulerJobs.map((j) => j.id).sort(), 'both schedulers queued task instances');
  });

  test("maxActiveRuns: 1 holds across both schedulers: no two runs' tasks overlap", async () => {
    await pollUntil('the serial DAG to be parsed', () => getSerializedDag(m(), 'serial').then(() => true), { timeoutMs: 20_000 });
    const runIds = Array.from({ length: 12 }, (_, i) => `s${i}`);
    for (const runId of runIds) await triggerDagRun(m(), { dagId: 'serial', runId }, Date.now());
    await pollUntil(
      'the serial runs to end',
      async () => {
        for (const id of runIds) if ((await getDagRun(m(), 'serial', id)).state !== 'success') return false;
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 200, diagnose: async () => (await m().db.selectFrom('dag_run').select(['run_id', 'state']).where('dag_id', '=', 'serial').execute()).map((r) => `${r.run_id}=${r.state}`).join(' ') },
    );
    const lines = readLines(serialLog);
    assert.equal(lines.filter((l) => l.what === 'start').length, runIds.length, 'each run ran its task once');
    const events = lines.map((l) => ({ at: l.at, delta: l.what === 'start' ? 1 : -1 })).sort((a, b) => (a.at === b.at ? a.delta - b.delta : a.at < b.at ? -1 : 1));
    let cur = 0;
    let max = 0;
    for (const e of events) max = Math.max(max, (cur += e.delta));
    assert.equal(max, 1, `two runs of a maxActiveRuns: 1 DAG ran at once: ${JSON.stringify(await m().db.selectFrom('dag_run').select(['run_id', 'start_date', 'end_date']).where('dag_id', '=', 'serial').orderBy('start_date').execute())}`);
  });

  test('one scheduler SIGKILLed mid-run: the survivor finishes every run, still each task once', async () => {
    assert.ok(schedulerA && schedulerB);
    const runIds = ['b1'];
    const jobOf = async (r: RoleProcess) => (await m().db.selectFrom('job').select('id').where('pid', '=', r.pid).where('job_type', '=', 'scheduler').executeTakeFirstOrThrow()).id;
    const victimJob = await jobOf(schedulerA);
    for (const runId of runIds) await triggerDagRun(m(), { dagId: DAG_ID, runId }, Date.now());
    // Kill while the victim holds queued or running tries.
    await pollUntil(
      'scheduler A to hold tries of the new runs',
      async () => {
        const tis = await m().db.selectFrom('task_instance').select('id').where('run_id', 'in', runIds).where('queued_by_job_id', '=', victimJob).where('state', 'in', ['queued', 'running']).execute();
        return tis.length >= 4;
      },
      { timeoutMs: 30_000, intervalMs: 20, diagnose: () => describeState(runIds) },
    );
    schedulerA.kill('SIGKILL');
    assert.equal((await schedulerA.exited).signal, 'SIGKILL');
    await waitForRuns(runIds, 60_000);
    await assertExactlyOnce(runIds);
    const max = maxPoolConcurrency(readLines(logFile));
    assert.ok(max <= POOL_SLOTS, `pool '${POOL}' ran ${max} tasks at once (slots: ${POOL_SLOTS})`);
    // What the victim had queued but no process claimed was re-queued by the survivor, as a new try.
    const survivorJob = await jobOf(schedulerB);
    for (const t of await m().db.selectFrom('task_instance_try').select(['ti_id', 'failure_reason']).where('run_id', 'in', runIds).where('state', '=', 'removed').execute()) {
      assert.match(t.failure_reason ?? '', new RegExp(`scheduler ${victimJob} died`));
      const ti = await m().db.selectFrom('task_instance').select('queued_by_job_id').where('id', '=', t.ti_id).executeTakeFirstOrThrow();
      assert.equal(ti.queued_by_job_id, survivorJob, 'the survivor queued the new try');
    }
    // Stop the rest cleanly: no task process may be left behind.
    for (const r of roles) r.kill('SIGTERM');
    await Promise.all(roles.map((r) => r.exited));
    await pollUntil('every task process to exit', () => processesOfHome(home).length === 0, {
      timeoutMs: 10_000,
      diagnose: () => processesOfHome(home).map((p) => `${p}: ${commandLine(p)}`).join('\n'),
    });
  });
});
