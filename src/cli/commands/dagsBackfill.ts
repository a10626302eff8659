/**
 * `capstan dags backfill`, `list-backfills` and `cancel-backfill`: create a backfill (the scheduler runs it) and,
 * with `--wait`, follow its progress until every run has finished; list a DAG's backfills; cancel one. Semantics
 * in docs/backfill.md. All three also work through a remote API server (src/cli/remote/backfill.ts).
 */
import type { Command } from 'commander';
import { InvalidArgument } from '../../core/index.ts';
import type { JsonObject } from '../../core/index.ts';
import type { BackfillPlanEntry, BackfillProgress, ReprocessBehavior } from '../../services/index.ts';
import type { CliContext } from '../context.ts';
import { parseBackfillBound, parseConf } from '../dagArguments.ts';
import { printObject, printRows } from '../output.ts';
import { withApiUrlOption } from '../remote/commands.ts';

const remoteBackfill = () => import('../remote/backfill.ts');
const LIST_COLUMNS = ['id', 'from', 'to', 'reprocess', 'maxActiveRuns', 'queued', 'running', 'success', 'failed', 'tasksDone', 'tasksTotal', 'completedAt'];

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

function progressLine(p: Pick<BackfillProgress, 'runs' | 'tasks'> & { backfill: { id: number } }): string {
  const r = p.runs;
  return `backfill ${p.backfill.id}: runs ${r.queued} queued, ${r.running} running, ${r.success} success, ${r.failed} failed (of ${r.total}); tasks ${p.tasks.done}/${p.tasks.total} done`;
}

/** Register `dags backfill` and `dags list-backfills` on the `dags` command group. */
export function registerBackfillCommands(dags: Command, ctx: CliContext): void {
  withApiUrlOption(dags.command('backfill <dagId>'))
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
      const from = parseBackfillBound(opts.start, '--start');
      const to = parseBackfillBound(opts.end, '--end');
      const reprocess: ReprocessBehavior = opts.resetDagruns ? 'completed' : opts.rerunFailed ? 'failed' : 'none';
      const conf = parseConf(opts.conf);
      if (conf !== undefined && (typeof conf !== 'object' || conf === null || Array.isArray(conf))) throw new InvalidArgument('--conf must be a JSON object');
      const poll = positiveInt(opts.pollInterval, '--poll-interval');
      const request = {
        dagId,
        from,
        to,
        reprocess,
        ...(opts.maxActiveRuns === undefined ? {} : { maxActiveRuns: positiveInt(opts.maxActiveRuns, '--max-active-runs') }),
        ...(conf === undefined ? {} : { conf: conf as JsonObject }),
      };
      const json = ctx.output === 'json';
      const api = ctx.remote;
      let created: { backfill: { id: number; maxActiveRuns: number } | null; plan: Record<string, unknown>[]; kinds: string[]; notEnded: string[] };
      let progressOf: () => Promise<Pick<BackfillProgress, 'runs' | 'tasks' | 'skipped' | 'complete'> & { backfill: { id: number } }>;
      if (api) {
        const remote = await remoteBackfill();
        const answer = opts.dryRun ? { backfill: null, ...(await remote.planBackfillRemote(api, request)) } : await remote.createBackfillRemote(api, request);
        created = { backfill: answer.backfill === null ? null : remote.backfillJson(answer.backfill), plan: answer.plan.map(remote.planRow) as unknown as Record<string, unknown>[], kinds: answer.plan.map((p) => p.action), notEnded: answer.notEnded.map((d) => new Date(Date.parse(d)).toISOString()) };
        progressOf = () => remote.backfillProgressRemote(api, answer.backfill?.id ?? 0, answer.plan);
      } else {
        const { backfillProgress, createBackfill } = await import('../../services/index.ts');
        const m = await ctx.db();
        const c = await createBackfill(m, { ...request, ...(opts.dryRun ? { dryRun: true } : {}) }, Date.now(), 'cli');
        created = { backfill: c.backfill, plan: c.plan.map(planRow), kinds: c.plan.map((p) => p.action.kind), notEnded: c.notEnded.map(iso) };
        progressOf = () => backfillProgress(m, c.backfill?.id ?? 0, Date.now());
      }
      const notEnded = created.notEnded;
      if (!created.backfill) {
        if (json) printObject({ dryRun: true, plan: created.plan, notEnded }, 'json');
        else {
          printRows(created.plan, ['logicalDate', 'runId', 'action'], 'table');
          if (notEnded.length > 0) process.stdout.write(`not backfilled (interval not ended yet): ${notEnded.join(', ')}\n`);
        }
        return;
      }
      const b = created.backfill;
      const out = json ? process.stderr : process.stdout;
      const counts = (k: string) => created.kinds.filter((kind) => kind === k).length;
      out.write(`backfill ${b.id} of DAG '${dagId}': ${counts('create')} run(s) created, ${counts('rerun')} re-run, ${counts('skip')} skipped; max ${b.maxActiveRuns} active\n`);
      created.plan.forEach((p, i) => {
        if (created.kinds[i] === 'skip') out.write(`  skipped ${p['logicalDate'] as string}: ${p['action'] as string}\n`);
      });
      if (notEnded.length > 0) out.write(`  not backfilled (interval not ended yet): ${notEnded.join(', ')}\n`);
      if (!opts.wait) {
        if (json) printObject({ backfill: b, plan: created.plan, notEnded }, 'json');
        else out.write(`follow it with: capstan dags list-runs ${dagId}\n`);
        return;
      }
      let last = '';
      let progress = await progressOf();
      for (;;) {
        const line = progressLine(progress);
        if (line !== last) out.write(line + '\n');
        last = line;
        if (progress.complete) break;
        await new Promise((r) => setTimeout(r, poll));
        progress = await progressOf();
      }
      if (json) printObject({ backfill: progress.backfill, plan: created.plan, notEnded, runs: progress.runs, tasks: progress.tasks, skipped: progress.skipped }, 'json');
      if (progress.runs.failed > 0) process.exitCode = 1;
    });

  withApiUrlOption(dags.command('list-backfills <dagId>'))
    .description('backfills of a DAG, newest first, with their progress')
    .action(async (dagId: string) => {
      if (ctx.remote) {
        printRows(await (await remoteBackfill()).listBackfillsRemote(ctx.remote, dagId), LIST_COLUMNS, ctx.output);
        return;
      }
      const { backfillProgress, listBackfills } = await import('../../services/index.ts');
      const m = await ctx.db();
      const rows = [];
      for (const b of await listBackfills(m, dagId)) {
        const p = await backfillProgress(m, b.id, Date.now());
        rows.push({ id: b.id, from: iso(b.from), to: iso(b.to), reprocess: b.reprocess, maxActiveRuns: b.maxActiveRuns, ...p.runs, tasksDone: p.tasks.done, tasksTotal: p.tasks.total, completedAt: b.completedAt === null ? null : iso(b.completedAt) });
      }
      printRows(rows, LIST_COLUMNS, ctx.output);
    });

  withApiUrlOption(dags.command('cancel-backfill <backfillId>'))
    .description('cancel a backfill: its queued runs are not started, running ones finish')
    .action(async (idText: string) => {
      const id = positiveInt(idText, '<backfillId>');
      const b = ctx.remote ? await (await remoteBackfill()).cancelBackfillRemote(ctx.remote, id) : await (await import('../../services/index.ts')).cancelBackfill(await ctx.db(), id, Date.now(), 'cli');
      printObject({ id: b.id, dagId: b.dagId, cancelled: true, completedAt: b.completedAt === null ? null : iso(b.completedAt) }, ctx.output);
    });
}
