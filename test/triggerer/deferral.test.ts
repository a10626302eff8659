/**
 * Deferral end to end through real task processes and the in-process triggerer: more tasks deferred at
 * once than `core.parallelism` (their worker slots are free), all resumed — same try — with the trigger's
 * event and their defer() kwargs, XComs pushed before deferring kept; a deferral past its timeout fails
 * the task with the reason; a trigger that throws fails its task; clearing a deferred task cancels its
 * trigger. On SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pullXCom } from '../../src/store/xcom.ts';
import { listTries } from '../../src/store/taskInstances.ts';
import { clearTaskInstances } from '../../src/services/clear.ts';
import { triggererHealthReport } from '../../src/triggerer/index.ts';
import { PoolStore } from '../../src/store/pools.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { stopPostgres } from '../support/postgres.ts';
import { pollUntil } from '../support/roles.ts';

const PARALLELISM = 2;
const WAITERS = 6;

function dagSource(gate: string, triggerModule: string): string {
  return `
import { dag, BaseOperator, FileTrigger, type TaskContext, type JsonValue, type JsonObject } from 'capstan';
import { BrokenTrigger } from ${JSON.stringify(triggerModule)};

class WaitForGate extends BaseOperator {
  readonly operatorName = 'WaitForGate';
  readonly gate: string;
  readonly timeout: string | undefined;
  constructor(o: { taskId: string; gate: string; timeout?: string; pool?: string }) { super(o); this.gate = o.gate; this.timeout = o.timeout; }
  async execute(ctx: TaskContext) {
    await ctx.xcomPush('before', 'pushed before deferring');
    this.defer({ trigger: new FileTrigger({ filepath: this.gate, pokeIntervalMs: 100 }), method: 'afterGate', kwargs: { taskId: ctx.taskId }, ...(this.timeout ? { timeout: this.timeout } : {}) });
  }
  afterGate(ctx: TaskContext, event: JsonValue, kwargs: JsonObject) {
    return { event, kwargs, tryNumber: ctx.tryNumber };
  }
}

class Broken extends BaseOperator {
  readonly operatorName = 'Broken';
  execute() { this.defer({ trigger: new BrokenTrigger({ message: 'the watched thing exploded' }), method: 'never' }); }
  never() { return 'unreachable'; }
}

dag({ dagId: 'many_deferred', schedule: null, maxActiveTasks: 32 }, () => {
  for (let i = 0; i < ${WAITERS}; i++) new WaitForGate({ taskId: 'w' + i, gate: ${JSON.stringify(gate)} });
});
dag({ dagId: 'deferral_timeout', schedule: null }, () => {
  new WaitForGate({ taskId: 'never', gate: ${JSON.stringify(gate + '.never')}, timeout: '1s' });
});
dag({ dagId: 'broken_trigger', schedule: null }, () => { new Broken({ taskId: 'broken' }); });
dag({ dagId: 'pool_deferred', schedule: null }, () => {
  new WaitForGate({ taskId: 'p0', gate: ${JSON.stringify(gate + '.pool')}, pool: 'narrow' });
  new WaitForGate({ taskId: 'p1', gate: ${JSON.stringify(gate + '.pool')}, pool: 'narrow' });
});
dag({ dagId: 'cleared_while_deferred', schedule: null }, () => {
  new WaitForGate({ taskId: 'waiting', gate: ${JSON.stringify(gate + '.cleared')} });
});
`;
}

const BROKEN_TRIGGER = `
import { triggerClasspath, type Trigger, type TriggerEnv, type TriggerEvent, type JsonObject } from 'capstan';
export class BrokenTrigger implements Trigger {
  readonly kwargs: JsonObject;
  constructor(kwargs: JsonObject) { this.kwargs = kwargs; }
  serialize() { return { classpath: triggerClasspath(import.meta.url, 'BrokenTrigger'), kwargs: this.kwargs }; }
  async *run(_signal: AbortSignal, _env: TriggerEnv): AsyncGenerator<TriggerEvent> {
    throw new Error(String(this.kwargs['message']));
  }
}
`;

for (const dialect of (process.env['DEFERRAL_DIALECTS'] ?? 'sqlite,postgres').split(',') as Array<'sqlite' | 'postgres'>) {
  describe(`deferral [${dialect}]`, () => {
    let t: TestEngine;
    let gate: string;
    before(async () => {
      t = await startTestEngine({ dialect, env: { CAPSTAN__CORE__PARALLELISM: String(PARALLELISM), CAPSTAN__LOCAL_EXECUTOR__WARM_PROCESSES: '1' } });
      const lib = join(t.home, 'lib');
      mkdirSync(lib, { recursive: true });
      const triggerModule = join(lib, 'brokenTrigger.ts');
      writeFileSync(triggerModule, BROKEN_TRIGGER);
      gate = join(t.home, 'gate');
      t.writeDag('deferral.ts', dagSource(gate, triggerModule));
      // Created up front: a SQLite scheduler caches the pool list for a second.
      await new PoolStore(t.engine.db).set('narrow', { slots: 1, includeDeferred: true });
      await t.processor.processOnce();
    });
    after(async () => {
      await t.stop();
      await stopPostgres();
    });

    test(`${WAITERS} tasks deferred at once with parallelism ${PARALLELISM}; all resume with the event`, async () => {
      const run = await t.trigger('many_deferred', { runId: 'r1' });
      let maxDeferred = 0;
      await pollUntil(
        'all waiters deferred',
        async () => {
          const states = Object.values(await t.taskStates('many_deferred', 'r1'));
          maxDeferred = Math.max(maxDeferred, states.filter((s) => s === 'deferred').length);
          return maxDeferred === WAITERS;
        },
        { timeoutMs: 45_000, diagnose: async () => `deferred at most ${maxDeferred}: ${JSON.stringify(await t.taskStates('many_deferred', 'r1'))}` },
      );
      assert.ok(maxDeferred > PARALLELISM, `deferred at once (${maxDeferred}) > parallelism (${PARALLELISM})`);
      // Deferred tasks hold no process: the executor's slots all come free while they wait.
      await pollUntil('every executor slot free while the tasks are deferred', () => t.executor.openSlots() === PARALLELISM, {
        timeoutMs: 20_000,
        diagnose: () => `open slots: ${t.executor.openSlots()}`,
      });
      assert.deepEqual(new Set(Object.values(await t.taskStates('many_deferred', 'r1'))), new Set(['deferred']));
      writeFileSync(gate, 'open');
      const done = await t.waitForRun('many_deferred', 'r1', { timeoutMs: 60_000 });
      assert.equal(done.state, 'success', JSON.stringify(await t.taskStates('many_deferred', 'r1')));
      for (let i = 0; i < WAITERS; i++) {
        const value = (await pullXCom(t.engine.db, run.id, 'w' + i, 'return_value', -1)) as { event: { files: string[] }; kwargs: { taskId: string }; tryNumber: number };
        assert.deepEqual(value.event.files, [gate]);
        assert.equal(value.kwargs.taskId, 'w' + i);
        assert.equal(value.tryNumber, 1, 'a resumed deferral continues the same try');
        assert.equal(await pullXCom(t.engine.db, run.id, 'w' + i, 'before', -1), 'pushed before deferring');
      }
      const tis = await t.taskInstances('many_deferred', 'r1');
      for (const ti of tis) {
        assert.equal(ti.try_number, 1);
        assert.equal(ti.next_method, null, 'the finished try no longer resumes');
        assert.deepEqual((await listTries(t.engine.db, ti.id)).map((x) => x.state), ['success']);
      }
      const triggers = await t.engine.db.db.selectFrom('trigger').selectAll().execute();
      assert.deepEqual(triggers, [], 'fired triggers are deleted');
      const fired = (await t.engine.metrics.registry.getSingleMetric('capstan_triggers_fired_total')?.get())?.values[0]?.value ?? 0;
      assert.ok(fired >= WAITERS, `capstan_triggers_fired_total counts the fired triggers (${fired})`);
      const health = await triggererHealthReport(t.engine.db, 30_000, Date.now());
      assert.equal(health.status, 'healthy');
      assert.equal(health.triggerer.alive, 1);
    });

    test('a deferral past its timeout fails the task with the reason', async () => {
      await t.trigger('deferral_timeout', { runId: 'r1' });
      const run = await t.waitForRun('deferral_timeout', 'r1', { timeoutMs: 45_000 });
      assert.equal(run.state, 'failed');
      const [ti] = await t.taskInstances('deferral_timeout', 'r1');
      assert.equal(ti?.state, 'failed');
      assert.match(ti?.failure_reason ?? '', /trigger timeout/);
    });

    test('a trigger that throws fails its task with the error', async () => {
      await t.trigger('broken_trigger', { runId: 'r1' });
      const run = await t.waitForRun('broken_trigger', 'r1', { timeoutMs: 45_000 });
      assert.equal(run.state, 'failed');
      const [ti] = await t.taskInstances('broken_trigger', 'r1');
      assert.match(ti?.failure_reason ?? '', /the trigger failed: the watched thing exploded/);
    });

    test('a pool with includeDeferred counts deferred tasks against its slots; without it they free them', async () => {
      const pools = new PoolStore(t.engine.db);
      await t.trigger('pool_deferred', { runId: 'r1' });
      const states = async () => Object.values(await t.taskStates('pool_deferred', 'r1'));
      await pollUntil('one task deferred', async () => (await states()).includes('deferred'), { timeoutMs: 45_000 });
      const loops = t.scheduler.loops;
      await pollUntil('five more scheduling loops', () => t.scheduler.loops >= loops + 5, { timeoutMs: 20_000 });
      assert.deepEqual((await states()).sort(), ['deferred', 'scheduled'], 'the deferred task holds the only slot');
      await pools.set('narrow', { slots: 1, includeDeferred: false });
      await pollUntil('both deferred', async () => (await states()).every((s) => s === 'deferred'), { timeoutMs: 45_000 });
      writeFileSync(gate + '.pool', 'open');
      assert.equal((await t.waitForRun('pool_deferred', 'r1')).state, 'success');
    });

    test('clearing a deferred task cancels its trigger; the task runs again as a new try', async () => {
      await t.trigger('cleared_while_deferred', { runId: 'r1' });
      const deferredTi = async () => {
        const [ti] = await t.taskInstances('cleared_while_deferred', 'r1');
        return ti?.state === 'deferred' && ti.trigger_id !== null ? ti : undefined;
      };
      const first = await pollUntil('task deferred', deferredTi, { timeoutMs: 45_000 });
      const oldTrigger = Number(first.trigger_id);
      await pollUntil('trigger started', () => (t.triggerer?.runningTriggerIds() ?? []).includes(oldTrigger), { timeoutMs: 20_000 });
      await clearTaskInstances(t.engine.db, { dagId: 'cleared_while_deferred', runId: 'r1' }, Date.now(), 'test');
      await pollUntil('old trigger cancelled', () => !(t.triggerer?.runningTriggerIds() ?? []).includes(oldTrigger), { timeoutMs: 20_000 });
      const second = await pollUntil('task deferred again', async () => {
        const ti = await deferredTi();
        return ti && ti.try_number === 2 ? ti : undefined;
      }, { timeoutMs: 45_000 });
      assert.notEqual(Number(second.trigger_id), oldTrigger, 'the new try defers with a new trigger');
      writeFileSync(gate + '.cleared', 'open');
      const run = await t.waitForRun('cleared_while_deferred', 'r1', { timeoutMs: 45_000 });
      assert.equal(run.state, 'success');
      assert.equal(await t.engine.db.db.selectFrom('trigger').select('id').where('id', '=', oldTrigger).executeTakeFirst(), undefined, 'the old trigger row is gone');
    });
  });
}
