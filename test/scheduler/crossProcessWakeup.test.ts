/**
 * Cross-process wake-ups on PostgreSQL: a scheduler whose poll interval is 30 s starts a run triggered on
 * another connection at once — only the NOTIFY sent by the trigger's transaction can explain that — also
 * after its listening connection was terminated by the server; a rolled-back trigger notifies no one; a
 * burst of notifications costs a few loop passes, not one each.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { triggerDagRun } from '../../src/services/triggerRun.ts';
import { createDagRun, getDagRun, listDagRuns } from '../../src/store/dagRuns.ts';
import { getSerializedDag } from '../../src/store/dags.ts';
import { openMetadataDb, type MetadataDb } from '../../src/store/db.ts';
import { LISTENER_APPLICATION_NAME, listenForChanges } from '../../src/store/notifications.ts';
import { listTaskInstances } from '../../src/store/taskInstances.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { stopPostgres } from '../support/postgres.ts';
import { pollUntil } from '../support/roles.ts';

const DAG = `
import { dag, EmptyOperator } from 'capstan';
export default dag({ dagId: 'woken', schedule: null, maxActiveRuns: 16 }, () => {
  new EmptyOperator({ taskId: 'only' });
});
`;
/** Far longer than any wait below: a run that starts promptly was started by a notification. */
const POLL_MS = 30_000;
const PROMPT_MS = 20_000;

void describe('scheduler woken across processes [postgres]', () => {
  let t: TestEngine;
  /** Another pool on the same database: the "other process" that triggers runs. */
  let other: MetadataDb;
  let admin: pg.Client;
  let n = 0;

  before(async () => {
    t = await startTestEngine({
      dialect: 'postgres',
      dags: { 'woken.ts': DAG },
      triggerer: false,
      env: { CAPSTAN__SCHEDULER__LOOP_INTERVAL_MS: String(POLL_MS), CAPSTAN__LOCAL_EXECUTOR__WARM_PROCESSES: '0' },
    });
    other = openMetadataDb(t.engine.db.url, { poolSize: 2 });
    admin = new pg.Client({ connectionString: t.engine.db.url });
    await admin.connect();
  });

  after(async () => {
    await admin?.end();
    await other?.close();
    await t?.stop();
    await stopPostgres();
  });

  /** The backend pid of the scheduler's listening connection once it has LISTENed (and is not `not`). */
  const listenerPid = (not?: number): Promise<number> =>
    pollUntil(
      'the scheduler listening on its own connection',
      async () => {
        const r = await admin.query<{ pid: number }>(
          `select pid from pg_stat_activity where datname = current_database() and application_name = $1 and query ilike 'LISTEN%' and state = 'idle'`,
          [LISTENER_APPLICATION_NAME],
        );
        return r.rows.map((row) => row.pid).find((pid) => pid !== not);
      },
      { timeoutMs: 20_000, intervalMs: 20 },
    );

  /** Wait until the loop has finished a pass after `loops` and sleeps on its 30 s poll. */
  const passedAfter = (loops: number) => pollUntil('a scheduler loop pass', () => t.scheduler.loops > loops, { timeoutMs: PROMPT_MS, intervalMs: 20 });

  /** Trigger a run on the other connection and wait (well under the poll interval) until its task was queued. */
  async function triggerAndSeeItStart(): Promise<string> {
    const runId = `r${++n}`;
    const before = t.scheduler.loops;
    await triggerDagRun(other, { dagId: 'woken', runId }, Date.now());
    await pollUntil(
      `run ${runId} started by the scheduler well before its ${POLL_MS} ms poll`,
      async () => {
        const [ti] = await listTaskInstances(other, { dagId: 'woken', runId });
        return (await getDagRun(other, 'woken', runId)).state !== 'queued' && ti !== undefined && ti.queued_at !== null;
      },
      { timeoutMs: PROMPT_MS, intervalMs: 20, diagnose: async () => `run is ${(await getDagRun(other, 'woken', runId)).state}` },
    );
    // The pass that started it ends (loops counts ended passes).
    await passedAfter(before);
    await t.waitForRun('woken', runId, { timeoutMs: 60_000 });
    return runId;
  }

  test('a run triggered on another connection starts without waiting for the poll', async () => {
    await listenerPid();
    await passedAfter(0);
    const runId = await triggerAndSeeItStart();
    assert.equal((await getDagRun(other, 'woken', runId)).state, 'success');
  });

  test('the listener reconnects after its backend is terminated, and still wakes the loop', async () => {
    const first = await listenerPid();
    const loops = t.scheduler.loops;
    const r = await admin.query<{ ok: boolean }>('select pg_terminate_backend($1) as ok', [first]);
    assert.equal(r.rows[0]?.ok, true);
    const second = await listenerPid(first);
    assert.notEqual(second, first);
    // Reconnecting wakes the loop once by itself (what was sent meanwhile is lost); let that pass end first.
    await passedAfter(loops);
    await triggerAndSeeItStart();
  });

  test('a rolled-back trigger notifies no one', async () => {
    const seen: string[] = [];
    let arrived: () => void = () => {};
    const first = new Promise<void>((resolve) => (arrived = resolve));
    const listener = listenForChanges(
      other,
      {
        runQueued: (id) => {
          seen.push(`run ${id}`);
          arrived();
        },
        tiChanged: () => undefined,
        reconnected: () => undefined,
      },
      pino({ level: 'silent' }),
    );
    try {
      await listener.ready;
      const dag = await getSerializedDag(other, 'woken');
      const twice = { ...dag, tasks: [...dag.tasks, ...dag.tasks] };
      // The task instances' unique key fails after the run row (and its NOTIFY) were written: all rolled back.
      const run = { dagId: 'woken', runId: 'rolled_back', runType: 'manual' as const, logicalDate: null, dataIntervalStart: null, dataIntervalEnd: null, conf: {} };
      await assert.rejects(createDagRun(other, run, twice, Date.now()), /already has a run/);
      assert.equal((await listDagRuns(other, { dagId: 'woken' })).some((r) => r.run_id === 'rolled_back'), false);
      // Notifications arrive in commit order: if the rolled-back insert had sent one, it would come first.
      const committed = await createDagRun(other, { ...run, runId: `r${++n}` }, dag, Date.now());
      await first;
      assert.deepEqual(seen, [`run ${committed.id}`]);
      await t.waitForRun('woken', committed.run_id, { timeoutMs: 60_000 });
    } finally {
      await listener.close();
    }
  });

  test('a burst of notifications costs a few loop passes, not one each', async () => {
    await listenerPid();
    const loops = t.scheduler.loops;
    await admin.query(`select pg_notify('capstan_ti_changed', i::text) from generate_series(1000000, 1000999) as i`);
    // The run comes after the burst on the same connection: once it has started, the burst was handled.
    await triggerAndSeeItStart();
    const passes = t.scheduler.loops - loops;
    assert.ok(passes < 100, `1,000 notifications and one run led to ${passes} loop passes`);
  });
});
