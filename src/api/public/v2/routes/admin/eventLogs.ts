/**
 * The audit log as Airflow 3's `/eventLogs`: who (`owner`) did what (`event`, e.g. `variable.create`,
 * `dag.trigger`, `auth.login`) to which DAG, run and task, when, with the outcome and details in `extra`.
 * Filters by DAG, run, task, actor, action and a time range; a role limited to some DAGs sees the entries
 * of its DAGs only.
 */
import { z } from '@hono/zod-openapi';
import { NotFound } from '../../../../../core/index.ts';
import type { AuditEntry } from '../../../../../store/index.ts';
import { AuditLog } from '../../../../../store/index.ts';
import { can } from '../../access.ts';
import { dateQuery, intQuery, pageQuery } from '../../input.ts';
import { defineRoute } from '../../route.ts';
import { pageOf } from '../../schemas/common.ts';
import { iso, visibleDagFilter } from './common.ts';

const TAGS = ['EventLog'];

const EventLogSchema = z
  .object({
    eventLogId: z.number().int(),
    when: z.string().openapi({ format: 'date-time' }),
    event: z.string().openapi({ description: 'the action, a dotted verb such as variable.create or dag.trigger' }),
    owner: z.string().openapi({ description: 'who acted: a user name, token:<id>, cli:<os user> or a component' }),
    dagId: z.string().nullable(),
    dagRunId: z.string().nullable(),
    taskId: z.string().nullable(),
    extra: z.unknown().openapi({ description: 'what was recorded with it: outcome, status, target fields (JSON), or text' }),
  })
  .openapi('EventLog');

function eventLogView(e: AuditEntry): z.input<typeof EventLogSchema> {
  let extra: unknown = e.details;
  try {
    extra = e.details === null ? null : JSON.parse(e.details);
  } catch {
    // Plain-text details stay text.
  }
  return { eventLogId: e.id, when: iso(e.at) ?? '', event: e.event, owner: e.actor, dagId: e.dagId, dagRunId: e.runId, taskId: e.taskId, extra };
}

const id = z.string().min(1).max(250);

export const listEventLogs = defineRoute({
  method: 'get',
  path: '/eventLogs',
  operationId: 'listEventLogs',
  tags: TAGS,
  summary: 'List audit log entries',
  description: 'Newest first. `owner` is the actor, `event` the action; `after`/`before` bound the time (after inclusive, before exclusive).',
  access: can('audit_log', 'read'),
  query: {
    ...pageQuery(),
    dagId: id.optional(),
    dagRunId: id.optional(),
    taskId: id.optional(),
    owner: id.optional().openapi({ description: 'the actor' }),
    event: z.string().min(1).max(100).optional().openapi({ description: 'the action, e.g. connection.delete' }),
    after: dateQuery('entries at or after this time'),
    before: dateQuery('entries before this time'),
  },
  response: { schema: pageOf('eventLogs', EventLogSchema) },
  handler: async (c, { query: q }, d) => {
    const dagIds = await visibleDagFilter(c, d.db);
    const query = {
      limit: q.limit,
      offset: q.offset,
      ...(q.dagId === undefined ? {} : { dagId: q.dagId }),
      ...(q.dagRunId === undefined ? {} : { runId: q.dagRunId }),
      ...(q.taskId === undefined ? {} : { taskId: q.taskId }),
      ...(q.owner === undefined ? {} : { actor: q.owner }),
      ...(q.event === undefined ? {} : { event: q.event }),
      ...(q.after === undefined ? {} : { since: q.after }),
      ...(q.before === undefined ? {} : { until: q.before }),
      ...(dagIds === undefined ? {} : { dagIds }),
    };
    const audit = new AuditLog(d.db);
    const [entries, total] = await Promise.all([audit.list(query), audit.count(query)]);
    return { eventLogs: entries.map(eventLogView), totalEntries: total };
  },
});

export const getEventLog = defineRoute({
  method: 'get',
  path: '/eventLogs/{eventLogId}',
  operationId: 'getEventLog',
  tags: TAGS,
  summary: 'One audit log entry',
  access: can('audit_log', 'read'),
  params: { eventLogId: intQuery({ min: 1, max: Number.MAX_SAFE_INTEGER, description: 'entry id' }) },
  response: { schema: EventLogSchema },
  handler: async (c, { params }, d) => {
    const dagIds = await visibleDagFilter(c, d.db);
    const entry = await new AuditLog(d.db).get(params.eventLogId);
    // An entry outside the caller's DAGs (or about no DAG, for a role limited to some) does not exist for it.
    if (!entry || (dagIds !== undefined && (entry.dagId === null || !dagIds.includes(entry.dagId)))) throw new NotFound(`audit log entry ${params.eventLogId} does not exist`);
    return eventLogView(entry);
  },
});

export const eventLogRoutes = [listEventLogs, getEventLog];
