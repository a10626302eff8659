/**
 * Triggerers as real processes on one PostgreSQL (beside a scheduler, an API server and a DAG
 * processor): two live triggerers split the deferred tasks' triggers and never run the same one (each
 * trigger's start is recorded by the trigger itself, with the triggerer's pid); one is SIGKILLed while
 * its tasks are deferred, another is started, takes over the dead one's triggers once its heartbeat ages
 * out — leaving the survivor's alone — and every task resumes once, in its first try.
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
import { listTaskInstances, listTries } from '../../src/store/taskInstances.ts';
import { pullXCom } from '../../src/store/xcom.ts';
import { createTestDatabase, stopPostgres, type TestDatabase } from '../support/postgres.ts';
import { freePort, killAllRoles, killProcessesOfHome, pollUntil, runCapstanCommand, startRole, type RoleProcess } from '../support/roles.ts';

const TASKS = 12;
const CAPACITY = 8;

const GATE_TRIGGER = `
import { appendFileSync, existsSync } from 'node:fs';
import { triggerClasspath, type Trigger, type TriggerEnv, type TriggerEvent, type JsonObject } from 'capstan';
/** Records each start (trigger id, triggerer pid), then fires once the gate file exists. */
export class GateTrigger implements Trigger {
  readonly kwargs: JsonObject;
  constructor(kwargs: JsonObject) { this.kwargs = kwargs; }
  serialize() { return { classpath: triggerClasspath(import.meta.url, 'GateTrigger'), kwargs: this.kwargs }; }
  async *run(signal: AbortSignal, env: TriggerEnv): AsyncGenerator<TriggerEvent> {
    appendFileSync(String(this.kwargs['log']), env.triggerId + ' ' + process.pid + '\\n');
    while (!signal.aborted) {
      if (existsSync(String(this.kwargs['gate']))) { yield { payload: { firedBy: process.pid } }; return; }
      await env.clock.sleep(100, signal);
    }
  }
}
`;

function dagSource(triggerModule: string, gate: string, log: string): string {
  return `
