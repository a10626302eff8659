/**
 * `capstan tasks render`: a task's templated fields rendered against a run's context without executing
 * it, or (`--stored`) the values a try rendered and stored before it executed.
 */
import { InvalidArgument } from '../../core/index.ts';
import type { JsonObject } from '../../core/index.ts';
import { createEngine } from '../../app/components.ts';
import { getDagRun } from '../../store/dagRuns.ts';
import { loadRenderedFields } from '../../store/renderedFields.ts';
import { findTaskInstance } from '../../store/taskInstances.ts';
import { renderedText, renderTaskInProcess } from '../../testing/index.ts';
import type { RegisterCommands } from '../context.ts';
import { parseConf, parseLogicalDate } from '../dagArguments.ts';
import { importDagForCli } from '../inProcess.ts';
import { printObject } from '../output.ts';

export const registerRenderCommand: RegisterCommands = (program, ctx) => {
  const tasks = program.commands.find((c) => c.name() === 'tasks') ?? program.command('tasks');
  tasks
    .command('render <dagId> <taskId>')
    .description("print a task's templated fields rendered against a run's context, without executing it; --stored prints what a try rendered when it ran")
    .option('--run-id <id>', 'render with this run’s dates, conf and XComs')
    .option('--logical-date <iso>', 'without --run-id: the logical date of the (stored or manual) run to render for (default now)')
    .option('--conf <json>', 'without --run-id: run configuration (JSON object)')
    .option('--map-index <n>', 'map index', '-1')
    .option('--stored', 'show the rendered fields the try stored (needs --run-id)')
    .option('--try <n>', 'with --stored: this try (default the latest that rendered)')
    .option('--file <path>', 'import the DAG from this file (default: the file the metadata DB knows it from)')
    .action(async (dagId: string, taskId: string, opts: { runId?: string; logicalDate?: string; conf?: string; mapIndex: string; stored?: boolean; try?: string; file?: string }) => {
      if (opts.runId !== undefined && (opts.logicalDate !== undefined || opts.conf !== undefined)) {
        throw new InvalidArgument('--run-id cannot be combined with --logical-date or --conf', 'the run has its own logical date and conf');
      }
      const mapIndex = Number(opts.mapIndex);
      if (!Number.isInteger(mapIndex) || mapIndex < -1) throw new InvalidArgument(`--map-index '${opts.mapIndex}' is not a map index`, 'use -1 (not mapped) or 0, 1, 2, …');
      if (opts.stored) {
        if (opts.runId === undefined) throw new InvalidArgument('--stored needs --run-id', 'stored rendered fields belong to a try of a run');
        const tryNumber = opts.try === undefined ? undefined : Number(opts.try);
        if (tryNumber !== undefined && (!Number.isInteger(tryNumber) || tryNumber < 1)) throw new InvalidArgument(`--try '${opts.try}' is not a try number ≥ 1`);
        const m = await ctx.db();
        await getDagRun(m, dagId, opts.runId);
        const ti = await findTaskInstance(m, dagId, opts.runId, taskId, mapIndex);
        const stored = await loadRenderedFields(m, ti.id, tryNumber);
        if (!stored) throw new InvalidArgument(`no rendered fields stored for ${dagId}.${taskId} in run ${opts.runId}${tryNumber ? ` try ${tryNumber}` : ''}`, 'a try stores them once it has rendered; render now without --stored');
        print(ctx.output, { dagId, taskId, runId: opts.runId, tryNumber: stored.tryNumber, source: 'stored' }, stored.rendered);
        return;
      }
      const logicalDate = parseLogicalDate(opts.logicalDate);
      const conf = parseConf(opts.conf) as JsonObject | undefined;
      const m = await ctx.db();
      const { dag, fileloc } = await importDagForCli(ctx, dagId, opts.file);
      const result = await renderTaskInProcess({
        db: m,
        dag,
        taskId,
        fileloc,
        mapIndex,
        secrets: createEngine(ctx.config(), { db: m }).secrets,
        ...(opts.runId === undefined ? {} : { runId: opts.runId }),
        ...(logicalDate === undefined ? {} : { logicalDate }),
        ...(conf === undefined ? {} : { conf }),
      });
      print(ctx.output, { dagId, taskId, runId: result.runId, tryNumber: result.tryNumber, source: 'rendered' }, result.renderedFields);
    });
};

function print(output: 'table' | 'json', head: Record<string, unknown>, fields: JsonObject): void {
  if (output === 'json') {
    printObject({ ...head, renderedFields: fields }, 'json');
    return;
  }
  const rule = `# ${'-'.repeat(60)}`;
  for (const [name, value] of Object.entries(fields)) {
    process.stdout.write(`${rule}\n# field: ${name}\n${rule}\n${renderedText(value)}\n\n`);
  }
}
