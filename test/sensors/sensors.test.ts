/**
 * Sensors through the whole engine (real task processes, triggerer in process), on SQLite and
 * PostgreSQL: poke mode succeeds once the file appears; reschedule mode is seen `up_for_reschedule` with
 * its worker slot free, keeps its try number across pokes and succeeds later; a timeout fails without
 * using retries; softFail skips; a deferrable TimeDeltaSensor and a deferrable HttpSensor (against a
 * local server that answers 404 first, then a body the responseCheck accepts) succeed.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listTries } from '../../src/store/taskInstances.ts';
import { pullXCom } from '../../src/store/xcom.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { stopPostgres } from '../support/postgres.ts';
import { pollUntil } from '../support/roles.ts';

function dagSource(dir: string, url: string): string {
  const f = (name: string) => JSON.stringify(join(dir, name));
  return `
import { dag, FileSensor, FunctionSensor, HttpSensor, PokeReturnValue, TimeDeltaSensor } from 'capstan';
dag({ dagId: 'poke_mode', schedule: null }, () => {
  new FileSensor({ taskId: 'wait', filepath: ${f('poke.flag')}, pokeInterval: 200, timeout: '60s' });
});
dag({ dagId: 'reschedule_mode', schedule: null }, () => {
  new FileSensor({ taskId: 'wait', filepath: ${f('reschedule.*')}, mode: 'reschedule', pokeInterval: 300, timeout: '60s' });
});
dag({ dagId: 'sensor_timeout', schedule: null }, () => {
  new FileSensor({ taskId: 'wait', filepath: ${f('never.flag')}, mode: 'reschedule', pokeInterval: 200, timeout: 1000, retries: 2, retryDelay: 0 });
});
dag({ dagId: 'sensor_soft_fail', schedule: null }, () => {
  new FileSensor({ taskId: 'wait', filepath: ${f('never.flag')}, pokeInterval: 200, timeout: 600, softFail: true });
});
dag({ dagId: 'function_sensor', schedule: null }, () => {
  new FunctionSensor({ taskId: 'third_time', mode: 'reschedule', pokeInterval: 100, poke: (ctx) => new PokeReturnValue((ctx.rescheduleCount ?? 0) >= 2, { earlierPokes: ctx.rescheduleCount ?? -1 }) });
});
dag({ dagId: 'deferrable_sensors', schedule: null }, () => {
  new TimeDeltaSensor({ taskId: 'settle', delta: '1s' });
  new HttpSensor({
    taskId: 'api_ready', endpoint: ${JSON.stringify(url)}, deferrable: true, pokeInterval: 200, timeout: '60s',
    responseCheck: (r) => (JSON.parse(r.body) as { done: boolean }).done,
  });
});
`;
}

for (const dialect of (process.env['SENSOR_DIALECTS'] ?? 'sqlite,postgres').split(',') as Array<'sqlite' | 'postgres'>) {
  describe(`sensors [${dialect}]`, () => {
    let t: TestEngine;
    let server: Server;
    let hits = 0;
    before(async () => {
      // 404 twice ("not yet"), then 200 with done=false once, then done=true.
      server = createServer((_req, res) => {
        hits++;
        if (hits <= 2) res.writeHead(404).end('not yet');
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ done: hits > 3, hits }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/status`;
      t = await startTestEngine({ dialect, env: { CAPSTAN__CORE__PARALLELISM: '4' } });
      t.writeDag('sensors.ts', dagSource(t.home, url));
      await t.processor.processOnce();
    });
    after(async () => {
      await t.stop();
      server.close();
      await stopPostgres();
    });

    test('poke mode: succeeds once the file appears', async () => {
      await t.trigger('poke_mode', { runId: 'r1' });
      await pollUntil('sensor running', async () => (await t.taskStates('poke_mode', 'r1'))['wait'] === 'running', { timeoutMs: 30_000 });
      writeFileSync(join(t.home, 'poke.flag'), '');
      const run = await t.waitForRun('poke_mode', 'r1');
      assert.equal(run.state, 'success');
    });

    test('reschedule mode: up_for_reschedule between pokes, same try, then success', async () => {
      await t.trigger('reschedule_mode', { runId: 'r1' });
      const waiting = await pollUntil('sensor rescheduled twice', async () => {
        const [ti] = await t.taskInstances('reschedule_mode', 'r1');
        return ti?.state === 'up_for_reschedule' && ti.reschedule_count >= 2 ? ti : undefined;
      }, { timeoutMs: 30_000 });
      assert.equal(waiting.try_number, 1, 'a reschedule does not start a new try');
      assert.ok((waiting.next_retry_at ?? 0) > 0, 'the reschedule date is recorded');
      writeFileSync(join(t.home, 'reschedule.csv'), '');
      const run = await t.waitForRun('reschedule_mode', 'r1');
      assert.equal(run.state, 'success');
      const [ti] = await t.taskInstances('reschedule_mode', 'r1');
      assert.equal(ti?.try_number, 1);
      assert.deepEqual((await listTries(t.engine.db, ti?.id ?? '')).map((x) => x.state), ['success']);
    });

    test('a sensor timeout fails the task without using its retries', async () => {
      await t.trigger('sensor_timeout', { runId: 'r1' });
      const run = await t.waitForRun('sensor_timeout', 'r1');
      assert.equal(run.state, 'failed');
      const [ti] = await t.taskInstances('sensor_timeout', 'r1');
      assert.equal(ti?.state, 'failed');
      assert.equal(ti?.try_number, 1, 'retries are not used after a sensor timeout');
      assert.match(ti?.failure_reason ?? '', /sensor timed out/);
    });

    test('softFail: a timeout skips the task', async () => {
      await t.trigger('sensor_soft_fail', { runId: 'r1' });
      await t.waitForRun('sensor_soft_fail', 'r1');
      const [ti] = await t.taskInstances('sensor_soft_fail', 'r1');
      assert.equal(ti?.state, 'skipped');
      assert.match(ti?.failure_reason ?? '', /softFail/);
    });

    test('FunctionSensor: its poke sees the earlier pokes of the try; the PokeReturnValue is pushed', async () => {
      const dagRun = await t.trigger('function_sensor', { runId: 'r1' });
      assert.equal((await t.waitForRun('function_sensor', 'r1')).state, 'success');
      assert.deepEqual(await pullXCom(t.engine.db, dagRun.id, 'third_time', 'return_value', -1), { earlierPokes: 2 });
    });

    test('deferrable TimeDeltaSensor and HttpSensor (404 = not yet, responseCheck re-defers) succeed', async () => {
      hits = 0;
      const dagRun = await t.trigger('deferrable_sensors', { runId: 'r1' });
      const run = await t.waitForRun('deferrable_sensors', 'r1');
      assert.equal(run.state, 'success', JSON.stringify(await t.taskStates('deferrable_sensors', 'r1')));
      assert.ok(hits >= 4, `the endpoint was polled until done (${hits} requests)`);
      const value = (await pullXCom(t.engine.db, dagRun.id, 'api_ready', 'return_value', -1)) as { status: number; body: string };
      assert.equal(value.status, 200);
      assert.equal((JSON.parse(value.body) as { done: boolean }).done, true);
      for (const ti of await t.taskInstances('deferrable_sensors', 'r1')) assert.equal(ti.try_number, 1);
    });
  });
}
