/**
 * Backfill through the real scheduler and LocalExecutor on both databases: 30 daily runs to success
 * with the backfill's own max-active-runs (observed from the runs' recorded start/end dates, not from
 * timing) independent of the DAG's; existing runs skipped, --rerun-failed and --reset-dagruns re-running
 * them; bad requests refused with clear errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiV2Client } from '../../src/api/public/v2/client/index.ts';
import { backfillProgress, cancelBackfill, createBackfill, parseBackfillDate, RunStartGate, setBackfillPaused, type BackfillProgress } from '../../src/services/backfill.ts';
import { markDagRun } from '../../src/services/mark.ts';
import { getDagRun } from '../../src/store/dagRuns.ts';
import type { DagRunRow } from '../../src/store/schema.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { stopPostgres } from '../support/postgres.ts';

const DAG = `
import { BashOperator, dag } from 'capstan';
export default dag({ dagId: 'daily_etl', schedule: '@daily', startDate: '2024-01-01', catchup: false, maxActiveRuns: 1 }, () => {
  new BashOperator({ taskId: 'load', bashCommand: 'echo "loading {{ ds }} ({{ dag_run.run_type }})"' });
});
export const manual = dag({ dagId: 'manual_only', schedule: null }, () => {
  new BashOperator({ taskId: 'noop', bashCommand: 'true' });
});
`;

const day = (d: string) => parseBackfillDate(d, 'date');

/** The most runs that were running at one instant, from their recorded start and end dates. */
function maxOverlap(runs: DagRunRow[]): number {
  // An end at the same millisecond as a start counts first: the scheduler starts a run only after another ended.
  const events = runs.flatMap((r) => [
    { at: r.start_date ?? 0, delta: 1 },
    { at: r.end_date ?? Number.MAX_SAFE_INTEGER, delta: -1 },
  ]);
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let now = 0;
  let max = 0;
  for (const e of events) max = Math.max(max, (now += e.delta));
  return max;
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`backfill [${dialect}]`, () => {
    let t: TestEngine;
    before(async () => {
      t = await startTestEngine({ dialect, dags: { 'daily.ts': DAG }, env: { CAPSTAN__CORE__PARALLELISM: '8' } });
    });
    after(async () => {
      await t.stop();
    });

    const finish = async (id: number): Promise<BackfillProgress> => {
      t.scheduler.wake();
      const deadline = Date.now() + 45_000;
      for (;;) {
        const p = await backfillProgress(t.engine.db, id, Date.now());
        if (p.complete) return p;
        if (Date.now() > deadline) throw new Error(`backfill ${id} did not finish: ${JSON.stringify(p.runs)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const backfillRuns = () => t.engine.db.db.selectFrom('dag_run').selectAll().where('dag_id', '=', 'daily_etl').where('run_type', '=', 'backfill').orderBy('logical_date').execute();

    test('30 daily runs succeed, at most 3 at once (the backfill’s limit, not the DAG’s maxActiveRuns of 1)', async () => {
      const created = await createBackfill(t.engine.db, { dagId: 'daily_etl', from: day('2025-01-01'), to: day('2025-01-30'), maxActiveRuns: 3 }, Date.now(), 'test');
      assert.equal(created.plan.length, 30);
      assert.ok(created.plan.every((p) => p.action.kind === 'create'));
      assert.equal(created.plan[0]?.runId, 'backfill__2025-01-01T00:00:00+00:00');
      const p = await finish(created.backfill?.id ?? -1);
      assert.deepEqual(p.runs, { total: 30, queued: 0, running: 0, success: 30, failed: 0 });
      assert.deepEqual(p.tasks, { done: 30, total: 30 });
      assert.notEqual(p.backfill.completedAt, null);
      const runs = await backfillRuns();
      assert.equal(runs.length, 30);
      assert.deepEqual(
        runs.map((r) => [r.logical_date, r.data_interval_end]),
        Array.from({ length: 30 }, (_, i) => [day('2025-01-01') + i * 86_400_000, day('2025-01-02') + i * 86_400_000]),
      );
      assert.equal(maxOverlap(runs), 3, 'three backfill runs ran at once, never more');
      const ti = (await t.taskInstances('daily_etl', 'backfill__2025-01-15T00:00:00+00:00'))[0];
      assert.equal(ti?.state, 'success');
    });

    test('existing runs are skipped; --rerun-failed re-runs only the failed one; --reset-dagruns re-runs finished ones', async () => {
      const again = await createBackfill(t.engine.db, { dagId: 'daily_etl', from: day('2025-01-01'), to: day('2025-01-03') }, Date.now(), 'test');
      assert.deepEqual(again.plan.map((p) => p.action), Array(3).fill({ kind: 'skip', reason: 'already_exists', existingState: 'success' }));
      assert.equal((await backfillProgress(t.engine.db, again.backfill?.id ?? -1, Date.now())).skipped, 3);

      await markDagRun(t.engine.db, { dagId: 'daily_etl', runId: 'backfill__2025-01-02T00:00:00+00:00', state: 'failed' }, Date.now(), 'test');
      const failedOnly = await createBackfill(t.engine.db, { dagId: 'daily_etl', from: day('2025-01-01'), to: day('2025-01-03'), reprocess: 'failed' }, Date.now(), 'test');
      assert.deepEqual(failedOnly.plan.map((p) => p.action.kind), ['skip', 'rerun', 'skip']);
      assert.deepEqual((await finish(failedOnly.backfill?.id ?? -1)).runs, { total: 1, queued: 0, running: 0, success: 1, failed: 0 });
      const rerun = await getDagRun(t.engine.db, 'daily_etl', 'backfill__2025-01-02T00:00:00+00:00');
      assert.deepEqual([rerun.state, rerun.clear_number], ['success', 1]);

      const reset = await createBackfill(t.engine.db, { dagId: 'daily_etl', from: day('2025-01-01'), to: day('2025-01-02'), reprocess: 'completed', dryRun: true }, Date.now(), 'test');
      assert.equal(reset.backfill, null, 'a dry run creates nothing');
      assert.deepEqual(reset.plan.map((p) => p.action), [{ kind: 'rerun', previousState: 'success' }, { kind: 'rerun', previousState: 'success' }]);
      const real = await createBackfill(t.engine.db, { dagId: 'daily_etl', from: day('2025-01-01'), to: day('2025-01-02'), reprocess: 'completed' }, Date.now(), 'test');
      assert.equal((await finish(real.backfill?.id ?? -1)).runs.success, 2);
      const first = await getDagRun(t.engine.db, 'daily_etl', 'backfill__2025-01-01T00:00:00+00:00');
      assert.deepEqual([first.state, first.clear_number], ['success', 1]);
      const ti = (await t.taskInstances('daily_etl', first.run_id))[0];
      assert.deepEqual([ti?.state, ti?.try_number], ['success', 2], 'the reset run ran its task again');
    });

    test('two backfills of one range at once: every date gets exactly one run; the other backfill skips it', async () => {
      const req = { dagId: 'daily_etl', from: day('2025-04-01'), to: day('2025-04-04') };
      const [one, two] = await Promise.all([createBackfill(t.engine.db, req, Date.now(), 'a'), createBackfill(t.engine.db, req, Date.now(), 'b')]);
      const created = [...(one.plan ?? []), ...(two.plan ?? [])].filter((p) => p.action.kind === 'create').map((p) => p.logicalDate);
      assert.deepEqual(created.sort(), [day('2025-04-01'), day('2025-04-02'), day('2025-04-03'), day('2025-04-04')]);
      const skipped = [...one.plan, ...two.plan].filter((p) => p.action.kind === 'skip');
      assert.equal(skipped.length, 4);
      const [p1, p2] = [await finish(one.backfill?.id ?? -1), await finish(two.backfill?.id ?? -1)];
      assert.equal(p1.runs.success + p2.runs.success, 4);
      assert.equal(p1.skipped + p2.skipped, 4);
    });

    test('pause holds a backfill’s queued runs (unpause lets them run); cancel fails the queued ones and ends it', async () => {
      const created = await createBackfill(t.engine.db, { dagId: 'daily_etl', from: day('2025-05-01'), to: day('2025-05-04'), maxActiveRuns: 2 }, Date.now(), 'test');
      const id = created.backfill?.id ?? -1;
      const paused = await setBackfillPaused(t.engine.db, id, true, Date.now(), 'alice');
      assert.equal(paused.isPaused, true);
      const queuedOf = async () => {
        const runIds = (await t.engine.db.db.selectFrom('backfill_dag_run').select('dag_run_id').where('backfill_id', '=', id).execute()).map((l) => Number(l.dag_run_id));
        return t.engine.db.db.selectFrom('dag_run').selectAll().where('id', 'in', runIds).where('state', '=', 'queued').execute();
      };
      const queued = await queuedOf();
      assert.ok(queued.length >= 2, 'at most the runs started before the pause have left the queue');
      const gate = await RunStartGate.load(t.engine.db, queued);
      assert.deepEqual(queued.map((r) => gate.mayStart(r, 16)), queued.map(() => false), 'the scheduler starts none of a paused backfill’s runs');
      await setBackfillPaused(t.engine.db, id, false, Date.now(), 'alice');
      // Unpaused, its runs start again: all four end. (Not checked through the gate at this instant: the runs that
      // the scheduler, woken by the runs' creation, started before the pause may fill the backfill's two slots.)
      assert.equal((await finish(id)).runs.success, 4, 'unpaused, its runs may start again');
      await assert.rejects(setBackfillPaused(t.engine.db, id, true, Date.now(), 'alice'), /has ended/);

      const other = await createBackfill(t.engine.db, { dagId: 'daily_etl', from: day('2025-06-01'), to: day('2025-06-05'), maxActiveRuns: 1 }, Date.now(), 'test');
      const otherId = other.backfill?.id ?? -1;
      const cancelled = await cancelBackfill(t.engine.db, otherId, Date.now(), 'bob');
      assert.deepEqual([cancelled.isPaused, cancelled.completedAt !== null], [true, true]);
      const p = await finish(otherId);
      assert.equal(p.runs.queued, 0);
      assert.ok(p.runs.failed >= 4, `the queued runs were failed: ${JSON.stringify(p.runs)}`);
      assert.equal(p.runs.success + p.runs.failed, 5, 'a run already started when cancelled ran to its end');
      await assert.rejects(cancelBackfill(t.engine.db, otherId, Date.now(), 'bob'), /already ended/);
      const audit = await t.engine.db.db.selectFrom('audit_log').select(['event', 'actor']).where('event', 'like', 'backfill.%').orderBy('id').execute();
      assert.deepEqual(audit.map((e) => `${e.event}:${e.actor}`), ['backfill.pause:alice', 'backfill.unpause:alice', 'backfill.cancel:bob']);
    });

    test('REST (API v2): POST /backfills/dryRun, then POST /backfills for real, GET its progress and the list; bad bodies are 400 naming the field', async () => {
      const api = apiV2Client({ baseUrl: t.api.url, token: t.adminToken });
      const dry = await api.call('post', '/backfills/dryRun', { body: { dagId: 'daily_etl', fromDate: '2025-02-01', toDate: '2025-02-02' } });
      assert.equal(dry.status, 200, JSON.stringify(dry.error));
      assert.deepEqual(dry.data?.plan, [
        { logicalDate: '2025-02-01T00:00:00.000Z', dataIntervalEnd: '2025-02-02T00:00:00.000Z', dagRunId: 'backfill__2025-02-01T00:00:00+00:00', action: 'create' },
        { logicalDate: '2025-02-02T00:00:00.000Z', dataIntervalEnd: '2025-02-03T00:00:00.000Z', dagRunId: 'backfill__2025-02-02T00:00:00+00:00', action: 'create' },
      ]);
      const created = await api.call('post', '/backfills', { body: { dagId: 'daily_etl', fromDate: '2025-02-01', toDate: '2025-02-02', maxActiveRuns: 1 } });
      assert.equal(created.status, 201, JSON.stringify(created.error));
      const backfill = created.data?.backfill;
      assert.ok(backfill);
      assert.deepEqual([backfill.dagId, backfill.maxActiveRuns, backfill.reprocessBehavior], ['daily_etl', 1, 'none']);
      await finish(backfill.id);
      const got = await api.call('get', '/backfills/{backfillId}', { path: { backfillId: backfill.id } });
      assert.deepEqual([got.data?.runs.success, got.data?.complete], [2, true]);
      const list = await api.call('get', '/backfills', { query: { dagId: 'daily_etl' } });
      assert.equal(list.data?.backfills[0]?.id, backfill.id);
      const bad = await api.call('post', '/backfills', { body: { dagId: 'daily_etl', fromDate: '2025-02-30', toDate: '2025-03-01' } });
      assert.equal(bad.status, 400);
      assert.match(bad.error?.error.message ?? '', /fromDate '2025-02-30' is not a date/);
      const unknownValue = await api.call('post', '/backfills', { body: { dagId: 'daily_etl', fromDate: '2025-02-01', toDate: '2025-02-02', reprocessBehavior: 'sometimes' as 'none' } });
      assert.equal(unknownValue.status, 400);
      assert.equal(unknownValue.error?.error.field, 'reprocessBehavior');
      assert.equal((await api.call('get', '/backfills/{backfillId}', { path: { backfillId: 999 } })).status, 404);
    });

    test('bad requests are refused with clear errors', async () => {
      const now = Date.now();
      const req = (over: object) => createBackfill(t.engine.db, { dagId: 'daily_etl', from: day('2025-03-01'), to: day('2025-03-02'), ...over }, now, 'test');
      await assert.rejects(req({ from: day('2025-03-05') }), /the start 2025-03-05T00:00:00.000Z is after the end 2025-03-02T00:00:00.000Z/);
      await assert.rejects(req({ maxActiveRuns: 0 }), /max active runs must be a whole number ≥ 1, not 0/);
      await assert.rejects(req({ from: now + 86_400_000 * 10, to: now + 86_400_000 * 20 }), /contains only intervals that have not ended yet/);
      await assert.rejects(req({ dagId: 'manual_only' }), /DAG 'manual_only' has no time-based schedule/);
      await assert.rejects(req({ dagId: 'nope' }), (err: Error & { code?: string }) => err.code === 'not_found');
      assert.throws(() => parseBackfillDate('2025-02-30', '--start'), /--start '2025-02-30' is not a date/);
      assert.throws(() => parseBackfillDate('yesterday', '--end'), /--end 'yesterday' is not a date/);
      assert.equal((await t.engine.db.db.selectFrom('backfill').select('id').where('from_date', '=', day('2025-03-01')).execute()).length, 0, 'nothing recorded');
    });
  });
}

after(() => stopPostgres());
