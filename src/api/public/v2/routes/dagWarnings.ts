/**
 * DAG warnings (Airflow 3's `/dagWarnings`): what the DAG processor found in a DAG that works but is known to
 * hurt in production — a `:latest` image without a pull policy, a pod without resource requests — per DAG and
 * task, with its fix. A role limited to some DAGs sees theirs only.
 */
import { z } from '@hono/zod-openapi';
import { type DagWarningRow, listDagWarnings } from '../../../../store/index.ts';
import { can } from '../access.ts';
import { pageQuery } from '../input.ts';
import { defineRoute } from '../route.ts';
import { DagId, pageOf } from '../schemas/common.ts';
import { visibleDagFilter } from './admin/common.ts';

const DagWarningSchema = z
  .object({
    dagId: z.string(),
    taskId: z.string().nullable().openapi({ description: 'the task it is about; null for the DAG as a whole' }),
    warningType: z.string().openapi({ description: 'stable code, e.g. latest-image-without-pull-policy or pod-without-resource-requests' }),
    message: z.string().openapi({ description: 'what is wrong, why it matters and the fix' }),
  })
  .openapi('DagWarning');

function view(w: DagWarningRow): z.input<typeof DagWarningSchema> {
  return { dagId: w.dagId, taskId: w.taskId, warningType: w.code, message: w.message };
}

export const listDagWarningsRoute = defineRoute({
  method: 'get',
  path: '/dagWarnings',
  operationId: 'listDagWarnings',
  tags: ['DagWarning'],
  summary: 'List DAG warnings',
  access: can('dag', 'read'),
  query: {
    ...pageQuery(),
    dagId: DagId.optional(),
    warningType: z.string().regex(/^[a-z0-9-]{1,100}$/, 'must be a warning code such as pod-without-resource-requests').optional(),
  },
  response: { schema: pageOf('dagWarnings', DagWarningSchema) },
  handler: async (c, { query: q }, d) => {
    const visible = await visibleDagFilter(c, d.db);
    const dagIds = q.dagId === undefined ? visible : visible === undefined || visible.includes(q.dagId) ? [q.dagId] : [];
    const all = await listDagWarnings(d.db, { ...(dagIds === undefined ? {} : { dagIds }), ...(q.warningType === undefined ? {} : { code: q.warningType }) });
    return { dagWarnings: all.slice(q.offset, q.offset + q.limit).map(view), totalEntries: all.length };
  },
});

export const dagWarningRoutes = [listDagWarningsRoute];
