/**
 * `capstan tasks …`: inspect task instances, read their logs, and run one try (the task process entry). Each
 * action imports what it uses when it runs; `list`, `state`, `logs`, `clear`, `mark-success|failed` and `note`
 * also work through a remote API server (src/cli/remote/tasks.ts) when `ctx.remote` is set.
 */
import { InvalidArgument, NotFound } from '../../core/index.ts';
import type { MarkState } from '../../services/index.ts';
import type { SecretsLookup } from '../../secrets/index.ts';
import type { RegisterCommands } from '../context.ts';
import { parseConf, parseLogicalDate } from '../dagArguments.ts';
import { printObject, printRows } from '../output.ts';
import { withApiUrlOption } from '../remote/commands.ts';
import type { TaskInstanceJson } from '../views.ts';

const TI_COLUMNS = ['taskId', 'state', 'tryNumber', 'operator', 'startDate', 'durationMs', 'failureReason'];
const remoteTasks = () => import('../remote/tasks.ts');

export const registerTaskCommands: RegisterCommands = (program, ctx) => {
  const tasks = program.command('tasks').description('inspect, test, clear and run task instances');

  withApiUrlOption(tasks.command('list <dagId> <runId>'))
    .description('task instances of a run')
    .action(async (dagId: string, runId: string) => {
      let rows: TaskInstanceJson[];
      if (ctx.remote) rows = await (await remoteTasks()).listTaskInstancesRemote(ctx.remote, ctx.output, dagId, runId);
      else {
        const [{ getDagRun }, { listTaskInstances }, { tiJson }] = await Promise.all([import('../../store/dagRuns.ts'), import('../../store/taskInstances.ts'), import('../../api/client.ts')]);
        const m = await ctx.db();
        const run = await getDagRun(m, dagId, runId);
        rows = (await listTaskInstances(m, { dagRunId: run.id })).map(tiJson);
      }
      // JSON keeps taskId and mapIndex apart; the table names a mapped task instance `task[i]`.
      const shown = ctx.output === 'json' ? rows : rows.map((r) => (r.mapIndex >= 0 ? { ...r, taskId: `${r.taskId}[${r.mapIndex}]` } : r));
      printRows(shown, TI_COLUMNS, ctx.output);
    });

  withApiUrlOption(tasks.command('state <dagId> <runId> <taskId>'))
    .description('state and tries of one task instance')
    .option('--map-index <n>', 'map index', '-1')
    .action(async (dagId: string, runId: string, taskId: string, opts: { mapIndex: string }) => {
      const mapIndex = parseMapIndex(opts.mapIndex);
      if (ctx.remote) return (await remoteTasks()).taskStateRemote(ctx.remote, ctx.output, { dagId, runId, taskId, mapIndex });
      const [{ findTaskInstance, listTries }, { tiJson }] = await Promise.all([import('../../store/taskInstances.ts'), import('../../api/client.ts')]);
      const m = await ctx.db();
      const ti = await findTaskInstance(m, dagId, runId, taskId, mapIndex);
      if (ctx.output === 'json') {
        // The API's own view of a try (loaded only here: it brings the API server and its schemas).
        const { tryView } = await import('../../api/index.ts');
        printObject({ ...tiJson(ti), tries: (await listTries(m, ti.id)).map(tryView) }, 'json');
        return;
      }
      process.stdout.write(`${ti.state}\n`);
    });

  withApiUrlOption(tasks.command('logs <dagId> <runId> <taskId>'))
    .description('the log of a try (default: the latest)')
    .option('--try <n>', 'try number')
    .option('--map-index <n>', 'map index', '-1')
    .option('-f, --follow', 'keep printing as the log grows, until the try ends')
    .action(async (dagId: string, runId: string, taskId: string, opts: { try?: string; mapIndex: string; follow?: boolean }) => {
      const mapIndex = parseMapIndex(opts.mapIndex);
      const askedTry = opts.try === undefined ? undefined : Number(opts.try);
      if (ctx.remote) return (await remoteTasks()).taskLogsRemote(ctx.remote, ctx.output, { dagId, runId, taskId, mapIndex }, { ...(askedTry === undefined ? {} : { tryNumber: askedTry }), follow: opts.follow ?? false });
      const [{ findTaskInstance }, { taskLogPath, followTaskLog, LocalFileTaskLogHandler, taskLogHandlerFor, followTryLog, readTryLog }, { usesWorkerPods, workerPodLogSources }, { isTerminal }] = await Promise.all([
        import('../../store/taskInstances.ts'),
        // The whole logging folder: the configured handler may be the object store.
        import('../../logging/index.ts'),
        import('../../executors/kubernetes/workerPods.ts'),
        import('../../core/index.ts'),
      ]);
      const m = await ctx.db();
      const ti = await findTaskInstance(m, dagId, runId, taskId, mapIndex);
      const tryNumber = askedTry ?? ti.try_number;
      if (!Number.isInteger(tryNumber) || tryNumber < 1) throw new InvalidArgument(`--try must be a try number ≥ 1 (the task instance is at try ${ti.try_number})`);
      const config = ctx.config();
      const key = { dagId, runId, taskId, mapIndex: ti.map_index, tryNumber };
      let engineSecrets: Promise<SecretsLookup> | undefined;
      const secrets = () => (engineSecrets ??= import('../../app/components.ts').then(({ createEngine }) => createEngine(config, { db: m }).secrets));
      // The store the API server reads (logging.remoteStore): local files by default, else e.g. a bucket.
      const handler = taskLogHandlerFor(config.logging, async (id) => (await secrets()).requireConnection(id));
      const ac = new AbortController();
      if (opts.follow && handler instanceof LocalFileTaskLogHandler) {
        process.once('SIGINT', () => ac.abort());
        await followTaskLog(taskLogPath(handler.baseFolder, key), (chunk) => process.stdout.write(chunk), ac.signal);
        return;
      }
      // The store (local file, or shipped by a worker pod), else the running worker pod's own log.
      const live = usesWorkerPods(config) ? workerPodLogSources(config, await secrets()) : [];
      if (opts.follow) {
        process.once('SIGINT', () => ac.abort());
        // No log and none to come: the try is over, or the task instance moved on to a later try.
        const isOver = async () => {
          const now = await findTaskInstance(m, dagId, runId, taskId, mapIndex);
          return now.try_number > tryNumber || (now.try_number === tryNumber && isTerminal(now.state));
        };
        await followTryLog(key, (chunk) => process.stdout.write(chunk), ac.signal, { handler, live, isOver });
        return;
      }
      const { text, source } = await readTryLog(key, { handler, live });
      if (ctx.output === 'json') printObject({ dagId, runId, taskId, mapIndex: ti.map_index, tryNumber, text, source }, 'json');
      else process.stdout.write(text);
    });

  tasks
    .command('run')
    .description('run one task try (started by executors; reads its token from CAPSTAN_TASK_TOKEN)')
    .requiredOption('--ti-id <id>', 'task instance id')
    .option('--api-url <url>', 'Execution API URL (default: api.executionApiUrl)')
    .action(async (opts: { tiId: string; apiUrl?: string }) => {
      const token = process.env.CAPSTAN_TASK_TOKEN;
      if (!token) throw new InvalidArgument('CAPSTAN_TASK_TOKEN is not set', 'task processes are started by an executor, which provides the token');
      const config = ctx.config();
      const { runTaskTry } = await import('../../runtime/index.ts');
      process.exitCode = await runTaskTry({
        apiUrl: opts.apiUrl ?? config.api.executionApiUrl,
        token,
        tiId: opts.tiId,
        baseLogFolder: config.logging.baseLogFolder,
        ...(config.logging.shipTaskLogs ? { shipLogs: { intervalMs: config.logging.shipIntervalMs } } : {}),
        logToStdout: config.logging.taskLogToStdout,
      });
    });

  tasks
    .command('test <dagId> <taskId>')
    .description('run one task in this process, ignoring its dependencies and recording nothing; prints its log and return value; exits 1 when it fails')
    .option('--logical-date <iso>', 'logical date the task sees (default now); upstream XComs are read from the run with this logical date, if one exists')
    .option('--conf <json>', 'run configuration (JSON object)')
    .option('--file <path>', 'import the DAG from this file (default: the file the metadata DB knows it from)')
    .action(async (dagId: string, taskId: string, opts: { logicalDate?: string; conf?: string; file?: string }) => {
      const logicalDate = parseLogicalDate(opts.logicalDate);
      const conf = parseConf(opts.conf);
      const [{ importDagForCli, ProgressPrinter }, { testTaskInProcess }, { createEngine }] = await Promise.all([import('../inProcess.ts'), import('../../testing/index.ts'), import('../../app/components.ts')]);
      const m = await ctx.db();
      const { dag, fileloc } = await importDagForCli(ctx, dagId, opts.file);
      if (!dag.tasks.has(taskId)) throw new NotFound(`DAG '${dagId}' has no task '${taskId}'`, `its tasks: ${[...dag.tasks.keys()].join(', ')}`);
      const progress = new ProgressPrinter(ctx);
      const stop = new AbortController();
      const onSigint = () => stop.abort(new Error('interrupted'));
      process.once('SIGINT', onSigint);
      try {
        const result = await testTaskInProcess({
          db: m,
          dag,
          taskId,
          fileloc,
          secrets: createEngine(ctx.config(), { db: m }).secrets,
          signal: stop.signal,
          onLog: (l) => progress.log(l),
          ...(logicalDate === undefined ? {} : { logicalDate }),
          ...(conf === undefined ? {} : { conf }),
        });
        const state = result.outcome.kind;
        const reason = result.outcome.kind === 'success' ? null : result.outcome.kind === 'failed' ? result.outcome.failure.message : result.outcome.reason;
        if (ctx.output === 'json') {
          printObject({ dagId, taskId, state, reason, returnValue: result.returnValue ?? null, renderedFields: result.renderedFields, readXComsFromRun: result.readFromRunId, pushedXComs: result.pushed }, 'json');
        } else {
          progress.line(`${state.padEnd(15)} ${taskId}${reason ? `  ${reason}` : ''}`);
          if (result.returnValue !== undefined) progress.line(`return value: ${JSON.stringify(result.returnValue)}`);
        }
        if (state === 'failed') process.exitCode = 1;
      } finally {
        process.removeListener('SIGINT', onSigint);
      }
    });

  withApiUrlOption(tasks.command('clear <dagId>'))
    .description('set task instances back to none so the scheduler runs them again (finished runs go back to queued); refuses without --yes and then only lists what it would clear')
    .option('--run-id <id>', 'only this run (default: every run of the DAG)')
    .option('-t, --task-regex <regex>', 'only tasks whose id matches this regular expression')
    .option('-u, --upstream', 'also clear the upstream tasks of the matched ones')
    .option('-d, --downstream', 'also clear the downstream tasks of the matched ones')
    .option('-f, --only-failed', 'only task instances that failed or are upstream_failed')
    .option('-s, --start-date <iso>', 'only runs with a logical date at or after this')
    .option('-e, --end-date <iso>', 'only runs with a logical date at or before this')
    .option('-y, --yes', 'do it without asking')
    .action(async (dagId: string, opts: { runId?: string; taskRegex?: string; upstream?: boolean; downstream?: boolean; onlyFailed?: boolean; startDate?: string; endDate?: string; yes?: boolean }) => {
      const startDate = parseDateOption('--start-date', opts.startDate);
      const endDate = parseDateOption('--end-date', opts.endDate);
      const request = {
        dagId,
        ...(opts.runId === undefined ? {} : { runId: opts.runId }),
        ...(opts.taskRegex === undefined ? {} : { taskRegex: opts.taskRegex }),
        upstream: opts.upstream ?? false,
        downstream: opts.downstream ?? false,
        onlyFailed: opts.onlyFailed ?? false,
        ...(startDate === undefined ? {} : { startDate }),
        ...(endDate === undefined ? {} : { endDate }),
        dryRun: !opts.yes,
      };
      const result = ctx.remote
        ? await (await remoteTasks()).clearTaskInstancesRemote(ctx.remote, request)
        : await (await import('../../services/index.ts')).clearTaskInstances(await ctx.db(), request, Date.now(), 'cli');
      if (result.dryRun && result.taskInstances.length > 0) {
        printRows(result.taskInstances, ['runId', 'taskId', 'previousState'], ctx.output);
        throw new InvalidArgument(`refusing to clear ${result.taskInstances.length} task instance(s) without --yes`, 'check the list above and run the command again with --yes');
      }
      if (ctx.output === 'json') {
        printObject(result as unknown as Record<string, unknown>, 'json');
        return;
      }
      if (result.taskInstances.length === 0) {
        process.stdout.write('nothing to clear\n');
        return;
      }
      printRows(result.taskInstances, ['runId', 'taskId', 'previousState'], 'table');
      process.stdout.write(`\ncleared ${result.taskInstances.length} task instance(s) in ${result.runs.length} run(s)\n`);
      printRows(result.runs, ['runId', 'previousState', 'state', 'clearNumber'], 'table');
    });

  for (const state of ['success', 'failed'] as const satisfies MarkState[]) {
    withApiUrlOption(tasks.command(`mark-${state} <dagId> <runId> <taskIds...>`))
      .description(`set task instances of a run to ${state}${state === 'failed' ? ' (a running try stops at its next heartbeat and is not retried)' : ''}; a finished run is judged again`)
      .option('-u, --upstream', 'also mark every upstream task')
      .option('-d, --downstream', 'also mark every downstream task')
      .option('--past', 'also in every earlier run (by logical date)')
      .option('--future', 'also in every later run (by logical date)')
      .option('--dry-run', 'only list what would be marked')
      .action(async (dagId: string, runId: string, taskIds: string[], opts: { upstream?: boolean; downstream?: boolean; past?: boolean; future?: boolean; dryRun?: boolean }) => {
        const request = { dagId, runId, taskIds, state, upstream: opts.upstream ?? false, downstream: opts.downstream ?? false, past: opts.past ?? false, future: opts.future ?? false, dryRun: opts.dryRun ?? false };
        const result = ctx.remote
          ? await (await remoteTasks()).markTaskInstancesRemote(ctx.remote, request)
          : await (await import('../../services/index.ts')).markTaskInstances(await ctx.db(), request, Date.now(), 'cli');
        if (ctx.output === 'json') {
          printObject(result as unknown as Record<string, unknown>, 'json');
          return;
        }
        if (result.taskInstances.length === 0) {
          process.stdout.write(`nothing to mark ${state}\n`);
          return;
        }
        printRows(result.taskInstances, ['runId', 'taskId', 'previousState'], 'table');
        process.stdout.write(`\n${result.dryRun ? 'would mark' : 'marked'} ${result.taskInstances.length} task instance(s) ${state}\n`);
      });
  }

  withApiUrlOption(tasks.command('note <dagId> <runId> <taskId> [note]'))
    .description('set the note of a task instance, kept across its tries (omit the text, or pass --clear, to remove it)')
    .option('--map-index <n>', 'map index', '-1')
    .option('--clear', 'remove the note')
    .action(async (dagId: string, runId: string, taskId: string, note: string | undefined, opts: { mapIndex: string; clear?: boolean }) => {
      if (note === undefined && !opts.clear) throw new InvalidArgument('give the note text, or --clear to remove the note');
      const mapIndex = parseMapIndex(opts.mapIndex);
      const text = opts.clear ? null : (note ?? null);
      if (ctx.remote) await (await remoteTasks()).setTaskNoteRemote(ctx.remote, { dagId, runId, taskId, mapIndex }, text);
      else await (await import('../../services/index.ts')).setTaskInstanceNote(await ctx.db(), { dagId, runId, taskId, mapIndex, note: text }, Date.now(), 'cli');
      process.stdout.write(opts.clear ? 'note removed\n' : 'note saved\n');
    });
};

function parseMapIndex(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < -1) throw new InvalidArgument(`--map-index '${text}' is not a map index`, 'use -1 (not mapped) or 0, 1, 2, …');
  return n;
}

function parseDateOption(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new InvalidArgument(`${flag} '${text}' is not a date`, 'use ISO-8601, e.g. 2026-01-01T00:00:00Z');
  return at;
}
