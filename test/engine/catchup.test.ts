/**
 * Scheduled run creation with a fixed clock (the scheduler's `createDueRuns`), on both databases: a cron
 * DAG with catchup gets exactly one run per missed interval with the right data intervals and logical
 * dates, also when maxActiveRuns makes it catch up in batches; without catchup only the latest interval;
 * nothing before startDate or after endDate; `@once` once; a paused DAG nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { forEachDialect } from '../support/dialects.ts';
import { createDueRuns } from '../../src/scheduler/runCreation.ts';
import { dag, type DagOptions } from '../../src/sdk/dag.ts';
import { BashOperator } from '../../src/sdk/bash.ts';
import { takeDefinedDags } from '../../src/sdk/authoring.ts';
import { setPaused, upsertSerializedDag } from '../../src/store/dags.ts';
import { transitionDagRun } from '../../src/store/dagRuns.ts';
import type { MetadataDb } from '../../src/store/db.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const logger = pino({ level: 'silent' });
const H = 3_600_000;
const at = (iso: string) => Date.parse(iso);
/** Three days after the start date below, plus three hours (inside the 13th interval, not past it). */
const NOW = at('2026-01-04T03:00:00Z');
const START = '2026-01-01T00:00:00Z';

async function store(m: MetadataDb, options: DagOptions): Promise<void> {
  const d = dag({ maxActiveRuns: 16, ...options }, () => {
    new BashOperator({ taskId: 'work', bashCommand: 'true' });
  });
  takeDefinedDags();
  await upsertSerializedDag(m, d.serialize(`/dags/${options.dagId}.ts`), NOW - H);
}

async function runsOf(m: MetadataDb, dagId: string) {
  return m.db.selectFrom('dag_run').selectAll().where('dag_id', '=', dagId).orderBy('logical_date').execute();
}

/** Intervals as readable [start, end] pairs. */
async function intervals(m: MetadataDb, dagId: string): Promise<Array<[string, string]>> {
  return (await runsOf(m, dagId)).map((r) => [new Date(r.data_interval_start ?? 0).toISOString(), new Date(r.data_interval_end ?? 0).toISOString()]);
}

/** Every 6 h interval from `from` while its end is ≤ `until`. */
function sixHourly(from: string, until: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let s = at(from); s + 6 * H <= at(until); s += 6 * H) out.push([new Date(s).toISOString(), new Date(s + 6 * H).toISOString()]);
  return out;
}

