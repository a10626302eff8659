/**
 * `capstan dags …`: list, inspect, trigger, pause, test and backfill DAGs. Each action imports what it uses
 * (stores, engine, SDK) when it runs, so registering the group costs nothing; the commands that also work
 * through a remote API server (src/cli/remote/commands.ts) call src/cli/remote/dags.ts when `ctx.remote` is set.
 */
import { InvalidArgument } from '../../core/index.ts';
import type { RegisterCommands } from '../context.ts';
import { parseConf, parseLogicalDate } from '../dagArguments.ts';
import { printable, printObject, printRows } from '../output.ts';
import { withApiUrlOption } from '../remote/commands.ts';
import { registerBackfillCommands } from './dagsBackfill.ts';

const DAG_COLUMNS = ['dagId', 'schedule', 'isPaused', 'owner', 'tags', 'nextDataIntervalStart', 'fileloc'];
const RUN_COLUMNS = ['runId', 'runType', 'state', 'logicalDate', 'startDate', 'endDate'];
const remoteDags = () => import('../remote/dags.ts');

export const registerDagCommands: RegisterCommands = (program, ctx) => {
  const dags = program.command('dags').description('list, inspect, trigger, pause and test DAGs');

  withApiUrlOption(dags.command('list'))
    .description('DAGs known to the metadata DB')
    .action(async () => {
      if (ctx.remote) return (await remoteDags()).listDagsRemote(ctx.remote, ctx.output, DAG_COLUMNS);
      const [{ listDags }, { dagJson }] = await Promise.all([import('../../store/dags.ts'), import('../../api/client.ts')]);
      printRows((await listDags(await ctx.db())).map(dagJson), DAG_COLUMNS, ctx.output);
    });

  withApiUrlOption(dags.command('list-import-errors'))
    .description('DAG files that failed to import, with the reason')
    .action(async () => {
      if (ctx.remote) return (await remoteDags()).listImportErrorsRemote(ctx.remote, ctx.output);
      const { ImportErrorStore } = await import('../../store/importErrors.ts');
      const errors = await new ImportErrorStore(await ctx.db()).list();
      printRows(errors.map((e) => ({ file: e.fileloc, at: new Date(e.timestamp).toISOString(), error: e.message })), ['file', 'at', 'error'], ctx.output);
      if (errors.length > 0 && ctx.output === 'table') process.exitCode = 1;
    });

  withApiUrlOption(dags.command('list-warnings'))
    .description('authoring warnings the DAG processor found (a :latest image without a pull policy, a pod without resource requests)')
    .option('--dag-id <dagId>', 'only this DAG')
    .action(async (opts: { dagId?: string }) => {
      if (ctx.remote) return (await remoteDags()).listWarningsRemote(ctx.remote, ctx.output, opts.dagId);
      const { getDag, getSerializedDag, listDags } = await import('../../store/dags.ts');
      const db = await ctx.db();
      const dagIds = opts.dagId === undefined ? (await listDags(db)).map((d) => d.dag_id) : [(await getDag(db, opts.dagId)).dag_id];
      const rows = [];
      for (const dagId of dagIds) {
        for (const w of (await getSerializedDag(db, dagId)).warnings ?? []) rows.push({ dagId, taskId: w.taskId ?? '', code: w.code, message: w.message });
      }
      printRows(rows, ['dagId', 'taskId', 'code', 'message'], ctx.output);
    });

  withApiUrlOption(dags.command('show <dagId>'))
    .description('the DAG’s tasks, dependencies and settings')
    .action(async (dagId: string) => {
      if (ctx.remote) return (await remoteDags()).showDagRemote(ctx.remote, ctx.output, dagId);
      const [{ getSerializedDag }, { renderTaskTree }] = await Promise.all([import('../../store/dags.ts'), import('../taskTree.ts')]);
      const s = await getSerializedDag(await ctx.db(), dagId);
      if (ctx.output === 'json') {
        printObject(s as unknown as Record<string, unknown>, 'json');
        return;
      }
      printObject({ dagId: s.dagId, schedule: s.scheduleText ?? 'manual', catchup: s.catchup, maxActiveRuns: s.maxActiveRuns, maxActiveTasks: s.maxActiveTasks, file: s.fileloc }, 'table');
      process.stdout.write('\n');
      printRows(
        s.tasks.map((t) => ({ task: t.taskId, operator: t.operator, triggerRule: t.triggerRule, retries: t.retry.retries, pool: t.pool, upstream: t.upstream.join(', ') })),
        ['task', 'operator', 'triggerRule', 'retries', 'pool', 'upstream'],
        'table',
      );
      const tree = s.tasks.map((t) => ({ taskId: t.taskId, operator: t.operator, triggerRule: t.triggerRule, retries: t.retry.retries, upstream: t.upstream, downstream: t.downstream }));
      process.stdout.write(`\n${renderTaskTree(tree).join('\n')}\n`);
      for (const w of s.warnings ?? []) process.stdout.write(`\nwarning (${w.code}${w.taskId === null ? '' : `, task ${w.taskId}`}): ${w.message}`);
      if ((s.warnings ?? []).length > 0) process.stdout.write('\n');
    });

  withApiUrlOption(dags.command('trigger <dagId>'))
    .description('create a manual run')
    .option('--conf <json>', 'run configuration (JSON object)')
    .option('--run-id <id>', 'run id (default manual__<time>)')
    .option('--logical-date <iso>', 'logical date (default now)')
    .action(async (dagId: string, opts: { conf?: string; runId?: string; logicalDate?: string }) => {
      const logicalDate = parseLogicalDate(opts.logicalDate);
      const conf = parseConf(opts.conf);
      if (ctx.remote) {
        return (await remoteDags()).triggerDagRemote(ctx.remote, ctx.output, dagId, { ...(conf === undefined ? {} : { conf }), ...(opts.runId ? { runId: opts.runId } : {}), ...(logicalDate === undefined ? {} : { logicalDate }) });
      }
      const [{ triggerDagRun }, { AuditLog }, { runJson }] = await Promise.all([import('../../services/index.ts'), import('../../store/auditLog.ts'), import('../../api/client.ts')]);
      const m = await ctx.db();
      const run = await triggerDagRun(
        m,
        { dagId, ...(conf === undefined ? {} : { conf }), ...(opts.runId ? { runId: opts.runId } : {}), ...(logicalDate === undefined ? {} : { logicalDate }) },
        Date.now(),
      );
      await new AuditLog(m).append({ actor: 'cli', event: 'dag.trigger', dagId, runId: run.run_id });
      printObject(runJson(run), ctx.output);
    });

  for (const [name, paused] of [['pause', true], ['unpause', false]] as const) {
    withApiUrlOption(dags.command(`${name} <dagId>`))
      .description(paused ? 'stop creating scheduled runs' : 'resume scheduled runs')
      .action(async (dagId: string) => {
        if (ctx.remote) return (await remoteDags()).setPausedRemote(ctx.remote, ctx.output, dagId, paused);
        const [{ setPaused }, { AuditLog }] = await Promise.all([import('../../store/dags.ts'), import('../../store/auditLog.ts')]);
        const m = await ctx.db();
        await setPaused(m, dagId, paused);
        await new AuditLog(m).append({ actor: 'cli', event: `dag.${name}`, dagId });
        printObject({ dagId, isPaused: paused }, ctx.output);
      });
  }

  withApiUrlOption(dags.command('list-runs <dagId>'))
    .description('runs of a DAG, newest first')
    .option('--state <state>', 'only runs in this state')
    .option('--limit <n>', 'most runs shown', '25')
    .action(async (dagId: string, opts: { state?: string; limit: string }) => {
      const state = opts.state as 'queued' | 'running' | 'success' | 'failed' | undefined;
      if (state && !['queued', 'running', 'success', 'failed'].includes(state)) throw new InvalidArgument(`--state '${state}' is not a run state`, 'use queued, running, success or failed');
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new InvalidArgument(`--limit '${opts.limit}' is not a whole number ≥ 1`);
      if (ctx.remote) return (await remoteDags()).listRunsRemote(ctx.remote, ctx.output, dagId, { ...(state ? { state } : {}), limit }, RUN_COLUMNS);
      const [{ getDag }, { listDagRuns }, { runJson }] = await Promise.all([import('../../store/dags.ts'), import('../../store/dagRuns.ts'), import('../../api/client.ts')]);
      const m = await ctx.db();
      await getDag(m, dagId);
      printRows((await listDagRuns(m, { dagId, ...(state ? { state } : {}), limit })).map(runJson), RUN_COLUMNS, ctx.output);
    });

  dags
    .command('test <dagId>')
    .description('run one whole DAG run in this process, without a scheduler: tasks execute in dependency order, states and XComs are recorded, logs are printed; exits 1 when the run fails')
    .option('--logical-date <iso>', 'logical date of the run (default now)')
    .option('--conf <json>', 'run configuration (JSON object)')
    .option('--run-id <id>', 'run id (default manual__<logical date>)')
    .option('--file <path>', 'import the DAG from this file (default: the file the metadata DB knows it from)')
    .option('--skip-retry-delay', 'retry failed tries at once instead of waiting their retryDelay')
    .action(async (dagId: string, opts: { logicalDate?: string; conf?: string; runId?: string; file?: string; skipRetryDelay?: boolean }) => {
      const logicalDate = parseLogicalDate(opts.logicalDate);
      const conf = parseConf(opts.conf);
      const [{ importDagForCli, ProgressPrinter }, { runDagInProcess }, { createEngine }, { AuditLog }, { runJson, tiJson }] = await Promise.all([
        import('../inProcess.ts'),
        import('../../testing/index.ts'),
        import('../../app/components.ts'),
        import('../../store/auditLog.ts'),
        import('../../api/client.ts'),
      ]);
      const m = await ctx.db();
      const { dag, fileloc } = await importDagForCli(ctx, dagId, opts.file);
      const config = ctx.config();
      const progress = new ProgressPrinter(ctx);
      const stop = new AbortController();
      const onSigint = () => stop.abort(new Error('interrupted'));
      process.once('SIGINT', onSigint);
      try {
        const result = await runDagInProcess({
          db: m,
          dag,
          fileloc,
          secrets: createEngine(config, { db: m }).secrets,
          xcomMaxBytes: config.core.xcomMaxBytes,
          baseLogFolder: config.logging.baseLogFolder,
          retryDelay: opts.skipRetryDelay ? 'skip' : 'wait',
          signal: stop.signal,
          ...(logicalDate === undefined ? {} : { logicalDate }),
          ...(conf === undefined ? {} : { conf }),
          ...(opts.runId ? { runId: opts.runId } : {}),
          onRunCreated: (run, replaced) =>
            progress.line(`testing DAG '${dagId}' (${fileloc}): run ${run.run_id}, ${dag.tasks.size} task(s)${replaced ? ` (replacing the earlier ${replaced.state} run)` : ''}`),
          onTaskStart: (e) => progress.line(`running         ${e.taskId}  try ${e.tryNumber}/${e.maxTries}`),
          onTaskOutcome: (e) => progress.outcome(e),
          onLog: (l) => progress.log(l),
          onDagCallback: (e) => process.stderr.write(e.error === null ? `DAG callback ${e.kind} ran\n` : `DAG callback ${e.kind} failed (ignored): ${e.error}\n`),
        });
        await new AuditLog(m).append({ actor: 'cli', event: 'dag.test', dagId, runId: result.run.run_id, details: { state: result.state } });
        if (ctx.output === 'json') {
          printObject({ ...runJson(result.run), reason: result.reason, taskInstances: result.taskInstances.map(tiJson) }, 'json');
        } else {
          progress.line(`run ${result.run.run_id} ${result.state}${result.reason ? `: ${result.reason}` : ''}`);
        }
        if (result.state !== 'success') process.exitCode = 1;
      } finally {
        process.removeListener('SIGINT', onSigint);
      }
    });

  registerBackfillCommands(dags, ctx);

  withApiUrlOption(dags.command('mark-run <dagId> <runId>'))
    .description('set a whole run to success (every task instance success) or failed (running tasks failed, unfinished ones skipped)')
    .requiredOption('--state <state>', 'success or failed')
    .action(async (dagId: string, runId: string, opts: { state: string }) => {
      if (opts.state !== 'success' && opts.state !== 'failed') throw new InvalidArgument(`--state must be success or failed, not '${opts.state}'`);
      const state = opts.state;
      const result = ctx.remote
        ? await (await remoteDags()).markRunRemote(ctx.remote, dagId, runId, state)
        : await (await import('../../services/index.ts')).markDagRun(await ctx.db(), { dagId, runId, state }, Date.now(), 'cli');
      if (ctx.output === 'json') {
        printObject(result as unknown as Record<string, unknown>, 'json');
        return;
      }
      process.stdout.write(`run ${printable(result.runId)}: ${result.previousState} -> ${result.state}\n`);
      if (result.taskInstances.length > 0) printRows(result.taskInstances, ['taskId', 'previousState', 'state'], 'table');
    });

  withApiUrlOption(dags.command('note <dagId> <runId> [note]'))
    .description('set the note of a run (omit the text, or pass --clear, to remove it)')
    .option('--clear', 'remove the note')
    .action(async (dagId: string, runId: string, note: string | undefined, opts: { clear?: boolean }) => {
      if (note === undefined && !opts.clear) throw new InvalidArgument('give the note text, or --clear to remove the note');
      const text = opts.clear ? null : (note ?? null);
      if (ctx.remote) await (await remoteDags()).setRunNoteRemote(ctx.remote, dagId, runId, text);
      else await (await import('../../services/index.ts')).setDagRunNote(await ctx.db(), { dagId, runId, note: text }, Date.now(), 'cli');
      process.stdout.write(opts.clear ? 'note removed\n' : 'note saved\n');
    });
};
