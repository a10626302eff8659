/**
 * `capstan dags backfill` as a child process against a running engine (its scheduler executes the
 * runs), on SQLite and PostgreSQL: progress while --wait, JSON output, dry run with --reset-dagruns,
 * a failing backfill exiting 1, list-backfills, and bad input.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { stopPostgres } from '../support/postgres.ts';
import { runCapstan, type CliResult } from './capstan.ts';

const DAGS = `
import { BashOperator, dag } from 'capstan';
export default dag({ dagId: 'hourly', schedule: '@hourly', startDate: '2024-01-01', catchup: false }, () => {
  new BashOperator({ taskId: 'a', bashCommand: 'echo {{ ts }}' }).before(new BashOperator({ taskId: 'b', bashCommand: 'true' }));
});
export const broken = dag({ dagId: 'broken_daily', schedule: '@daily', startDate: '2024-01-01', catchup: false }, () => {
  new BashOperator({ taskId: 'fails', bashCommand: 'exit 3' });
});
`;

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`capstan dags backfill [${dialect}]`, () => {
    let t: TestEngine;
    let cli: (args: string[]) => Promise<CliResult>;
    before(async () => {
      t = await startTestEngine({ dialect, dags: { 'dags.ts': DAGS } });
      cli = (args) => runCapstan(args, t.home, t.engine.db.url);
    });
    after(async () => {
      await t.stop();
    });

    test('--wait prints progress until every run succeeded; JSON output; then a dry run with --reset-dagruns', async () => {
      const r = await cli(['dags', 'backfill', 'hourly', '--start', '2025-06-01T00:00:00Z', '--end', '2025-06-01T03:00:00Z', '--max-active-runs', '2', '--wait', '--poll-interval', '100']);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /^backfill 1 of DAG 'hourly': 4 run\(s\) created, 0 re-run, 0 skipped; max 2 active$/m);
      const lines = r.stdout.split('\n').filter((l) => l.startsWith('backfill 1: runs'));
      assert.ok(lines.length >= 2, `progress was printed as it changed:\n${r.stdout}`);
      assert.equal(lines.at(-1), 'backfill 1: runs 0 queued, 0 running, 4 success, 0 failed (of 4); tasks 8/8 done');

      const again = await cli(['-o', 'json', 'dags', 'backfill', 'hourly', '--start', '2025-06-01T02:00:00Z', '--end', '2025-06-01T05:00:00Z', '--wait', '--poll-interval', '100']);
      assert.equal(again.code, 0, again.stderr);
      const out = JSON.parse(again.stdout) as { backfill: { id: number; maxActiveRuns: number }; plan: Array<{ logicalDate: string; action: string }>; runs: Record<string, number>; tasks: Record<string, number>; skipped: number };
      assert.equal(out.backfill.maxActiveRuns, 16, "default: the DAG's maxActiveRuns");
      assert.deepEqual(out.plan.map((p) => p.action), ['skip (exists: success)', 'skip (exists: success)', 'create', 'create']);
      assert.deepEqual(out.runs, { total: 2, queued: 0, running: 0, success: 2, failed: 0 });
      assert.deepEqual([out.tasks['done'], out.tasks['total'], out.skipped], [4, 4, 2]);
      assert.match(again.stderr, /skipped 2025-06-01T02:00:00.000Z: skip \(exists: success\)/);

      const dry = await cli(['-o', 'json', 'dags', 'backfill', 'hourly', '--start', '2025-06-01T00:00:00Z', '--end', '2025-06-01T01:00:00Z', '--reset-dagruns', '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.deepEqual(JSON.parse(dry.stdout), {
        dryRun: true,
        plan: [
          { logicalDate: '2025-06-01T00:00:00.000Z', runId: 'backfill__2025-06-01T00:00:00+00:00', action: 'rerun (was success)' },
          { logicalDate: '2025-06-01T01:00:00.000Z', runId: 'backfill__2025-06-01T01:00:00+00:00', action: 'rerun (was success)' },
        ],
        notEnded: [],
      });
      const list = await cli(['-o', 'json', 'dags', 'list-backfills', 'hourly']);
      assert.deepEqual((JSON.parse(list.stdout) as Array<{ id: number; success: number }>).map((b) => [b.id, b.success]), [[2, 2], [1, 4]]);
    });

    test('a backfill with a failing run exits 1 after it finished', async () => {
      const r = await cli(['-o', 'json', 'dags', 'backfill', 'broken_daily', '--start', '2025-01-01', '--end', '2025-01-02', '--wait', '--poll-interval', '100']);
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual((JSON.parse(r.stdout) as { runs: Record<string, number> }).runs, { total: 2, queued: 0, running: 0, success: 0, failed: 2 });
    });

    test('bad input: dates, range, limit, unknown DAG', async () => {
      const cases: Array<[string[], number, RegExp]> = [
        [['--start', '2025-13-01', '--end', '2025-01-02'], 2, /--start '2025-13-01' is not a date/],
        [['--start', '2025-01-05', '--end', '2025-01-01'], 2, /the start 2025-01-05T00:00:00.000Z is after the end/],
        [['--start', '2025-01-01', '--end', '2025-01-02', '--max-active-runs', '0'], 2, /--max-active-runs '0' is not a whole number ≥ 1/],
      ];
      for (const [args, code, message] of cases) {
        const r = await cli(['dags', 'backfill', 'hourly', ...args]);
        assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, message);
      }
      const missing = await cli(['dags', 'backfill', 'nope', '--start', '2025-01-01', '--end', '2025-01-02']);
      assert.equal(missing.code, 3, missing.stderr);
      const noEnd = await cli(['dags', 'backfill', 'hourly', '--start', '2025-01-01']);
      assert.notEqual(noEnd.code, 0);
      assert.match(noEnd.stderr, /--end <date>/);
    });
  });
}

after(() => stopPostgres());
