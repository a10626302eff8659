/**
 * A try whose heartbeats reach no API server for longer than the scheduler's zombie threshold stops its task
 * (as Airflow's supervisor does after failed heartbeats): the scheduler takes such a try for lost and runs it
 * again, so running on would do the work twice, and a try whose scheduler and API server died for good (a
 * killed standalone) would otherwise run on unwatched for as long as its code does. A real task process of the
 * LocalExecutor; the API server is closed under it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const DAGS = `
import { writeFileSync } from 'node:fs';
import { dag, task, getCurrentContext } from 'capstan';

// Waits for two minutes unless the try is stopped; says how it ended in the file named by the run's conf.
const wait = task({ taskId: 'wait', retries: 0 }, async () => {
  const ctx = getCurrentContext();
  const stopped = await new Promise<boolean>((resolve) => {
    ctx.signal.addEventListener('abort', () => resolve(true), { once: true });
    setTimeout(() => resolve(false), 120_000).unref();
  });
  const reason = ctx.signal.reason instanceof Error ? ctx.signal.reason.message : String(ctx.signal.reason);
  writeFileSync(String(ctx.params['marker']), stopped ? 'stopped: ' + reason : 'ran to the end');
});

export default dag({ dagId: 'heartbeat_loss', schedule: null, params: { marker: '' } }, () => {
  wait();
});
`;

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

void describe('a try that loses its API server', () => {
  let t: TestEngine;
  const dir = mkdtempSync(join(tmpdir(), 'capstan-heartbeat-loss-'));

  before(async () => {
    t = await startTestEngine({
      dags: { 'heartbeat_loss.ts': DAGS },
      env: {
        // Heartbeats every second, a 3 s threshold; the scheduler's own zombie sweep is kept out of the way, so
        // only the task process's judgement can stop the task.
        CAPSTAN__SCHEDULER__TASK_HEARTBEAT_TIMEOUT_MS: '3000',
        CAPSTAN__SCHEDULER__ZOMBIE_CHECK_INTERVAL_MS: '600000',
        CAPSTAN__LOCAL_EXECUTOR__REUSE_PROCESSES: 'false',
      },
    });
  });

  after(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  void test('stops its task once no heartbeat has reached an API server for longer than the zombie threshold', async () => {
    const marker = join(dir, 'ended');
    const run = await t.trigger('heartbeat_loss', { conf: { marker } });
    await until('the task to run', async () => ((await t.taskStates('heartbeat_loss', run.run_id))['wait'] === 'running' ? true : undefined), 60_000);
    // Let a heartbeat or two through first: the threshold counts from the last one answered.
    await new Promise((r) => setTimeout(r, 1500));
    await t.api.close();

    const ended = await until('the task to end', () => (existsSync(marker) ? readFileSync(marker, 'utf8') : undefined), 60_000);
    assert.match(ended, /^stopped: task stopped: its heartbeats reached no API server for \d+ s \(scheduler\.taskHeartbeatTimeoutMs is 3 s\)$/);
  });
});