import { dag, BaseOperator, type TaskContext, type JsonValue } from 'capstan';
import { GateTrigger } from ${JSON.stringify(triggerModule)};
class WaitAtGate extends BaseOperator {
  readonly operatorName = 'WaitAtGate';
  execute() { this.defer({ trigger: new GateTrigger({ gate: ${JSON.stringify(gate)}, log: ${JSON.stringify(log)} }), method: 'opened' }); }
  opened(ctx: TaskContext, event: JsonValue) { return { event, tryNumber: ctx.tryNumber }; }
}
dag({ dagId: 'gated', schedule: null, maxActiveTasks: 64 }, () => {
  for (let i = 0; i < ${TASKS}; i++) new WaitAtGate({ taskId: 'g' + i });
});
`;
}

/** Trigger starts as recorded by the triggers: [triggerId, pid]. */
function starts(log: string): Array<[number, number]> {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split(' ').map(Number) as [number, number]);
}

describe('triggerers on one PostgreSQL: no trigger runs twice; a dead triggerer is replaced', () => {
  let home = '';
  let database: TestDatabase | undefined;
  let db: MetadataDb | undefined;
  let env: Record<string, string> = {};
  const roles: RoleProcess[] = [];
  const role = (name: string) => {
    const r = startRole(`${name}#${roles.length + 1}`, [name], env);
    roles.push(r);
    return r;
  };
  const m = (): MetadataDb => {
    if (!db) throw new Error('opened in before()');
    return db;
  };
  let gate = '';
  let log = '';

  const diagnose = async () => {
    const tis = db ? await listTaskInstances(m(), { dagId: 'gated' }) : [];
    const triggers = db ? await m().db.selectFrom('trigger').select(['id', 'triggerer_id']).execute() : [];
    return [
      `tasks: ${tis.map((t) => `${t.task_id}=${t.state}#${t.try_number}`).join(' ')}`,
      `triggers: ${JSON.stringify(triggers)}`,
      `starts: ${JSON.stringify(starts(log))}`,
      ...roles.map((r) => `--- ${r.name} (pid ${r.pid}, ${r.alive() ? 'alive' : 'exited'}):\n${r.output().slice(-3000)}`),
    ].join('\n');
  };

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'capstan-triggerers-'));
    gate = join(home, 'gate');
    log = join(home, 'trigger-starts.log');
    mkdirSync(join(home, 'dags'), { recursive: true });
    mkdirSync(join(home, 'lib'), { recursive: true });
    const triggerModule = join(home, 'lib', 'gateTrigger.ts');
    writeFileSync(triggerModule, GATE_TRIGGER);
    writeFileSync(join(home, 'dags', 'gated.ts'), dagSource(triggerModule, gate, log));
    database = await createTestDatabase();
    const port = await freePort();
    env = {
      CAPSTAN_HOME: home,
      CAPSTAN__DATABASE__URL: database.url,
      CAPSTAN__DATABASE__POOL_SIZE: '4',
      CAPSTAN__API__PORT: String(port),
      CAPSTAN__API__EXECUTION_API_URL: `http://127.0.0.1:${port}`,
      CAPSTAN__CORE__LOAD_EXAMPLES: 'false',
      CAPSTAN__CORE__PARALLELISM: '4',
      CAPSTAN__SCHEDULER__LOOP_INTERVAL_MS: '100',
      CAPSTAN__SCHEDULER__HEALTH_PORT: '-1',
      CAPSTAN__DAG_PROCESSOR__REFRESH_INTERVAL_MS: '1000',
      CAPSTAN__TRIGGERER__CAPACITY: String(CAPACITY),
      CAPSTAN__TRIGGERER__LOOP_INTERVAL_MS: '100',
      CAPSTAN__TRIGGERER__HEARTBEAT_INTERVAL_MS: '300',
      CAPSTAN__TRIGGERER__HEALTH_CHECK_THRESHOLD_MS: '2000',
      CAPSTAN__TRIGGERER__HEALTH_PORT: '-1',
      CAPSTAN__LOGGING__LEVEL: 'info',
    };
    await runCapstanCommand(['db', 'migrate'], env);
    db = openMetadataDb(database.url, { poolSize: 2 });
    role('api-server');
    role('dag-processor');
    role('scheduler');
    await pollUntil('the DAG to be parsed', () => getSerializedDag(m(), 'gated').then(() => true), { timeoutMs: 20_000, diagnose });
  });

  after(async () => {
    await killAllRoles();
    if (home) killProcessesOfHome(home);
    await db?.close();
    await database?.drop();
    await stopPostgres();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test('two live triggerers split the triggers; after one is killed a new one takes over its triggers; all tasks resume once', async () => {
    const run = await triggerDagRun(m(), { dagId: 'gated', runId: 'r1' }, Date.now());
    await pollUntil('every task deferred', async () => (await listTaskInstances(m(), { dagId: 'gated', runId: 'r1' })).every((t) => t.state === 'deferred'), { timeoutMs: 45_000, diagnose });
    const a = role('triggerer');
    const b = role('triggerer');
    await pollUntil('every trigger started', () => new Set(starts(log).map(([id]) => id)).size === TASKS, { timeoutMs: 30_000, diagnose });

    // Two live triggerers: each trigger started exactly once, and both took a share (capacity < tasks).
    const before = starts(log);
    const ids = before.map(([id]) => id);
    assert.equal(new Set(ids).size, ids.length, `a trigger was started twice while both triggerers lived: ${JSON.stringify(before)}`);
    const byPid = new Map<number, number[]>();
    for (const [id, pid] of before) byPid.set(pid, [...(byPid.get(pid) ?? []), id]);
    assert.deepEqual([...byPid.keys()].sort(), [a.pid, b.pid].sort(), 'both triggerers run triggers');
    for (const [, owned] of byPid) assert.ok(owned.length <= CAPACITY, `a triggerer runs at most ${CAPACITY} triggers`);

    // Kill A while its tasks are deferred; start C.
    const ofA = byPid.get(a.pid) ?? [];
    const ofB = byPid.get(b.pid) ?? [];
    a.kill('SIGKILL');
    await a.exited;
    const c = role('triggerer');
    await pollUntil('the dead triggerer\'s triggers restarted', () => ofA.every((id) => starts(log).some(([sid, pid]) => sid === id && pid !== a.pid)), { timeoutMs: 30_000, diagnose });
    const afterKill = starts(log).slice(before.length);
    assert.deepEqual(afterKill.map(([id]) => id).sort((x, y) => x - y), [...ofA].sort((x, y) => x - y), 'exactly the dead triggerer\'s triggers were started again, each once');
    for (const [, pid] of afterKill) assert.ok(pid === b.pid || pid === c.pid);
    assert.ok(ofB.every((id) => starts(log).filter(([sid]) => sid === id).length === 1), "the survivor's triggers were not taken from it");

    writeFileSync(gate, 'open');
    await pollUntil('the run to end', async () => ['success', 'failed'].includes((await getDagRun(m(), 'gated', 'r1')).state), { timeoutMs: 45_000, diagnose });
    assert.equal((await getDagRun(m(), 'gated', 'r1')).state, 'success', await diagnose());
    for (const ti of await listTaskInstances(m(), { dagId: 'gated', runId: 'r1' })) {
      assert.equal(ti.try_number, 1);
      assert.deepEqual((await listTries(m(), ti.id)).map((x) => x.state), ['success'], 'resumed once, in its first try');
      const value = (await pullXCom(m(), run.id, ti.task_id, 'return_value', -1)) as { event: { firedBy: number } };
      assert.ok([b.pid, c.pid].includes(value.event.firedBy), 'fired by a live triggerer');
    }
    assert.deepEqual(await m().db.selectFrom('trigger').selectAll().execute(), []);
  });
});
