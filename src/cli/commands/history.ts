/**
 * `capstan tasks history <dagId> <runId> <taskId>`: every state move of a task in a run, try by try —
 * from, to, who moved it and why — as the transition verbs recorded it, so a cleared or retried task's
 * earlier tries stay readable. Through a remote API server it reads `…/stateHistory` (src/cli/remote/tasks.ts).
 */
import { InvalidArgument } from '../../core/index.ts';
import type { RegisterCommands } from '../context.ts';
import { printRows } from '../output.ts';
import { withApiUrlOption } from '../remote/commands.ts';
import type { HistoryRow } from '../remote/tasks.ts';

const COLUMNS = ['at', 'mapIndex', 'try', 'from', 'to', 'actor', 'failureKind', 'reason'];

export const registerHistoryCommand: RegisterCommands = (program, ctx) => {
  const tasks = program.commands.find((c) => c.name() === 'tasks') ?? program.command('tasks');
  withApiUrlOption(tasks.command('history <dagId> <runId> <taskId>'))
    .description("every state move of a task in a run, oldest first: try, from, to, who moved it (scheduler, executor, worker, a user, token:<id>) and why")
    .option('--map-index <n>', 'only this map index (default: every index of a mapped task)')
    .action(async (dagId: string, runId: string, taskId: string, opts: { mapIndex?: string }) => {
      const mapIndex = opts.mapIndex === undefined ? undefined : Number(opts.mapIndex);
      if (mapIndex !== undefined && (!Number.isInteger(mapIndex) || mapIndex < -1)) {
        throw new InvalidArgument(`--map-index '${opts.mapIndex}' is not a map index`, 'use -1 (not mapped) or 0, 1, 2, …');
      }
      if (ctx.remote) {
        const rows = await (await import('../remote/tasks.ts')).taskHistoryRemote(ctx.remote, { dagId, runId, taskId, ...(mapIndex === undefined ? {} : { mapIndex }) });
        printRows(rows as unknown as Record<string, unknown>[], COLUMNS, ctx.output);
        return;
      }
      const [{ getDagRun }, { findTaskInstance }, { listTaskInstanceHistory }] = await Promise.all([import('../../store/dagRuns.ts'), import('../../store/taskInstances.ts'), import('../../store/transitions/index.ts')]);
      const m = await ctx.db();
      await getDagRun(m, dagId, runId);
      // An unknown task is an error, not an empty history (a mapped task's instances all count).
      if (mapIndex !== undefined) await findTaskInstance(m, dagId, runId, taskId, mapIndex);
      const rows = await listTaskInstanceHistory(m, { dagId, runId, taskId, ...(mapIndex === undefined ? {} : { mapIndex }) });
      if (rows.length === 0 && mapIndex === undefined) await findTaskInstance(m, dagId, runId, taskId);
      const shown: HistoryRow[] = rows.map((r) => ({
        at: new Date(r.at).toISOString(),
        mapIndex: r.map_index,
        try: r.try_number,
        from: r.from_state,
        to: r.to_state,
        actor: r.actor,
        failureKind: r.failure_kind,
        reason: r.reason,
      }));
      printRows(shown as unknown as Record<string, unknown>[], COLUMNS, ctx.output);
    });
};
