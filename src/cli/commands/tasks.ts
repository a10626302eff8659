/** `capstan tasks …`: inspect task instances, read their logs, and run one try (the task process entry). */
import { InvalidArgument } from '../../core/errors.ts';
import { tiJson } from '../../api/views.ts';
import { taskLogPath } from '../../logging/taskLog.ts';
import { followTaskLog, readTaskLog } from '../../logging/taskLogReader.ts';
import { runTaskTry } from '../../runtime/taskRunner.ts';
import { findTaskInstance, listTaskInstances, listTries } from '../../store/taskInstances.ts';
import type { RegisterCommands } from '../context.ts';
import { printObject, printRows } from '../output.ts';

export const registerTaskCommands: RegisterCommands = (program, ctx) => {
  const tasks = program.command('tasks').description('inspect and run task instances');

  tasks
    .command('list <dagId> <runId>')
    .description('task instances of a run')
    .action(async (dagId: string, runId: string) => {
      const rows = (await listTaskInstances(await ctx.db(), { dagId, runId })).map(tiJson);
      printRows(rows, ['taskId', 'state', 'tryNumber', 'operator', 'startDate', 'durationMs', 'failureReason'], ctx.output);
    });

  tasks
    .command('state <dagId> <runId> <taskId>')
    .description('state and tries of one task instance')
    .option('--map-index <n>', 'map index', '-1')
    .action(async (dagId: string, runId: string, taskId: string, opts: { mapIndex: string }) => {
      const m = await ctx.db();
      const ti = await findTaskInstance(m, dagId, runId, taskId, Number(opts.mapIndex));
      if (ctx.output === 'json') {
        printObject({ ...tiJson(ti), tries: await listTries(m, ti.id) }, 'json');
        return;
      }
      process.stdout.write(`${ti.state}\n`);
    });

  tasks
    .command('logs <dagId> <runId> <taskId>')
    .description('the log of a try (default: the latest)')
    .option('--try <n>', 'try number')
    .option('--map-index <n>', 'map index', '-1')
    .option('-f, --follow', 'keep printing as the log grows, until the try ends')
    .action(async (dagId: string, runId: string, taskId: string, opts: { try?: string; mapIndex: string; follow?: boolean }) => {
      const m = await ctx.db();
      const ti = await findTaskInstance(m, dagId, runId, taskId, Number(opts.mapIndex));
      const tryNumber = opts.try === undefined ? ti.try_number : Number(opts.try);
      if (!Number.isInteger(tryNumber) || tryNumber < 1) throw new InvalidArgument(`--try must be a try number ≥ 1 (the task instance is at try ${ti.try_number})`);
      const path = taskLogPath(ctx.config().logging.baseLogFolder, { dagId, runId, taskId, mapIndex: ti.map_index, tryNumber });
      if (opts.follow) {
        const ac = new AbortController();
        process.once('SIGINT', () => ac.abort());
        await followTaskLog(path, (chunk) => process.stdout.write(chunk), ac.signal);
        return;
      }
      const { text } = await readTaskLog(path);
      process.stdout.write(text);
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
      process.exitCode = await runTaskTry({ apiUrl: opts.apiUrl ?? config.api.executionApiUrl, token, tiId: opts.tiId, baseLogFolder: config.logging.baseLogFolder });
    });
};
