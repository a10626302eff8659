/**
 * A task instance's tries and the state moves behind them, both from the tables the transition verbs
 * write: `task_instance_try` (one row per try, kept across clears) and `task_instance_history` (one row per
 * state move, with who moved it and why).
 */
import { z } from '@hono/zod-openapi';
import { FAILURE_KINDS } from '../../../../core/index.ts';
import { findTaskInstance, listTries, pageTaskInstanceHistory } from '../../../../store/index.ts';
import type { TaskInstanceHistoryRow } from '../../../../store/index.ts';
import { onDag } from '../access.ts';
import { intQuery, orderByQuery, pageQuery } from '../input.ts';
import { defineRoute } from '../route.ts';
import { DagId, pageOf, RunId, TaskId, Timestamp } from '../schemas/common.ts';
import { iso } from '../schemas/dags.ts';
import { TaskInstanceStateSchema, TaskInstanceTrySchema, tryView } from '../schemas/runs.ts';
import { MapIndexQuery } from './taskInstances.ts';

const TAGS = ['TaskInstance'];
const TiPath = { dagId: DagId, dagRunId: RunId, taskId: TaskId };
const TryNumberQuery = intQuery({ min: 1, max: 1_000_000, description: 'only the moves of this try' }).optional();

export const listTaskInstanceTries = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries',
  operationId: 'getTaskInstanceTries',
  tags: TAGS,
  summary: 'Try history of a task instance',
  description: 'Every try, oldest first — a cleared instance keeps its earlier tries: executor, host or pod, times, exit code and failure reason.',
  access: onDag('task_instance', 'read'),
  params: TiPath,
  query: { mapIndex: MapIndexQuery, ...pageQuery() },
  response: { schema: pageOf('taskInstances', TaskInstanceTrySchema) },
  handler: async (_c, { params, query }, d) => {
    const ti = await findTaskInstance(d.db, params.dagId, params.dagRunId, params.taskId, query.mapIndex);
    const tries = await listTries(d.db, ti.id);
    return { taskInstances: tries.slice(query.offset, query.offset + query.limit).map(tryView), totalEntries: tries.length };
  },
});

const StateMoveSchema = z
  .object({
    tryNumber: z.number().int().openapi({ description: 'the try the move belongs to (0 before the first queueing)' }),
    mapIndex: z.number().int(),
    fromState: TaskInstanceStateSchema,
    toState: TaskInstanceStateSchema,
    actor: z.string().openapi({ description: '`scheduler`, `executor`, `triggerer`, `worker`, a user name, or `token:<id>`' }),
    reason: z.string().nullable(),
    failureKind: z.enum(FAILURE_KINDS).nullable().openapi({ description: 'set on moves to failed and up_for_retry' }),
    at: Timestamp,
  })
  .openapi('TaskInstanceStateMove');

function moveView(h: TaskInstanceHistoryRow): z.input<typeof StateMoveSchema> {
  return { tryNumber: h.try_number, mapIndex: h.map_index, fromState: h.from_state, toState: h.to_state, actor: h.actor, reason: h.reason, failureKind: h.failure_kind, at: iso(h.at) };
}

export const listTaskInstanceStateHistory = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/stateHistory',
  operationId: 'getTaskInstanceStateHistory',
  tags: TAGS,
  summary: 'Every state move of a task instance, across its tries',
  description: 'From the state history table: each queueing, start and end, and the clears, marks and retries between them, with who moved it (`actor`) and why (`reason`, `failureKind`). Oldest first unless `orderBy=-at`.',
  access: onDag('task_instance', 'read'),
  params: TiPath,
  query: { mapIndex: MapIndexQuery, tryNumber: TryNumberQuery, ...pageQuery(), orderBy: orderByQuery(['at'] as const, 'at') },
  response: { schema: pageOf('stateMoves', StateMoveSchema) },
  handler: async (_c, { params, query: q }, d) => {
    const ti = await findTaskInstance(d.db, params.dagId, params.dagRunId, params.taskId, q.mapIndex);
    const page = await pageTaskInstanceHistory(d.db, { tiId: ti.id, ...(q.tryNumber === undefined ? {} : { tryNumber: q.tryNumber }) }, q, q.orderBy.descending);
    return { stateMoves: page.items.map(moveView), totalEntries: page.total };
  },
});

export const tryRoutes = [listTaskInstanceTries, listTaskInstanceStateHistory];
