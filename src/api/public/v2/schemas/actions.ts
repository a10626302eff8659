/** Answers of the actions that change many task instances: clear and mark (both with dry runs). */
import { z } from '@hono/zod-openapi';
import type { ClearResult, MarkTasksResult } from '../../../../services/index.ts';
import { DagRunStateSchema } from './dags.ts';
import { TaskInstanceStateSchema } from './runs.ts';

const Affected = z.object({ dagRunId: z.string(), taskId: z.string(), mapIndex: z.number().int(), previousState: TaskInstanceStateSchema });

export const ClearResultSchema = z
  .object({
    dryRun: z.boolean(),
    taskInstances: z.array(Affected).openapi({ description: 'what was (or, on a dry run, would be) cleared' }),
    dagRuns: z.array(z.object({ dagRunId: z.string(), previousState: DagRunStateSchema, state: DagRunStateSchema, clearNumber: z.number().int() })),
  })
  .openapi('ClearResult');

export function clearResultView(r: ClearResult): z.input<typeof ClearResultSchema> {
  return {
    dryRun: r.dryRun,
    taskInstances: r.taskInstances.map((t) => ({ dagRunId: t.runId, taskId: t.taskId, mapIndex: t.mapIndex, previousState: t.previousState })),
    dagRuns: r.runs.map((x) => ({ dagRunId: x.runId, previousState: x.previousState, state: x.state, clearNumber: x.clearNumber })),
  };
}

export const MarkResultSchema = z
  .object({
    dryRun: z.boolean(),
    state: z.enum(['success', 'failed']),
    taskInstances: z.array(Affected).openapi({ description: 'what was (or, on a dry run, would be) marked' }),
  })
  .openapi('MarkResult');

export function markResultView(r: MarkTasksResult): z.input<typeof MarkResultSchema> {
  return { dryRun: r.dryRun, state: r.state, taskInstances: r.taskInstances.map((t) => ({ dagRunId: t.runId, taskId: t.taskId, mapIndex: t.mapIndex, previousState: t.previousState })) };
}
