/**
 * A standalone Capstan (scheduler and API server in one process) down for longer than the zombie
 * threshold, while a task process keeps running: its heartbeats could not get through, which is no sign
 * that the task died. The restarted scheduler must not take it for a zombie: the task finishes once,
 * on its first try.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { triggerDagRun } from '../../src/services/triggerRun.ts';
import { openMetadataDb, type MetadataDb } from '../../src/store/db.ts';
import { getDagRun } from '../../src/store/dagRuns.ts';
import { getSerializedDag } from '../../src/store/dags.ts';
import { listTaskInstances } from '../../src/store/taskInstances.ts';
import { freePort, isProcessAlive, killAllRoles, killProcessesOfHome, pollUntil, runCapstanCommand, startRole, type RoleProcess } from '../support/roles.ts';

/** Task processes heartbeat every 5 s; the threshold leaves room for that, the outage exceeds it. */
const ZOMBIE_THRESHOLD_MS = 8_000;

describe('standalone down longer than the zombie threshold while a task runs [sqlite]', () => {
  let home = '';
  let db: MetadataDb | undefined;
  after(async () => {
    await killAllRoles();
    if (home) killProcessesOfHome(home);
    await db?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test('the task is not declared a zombie: it ends success on try 1, executed once', async () => {
    home = mkdtempSync(join(tmpdir(), 'capstan-outage-'));
    const logFile = join(home, 'executions.log');
    mkdirSync(join(home, 'dags'));
    writeFileSync(
      join(home, 'dags', 'gated.ts'),
      `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'gated', schedule: null }, () => {
  new BashOperator({ taskId: 'wait_for_go', bashCommand: 'echo "$CAPSTAN_CTX_TASK_ID $CAPSTAN_CTX_TRY_NUMBER" >> ${logFile}; while [ ! -f ${home}/go ]; do sleep 0.05; done' });
});
`,
    );
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
      CAPSTAN__SCHEDULER__TASK_HEARTBEAT_TIMEOUT_MS: String(ZOMBIE_THRESHOLD_MS),
      CAPSTAN__SCHEDULER__HEALTH_PORT: '-1',
      CAPSTAN__LOGGING__LEVEL: 'info',
    };
    await runCapstanCommand(['db', 'migrate'], env);
    const m = openMetadataDb(url, { poolSize: 2 });
    db = m;
    const roles: RoleProcess[] = [];
    const diagnose = async () =>
      `${JSON.stringify(await listTaskInstances(m, { dagId: 'gated' }))}\n${roles.map((r) => `--- ${r.name}:\n${r.output().slice(-4000)}`).join('\n')}`;
    const first = startRole('standalone#1', ['standalone'], env);
    roles.push(first);
    await pollUntil('the DAG to be parsed', () => getSerializedDag(m, 'gated').then(() => true), { timeoutMs: 20_000, diagnose });
    await triggerDagRun(m, { dagId: 'gated', runId: 'r1' }, Date.now());
    const running = await pollUntil('the task to run', async () => (await listTaskInstances(m, { dagId: 'gated', runId: 'r1', state: 'running' }))[0], { timeoutMs: 20_000, diagnose });
    first.kill('SIGKILL');
    await first.exited;
    // The outage: until the task's last recorded heartbeat is older than the zombie threshold.
    await pollUntil(
      'the last heartbeat to age past the zombie threshold',
      async () => {
        const ti = (await listTaskInstances(m, { dagId: 'gated', runId: 'r1' }))[0];
        return ti?.last_heartbeat_at !== null && ti?.last_heartbeat_at !== undefined && Date.now() - ti.last_heartbeat_at > ZOMBIE_THRESHOLD_MS + 1_000;
      },
      { timeoutMs: 30_000, intervalMs: 200, diagnose },
    );
    assert.ok(running.pid !== null && isProcessAlive(running.pid), 'the task process outlived the crash');
    const second = startRole('standalone#2', ['standalone'], env);
    roles.push(second);
    // The task heartbeats again within its interval once the API server is back.
    await pollUntil(
      'a fresh heartbeat of the task',
      async () => {
        const ti = (await listTaskInstances(m, { dagId: 'gated', runId: 'r1' }))[0];
        return ti?.state !== 'running' || (ti.last_heartbeat_at !== null && Date.now() - ti.last_heartbeat_at < ZOMBIE_THRESHOLD_MS / 2) ? ti : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, diagnose },
    );
    writeFileSync(join(home, 'go'), '');
    const run = await pollUntil('the run to end', async () => { const r = await getDagRun(m, 'gated', 'r1'); return r.state === 'success' || r.state === 'failed' ? r : undefined; }, { timeoutMs: 20_000, diagnose });
    const ti = (await listTaskInstances(m, { dagId: 'gated', runId: 'r1' }))[0];
    assert.equal(ti?.state, 'success', `task: ${ti?.state} (${ti?.failure_reason})\n${await diagnose()}`);
    assert.equal(ti.try_number, 1);
    assert.equal(run.state, 'success');
    const lines = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n') : [];
    assert.deepEqual(lines, ['wait_for_go 1'], 'the command ran once');
  });
});