forEachDialect('catchup', (t) => {
  test("catchup=true: '0 */6 * * *' from 3 days ago creates exactly 12 runs, one per interval", async () => {
    await store(t.db, { dagId: 'cu', schedule: '0 */6 * * *', startDate: START, catchup: true });
    await createDueRuns(t.db, NOW, logger);
    const runs = await runsOf(t.db, 'cu');
    assert.equal(runs.length, 12);
    assert.deepEqual(await intervals(t.db, 'cu'), sixHourly(START, '2026-01-04T00:00:00Z'));
    for (const r of runs) {
      assert.equal(r.logical_date, r.data_interval_start);
      assert.equal(r.run_type, 'scheduled');
      assert.equal(r.state, 'queued');
      assert.equal(r.run_id, `scheduled__${new Date(r.logical_date ?? 0).toISOString().replace('.000Z', '+00:00')}`);
    }
    // Nothing more is due at the same instant; the next interval is created once it has ended.
    await createDueRuns(t.db, NOW, logger);
    assert.equal((await runsOf(t.db, 'cu')).length, 12);
    await createDueRuns(t.db, at('2026-01-04T06:00:00Z'), logger);
    assert.deepEqual((await intervals(t.db, 'cu')).at(-1), ['2026-01-04T00:00:00.000Z', '2026-01-04T06:00:00.000Z']);
    assert.equal((await runsOf(t.db, 'cu')).length, 13);
    await setPaused(t.db, 'cu', true);
  });

  test('catchup with maxActiveRuns=5 catches up in batches: still 12 runs, contiguous, none twice', async () => {
    await store(t.db, { dagId: 'cu_batches', schedule: '0 */6 * * *', startDate: START, catchup: true, maxActiveRuns: 5 });
    const batches: number[] = [];
    for (let i = 0; i < 5; i++) {
      await createDueRuns(t.db, NOW, logger);
      const runs = await runsOf(t.db, 'cu_batches');
      const active = runs.filter((r) => r.state === 'queued' || r.state === 'running');
      assert.ok(active.length <= 5, `${active.length} active runs`);
      batches.push(runs.length);
      for (const r of active) await transitionDagRun(t.db, r.id, ['queued'], 'success', NOW);
    }
    assert.deepEqual(batches, [5, 10, 12, 12, 12]);
    assert.deepEqual(await intervals(t.db, 'cu_batches'), sixHourly(START, '2026-01-04T00:00:00Z'));
    await setPaused(t.db, 'cu_batches', true);
  });

  test('catchup=false creates only the latest complete interval, then keeps to the latest', async () => {
    await store(t.db, { dagId: 'no_cu', schedule: '0 */6 * * *', startDate: START, catchup: false });
    await createDueRuns(t.db, NOW, logger);
    await createDueRuns(t.db, NOW, logger);
    assert.deepEqual(await intervals(t.db, 'no_cu'), [['2026-01-03T18:00:00.000Z', '2026-01-04T00:00:00.000Z']]);
    // Two intervals later, the one in between is not made up.
    await createDueRuns(t.db, at('2026-01-04T13:00:00Z'), logger);
    assert.deepEqual(await intervals(t.db, 'no_cu'), [
      ['2026-01-03T18:00:00.000Z', '2026-01-04T00:00:00.000Z'],
      ['2026-01-04T06:00:00.000Z', '2026-01-04T12:00:00.000Z'],
    ]);
    await setPaused(t.db, 'no_cu', true);
  });

  test('no run covers time before startDate; a startDate between ticks starts at the next tick', async () => {
    await store(t.db, { dagId: 'late_start', schedule: '0 */6 * * *', startDate: '2026-01-01T01:30:00Z', catchup: true });
    await createDueRuns(t.db, NOW, logger);
    assert.deepEqual(await intervals(t.db, 'late_start'), sixHourly('2026-01-01T06:00:00Z', '2026-01-04T00:00:00Z'));
    assert.equal((await runsOf(t.db, 'late_start')).length, 11);
    await setPaused(t.db, 'late_start', true);
  });

  test('no run starts after endDate (Airflow: an interval starting at endDate still runs)', async () => {
    await store(t.db, { dagId: 'ends', schedule: '0 */6 * * *', startDate: START, endDate: '2026-01-02T00:00:00Z', catchup: true });
    await createDueRuns(t.db, NOW, logger);
    await createDueRuns(t.db, at('2026-01-10T00:00:00Z'), logger);
    const runs = await runsOf(t.db, 'ends');
    assert.deepEqual(await intervals(t.db, 'ends'), sixHourly(START, '2026-01-02T06:00:00Z'));
    for (const r of runs) assert.ok((r.logical_date ?? Infinity) <= at('2026-01-02T00:00:00Z'));
    assert.equal(runs.length, 5);
    await setPaused(t.db, 'ends', true);
  });

  test('@once creates one run, ever', async () => {
    await store(t.db, { dagId: 'once', schedule: '@once', startDate: START, catchup: true });
    await createDueRuns(t.db, NOW, logger);
    await createDueRuns(t.db, NOW + 24 * H, logger);
    const runs = await runsOf(t.db, 'once');
    assert.equal(runs.length, 1);
    assert.equal(runs[0]?.logical_date, at(START));
    await setPaused(t.db, 'once', true);
  });

  test('a paused DAG creates no runs, and catches up from where it was once unpaused', async () => {
    await store(t.db, { dagId: 'paused', schedule: '0 */6 * * *', startDate: START, catchup: true, isPausedUponCreation: true });
    await createDueRuns(t.db, NOW, logger);
    assert.equal((await runsOf(t.db, 'paused')).length, 0);
    await setPaused(t.db, 'paused', false);
    await createDueRuns(t.db, NOW, logger);
    assert.equal((await runsOf(t.db, 'paused')).length, 12);
    await setPaused(t.db, 'paused', true);
    await createDueRuns(t.db, NOW + 24 * H, logger);
    assert.equal((await runsOf(t.db, 'paused')).length, 12);
  });
});

describe('catchup through the running scheduler [sqlite]', () => {
  let t: TestEngine;
  const SIX_H = 6 * H;
  /** The 6-hour boundary three days before the test started. */
  const start = Math.floor(Date.now() / SIX_H) * SIX_H - 12 * SIX_H;
  before(async () => {
    t = await startTestEngine({
      dags: {
        'cu.ts': `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'live_cu', schedule: '0 */6 * * *', startDate: new Date(${start}), catchup: true, maxActiveRuns: 16 }, () => {
  new BashOperator({ taskId: 'work', bashCommand: 'echo "$CAPSTAN_CTX_LOGICAL_DATE"' });
});
`,
      },
    });
  });
  after(async () => {
    await t.stop();
  });

  test('the scheduler creates the 12 missed runs on its own and runs each to success', async () => {
    const deadline = Date.now() + 60_000;
    let runs = await runsOf(t.engine.db, 'live_cu');
    while (runs.length < 12 || runs.some((r) => r.state !== 'success')) {
      if (Date.now() > deadline) throw new Error(`runs: ${runs.map((r) => `${r.run_id}=${r.state}`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
      runs = await runsOf(t.engine.db, 'live_cu');
    }
    // One more only if a 6-hour boundary passed while the test ran.
    const expected = 12 + Math.floor(Date.now() / SIX_H) - Math.floor((start + 12 * SIX_H) / SIX_H);
    assert.equal(runs.length, expected);
    assert.deepEqual(
      runs.slice(0, 12).map((r) => r.logical_date),
      Array.from({ length: 12 }, (_, i) => start + i * SIX_H),
    );
  });
});
