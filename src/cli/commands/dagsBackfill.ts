/**
 * `capstan dags backfill` and `capstan dags list-backfills`: create a backfill (the scheduler runs it)
 * and, with `--wait`, follow its progress until every run has finished. Semantics in docs/backfill.md.
 */
import type { Command } from 'commander';
import { InvalidArgument } from '../../core/errors.ts';
import type { JsonObject } from '../../core/serialized.ts';
import type { BackfillPlanEntry, BackfillProgress, ReprocessBehavior } from '../../engine/backfill.ts';
import type { CliContext } from '../context.ts';
import { parseConf } from '../dagArguments.ts';
import { printObject, printRows } from '../output.ts';

interface BackfillOptions {
  start: string;
  end: string;
  resetDagruns?: boolean;
  rerunFailed?: boolean;
  maxActiveRuns?: string;
  conf?: string;
  dryRun?: boolean;
  wait?: boolean;
  pollInterval: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgument(`${flag} '${text}' is not a whole number ≥ 1`);
  return n;
}

function planRow(p: BackfillPlanEntry): Record<string, unknown> {
  const a = p.action;
  const action = a.kind === 'create' ? 'create' : a.kind === 'rerun' ? `rerun (was ${a.previousState})` : `skip (${a.reason === 'in_flight' ? 'in flight' : 'exists'}: ${a.existingState})`;
  return { logicalDate: iso(p.logicalDate), runId: p.runId, action };
}

function progressLine(p: BackfillProgress): string {
  const r = p.runs;
  return `backfill ${p.backfill.id}: runs ${r.queued} queued, ${r.running} running, ${r.success} success, ${r.failed} failed (of ${r.total}); tasks ${p.tasks.done}/${p.tasks.total} done`;
}

/** Register `dags backfill` and `dags list-backfills` on the `dags` command group. */
export function registerBackfillCommands(dags: Command, ctx: CliContext): void {
  dags
    .command('backfill <dagId>')
    .description(
      'create runs (type backfill) for every schedule interval whose logical date is in [--start, --end]; the scheduler runs them, at most --max-active-runs at once. Dates that already have a run are skipped unless --rerun-failed / --reset-dagruns',
    )
    .requiredOption('--start <date>', 'first logical date (ISO 8601, e.g. 2026-01-01)')
    .requiredOption('--end <date>', 'last logical date, inclusive')
    .option('--reset-dagruns', 're-run dates whose run already finished (success or failed): clear it and run it again')
    .option('--rerun-failed', 're-run dates whose run failed')
    .option('--max-active-runs <n>', "runs of this backfill running at once (default: the DAG's maxActiveRuns; independent of the DAG's own limit)")
    .option('--conf <json>', 'conf of every run (JSON object, checked against the params)')
    .option('--dry-run', 'print what would be created, re-run and skipped, and change nothing')
    .option('--wait', 'follow progress until every run has finished; exits 1 when a run failed')
    .option('--poll-interval <ms>', 'progress poll interval with --wait', '1000')
    .action(async (dagId: string, opts: BackfillOptions) => {
      const { backfillProgress, createBackfill, parseBackfillDate } = await import('../../engine/backfill.ts');
      const from = parseBackfillDate(opts.start, '--start');
      const to = parseBackfillDate(opts.end, '--end');
      const reprocess: ReprocessBehavior = opts.resetDagruns ? 'completed' : opts.rerunFailed ? 'failed' : 'none';
      const conf = parseConf(opts.conf);
      if (conf !== undefined && (typeof conf !== 'object' || conf === null || Array.isArray(conf))) throw new InvalidArgument('--conf must be a JSON object');
      const poll = positiveInt(opts.pollInterval, '--poll-interval');
      const m = await ctx.db();
      const created = await createBackfill(
        m,
        {
          dagId,
          from,
          to,
          reprocess,
          ...(opts.maxActiveRuns === undefined ? {} : { maxActiveRuns: positiveInt(opts.maxActiveRuns, '--max-active-runs') }),
          ...(conf === undefined ? {} : { conf: conf as JsonObject }),
          ...(opts.dryRun ? { dryRun: true } : {}),
        },
        Date.now(),
        'cli',
      );
      const json = ctx.output === 'json';
      const notEnded = created.notEnded.map(iso);
      if (!created.backfill) {
        if (json) printObject({ dryRun: true, plan: created.plan.map(planRow), notEnded }, 'json');
        else {
          printRows(created.plan.map(planRow), ['logicalDate', 'runId', 'action'], 'table');
          if (notEnded.length > 0) process.stdout.write(`not backfilled (interval not ended yet): ${notEnded.join(', ')}\n`);
        }
        return;
      }
      const b = created.backfill;
      const out = json ? process.stderr : process.stdout;
      const counts = (k: string) => created.plan.filter((p) => p.action.kind === k).length;
      out.write(`backfill ${b.id} of DAG '${dagId}': ${counts('create')} run(s) created, ${counts('rerun')} re-run, ${counts('skip')} skipped; max ${b.maxActiveRuns} active\n`);
      for (const p of created.plan.filter((x) => x.action.kind === 'skip')) out.write(`  skipped ${iso(p.logicalDate)}: ${planRow(p)['action'] as string}\n`);
      if (notEnded.length > 0) out.write(`  not backfilled (interval not ended yet): ${notEnded.join(', ')}\n`);
      if (!opts.wait) {
        if (json) printObject({ backfill: b, plan: created.plan.map(planRow), notEnded }, 'json');
        else out.write(`follow it with: capstan dags list-runs ${dagId}\n`);
        return;
      }
      let last = '';
      let progress = await backfillProgress(m, b.id, Date.now());
      for (;;) {
        const line = progressLine(progress);
        if (line !== last) out.write(line + '\n');
        last = line;
        if (progress.complete) break;
        await new Promise((r) => setTimeout(r, poll));
        progress = await backfillProgress(m, b.id, Date.now());
      }
      if (json) printObject({ backfill: progress.backfill, plan: created.plan.map(planRow), notEnded, runs: progress.runs, tasks: progress.tasks, skipped: progress.skipped }, 'json');
      if (progress.runs.failed > 0) process.exitCode = 1;
    });

  dags
    .command('list-backfills <dagId>')
    .description('backfills of a DAG, newest first, with their progress')
    .action(async (dagId: string) => {
      const { backfillProgress, listBackfills } = await import('../../engine/backfill.ts');
      const m = await ctx.db();
      const rows = [];
      for (const b of await listBackfills(m, dagId)) {
        const p = await backfillProgress(m, b.id, Date.now());
        rows.push({ id: b.id, from: iso(b.from), to: iso(b.to), reprocess: b.reprocess, maxActiveRuns: b.maxActiveRuns, ...p.runs, tasksDone: p.tasks.done, tasksTotal: p.tasks.total, completedAt: b.completedAt === null ? null : iso(b.completedAt) });
      }
      printRows(rows, ['id', 'from', 'to', 'reprocess', 'maxActiveRuns', 'queued', 'running', 'success', 'failed', 'tasksDone', 'tasksTotal', 'completedAt'], ctx.output);
    });
}
