/** `capstan dags …`: list, inspect, trigger, pause and test DAGs. */
import { InvalidArgument } from '../../core/errors.ts';
import type { JsonValue } from '../../core/serialized.ts';
import { dagJson, runJson } from '../../api/views.ts';
import { triggerDagRun } from '../../engine/triggerRun.ts';
import { AuditLog } from '../../store/auditLog.ts';
import { getSerializedDag, listDags, setPaused } from '../../store/dags.ts';
import { listDagRuns } from '../../store/dagRuns.ts';
import { ImportErrorStore } from '../../store/importErrors.ts';
import type { RegisterCommands } from '../context.ts';
import { printObject, printRows } from '../output.ts';

function parseConf(text: string | undefined): JsonValue | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new InvalidArgument(`--conf is not valid JSON: ${(err as Error).message}`, `e.g. --conf '{"key": "value"}'`);
  }
}

export const registerDagCommands: RegisterCommands = (program, ctx) => {
  const dags = program.command('dags').description('list, inspect, trigger and pause DAGs');

  dags
    .command('list')
    .description('DAGs known to the metadata DB')
    .action(async () => {
      const rows = (await listDags(await ctx.db())).map(dagJson);
      printRows(rows, ['dagId', 'schedule', 'isPaused', 'owner', 'tags', 'nextDataIntervalStart', 'fileloc'], ctx.output);
    });

  dags
    .command('list-import-errors')
    .description('DAG files that failed to import, with the reason')
    .action(async () => {
      const errors = await new ImportErrorStore(await ctx.db()).list();
      printRows(errors.map((e) => ({ file: e.fileloc, at: new Date(e.timestamp).toISOString(), error: e.message })), ['file', 'at', 'error'], ctx.output);
      if (errors.length > 0 && ctx.output === 'table') process.exitCode = 1;
    });

  dags
    .command('show <dagId>')
    .description('the DAG’s tasks, dependencies and settings')
    .action(async (dagId: string) => {
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
    });

  dags
    .command('trigger <dagId>')
    .description('create a manual run')
    .option('--conf <json>', 'run configuration (JSON object)')
    .option('--run-id <id>', 'run id (default manual__<time>)')
    .option('--logical-date <iso>', 'logical date (default now)')
    .action(async (dagId: string, opts: { conf?: string; runId?: string; logicalDate?: string }) => {
      const m = await ctx.db();
      const logicalDate = opts.logicalDate === undefined ? undefined : Date.parse(opts.logicalDate);
      if (logicalDate !== undefined && Number.isNaN(logicalDate)) throw new InvalidArgument(`--logical-date '${opts.logicalDate}' is not a date`, 'use ISO-8601, e.g. 2026-01-01T00:00:00Z');
      const conf = parseConf(opts.conf);
      const run = await triggerDagRun(
        m,
        { dagId, ...(conf === undefined ? {} : { conf }), ...(opts.runId ? { runId: opts.runId } : {}), ...(logicalDate === undefined ? {} : { logicalDate }) },
        Date.now(),
      );
      await new AuditLog(m).append({ actor: 'cli', event: 'dag.trigger', dagId, runId: run.run_id });
      printObject(runJson(run), ctx.output);
    });

  for (const [name, paused] of [['pause', true], ['unpause', false]] as const) {
    dags
      .command(`${name} <dagId>`)
      .description(paused ? 'stop creating scheduled runs' : 'resume scheduled runs')
      .action(async (dagId: string) => {
        const m = await ctx.db();
        await setPaused(m, dagId, paused);
        await new AuditLog(m).append({ actor: 'cli', event: `dag.${name}`, dagId });
        printObject({ dagId, isPaused: paused }, ctx.output);
      });
  }

  dags
    .command('list-runs <dagId>')
    .description('runs of a DAG, newest first')
    .option('--state <state>', 'only runs in this state')
    .option('--limit <n>', 'most runs shown', '25')
    .action(async (dagId: string, opts: { state?: string; limit: string }) => {
      const state = opts.state as 'queued' | 'running' | 'success' | 'failed' | undefined;
      if (state && !['queued', 'running', 'success', 'failed'].includes(state)) throw new InvalidArgument(`--state '${state}' is not a run state`, 'use queued, running, success or failed');
      const rows = (await listDagRuns(await ctx.db(), { dagId, ...(state ? { state } : {}), limit: Number(opts.limit) })).map(runJson);
      printRows(rows, ['runId', 'runType', 'state', 'logicalDate', 'startDate', 'endDate'], ctx.output);
    });
};
