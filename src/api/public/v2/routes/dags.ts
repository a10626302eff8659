/** DAGs: list with filters, one DAG, pause/unpause one or many. */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { visibleDagIds, actorName, dagAccess, dagAccessPermits } from '../../../../auth/index.ts';
import {
  AuditLog,
  DAG_SORT_FIELDS,
  dagAccessFacts,
  type DagSearch,
  getDag,
  searchDags,
  setPaused,
} from '../../../../store/index.ts';
import type { ApiEnv } from '../../../auth/authMiddleware.ts';
import { InvalidField } from '../../../http/index.ts';
import { can, onDag, onDagAudited } from '../access.ts';
import type { V2Deps } from '../deps.ts';
import { boolQuery, listQuery, orderByQuery, pageQuery, searchQuery } from '../input.ts';
import { defineRoute } from '../route.ts';
import { DagId, pageOf } from '../schemas/common.ts';
import { dagListView, DagRunStateSchema, DagSchema, dagView, DagWithLatestRunSchema } from '../schemas/dags.ts';

const TAGS = ['DAG'];

/** The filters shared by the list and the bulk patch (Airflow's names in camelCase). */
const DagFilterQuery = {
  dagIdPattern: searchQuery('case-insensitive substring of the DAG id (DAGs have no separate display name)'),
  tags: listQuery(z.string().min(1).max(100), 'DAGs with any (or, with tagsMatchMode=all, every) of these tags'),
  tagsMatchMode: z.enum(['any', 'all']).optional().openapi({ description: 'default any' }),
  paused: boolQuery('only paused (true) or unpaused (false) DAGs'),
  owners: listQuery(z.string().min(1).max(250), 'DAGs owned by any of these'),
  lastDagRunState: listQuery(DagRunStateSchema, 'DAGs whose newest run is in one of these states'),
};

type DagFilterInput = { dagIdPattern?: string | undefined; tags?: string[] | undefined; tagsMatchMode?: 'any' | 'all' | undefined; paused?: boolean | undefined; owners?: string[] | undefined; lastDagRunState?: DagSearch['lastRunStates'] | undefined };

/** The store's search for these filters, limited to the DAGs the caller may see. */
async function dagSearch(c: Context<ApiEnv>, d: V2Deps, q: DagFilterInput): Promise<DagSearch> {
  const visible = await visibleDagIds(d.db, c.get('principal').dags);
  return {
    ...(visible === 'all' ? {} : { dagIds: visible }),
    ...(q.dagIdPattern === undefined ? {} : { dagIdPattern: q.dagIdPattern }),
    ...(q.tags === undefined ? {} : { tags: q.tags, tagsMatchMode: q.tagsMatchMode ?? 'any' }),
    ...(q.paused === undefined ? {} : { paused: q.paused }),
    ...(q.owners === undefined ? {} : { owners: q.owners }),
    ...(q.lastDagRunState === undefined ? {} : { lastRunStates: q.lastDagRunState }),
  };
}

export const listDags = defineRoute({
  method: 'get',
  path: '/dags',
  operationId: 'listDags',
  tags: TAGS,
  summary: 'List DAGs',
  description: 'Active DAGs the caller may see, filtered and ordered, each with its newest run.',
  access: can('dag', 'read'),
  query: { ...pageQuery(), orderBy: orderByQuery(DAG_SORT_FIELDS, 'dagId'), ...DagFilterQuery },
  response: { schema: pageOf('dags', DagWithLatestRunSchema) },
  handler: async (c, { query: q }, d) => {
    const { dags, total } = await searchDags(d.db, await dagSearch(c, d, q), q, { by: q.orderBy.field, descending: q.orderBy.descending });
    return { dags: dags.map(dagListView), totalEntries: total };
  },
});

const PatchDagBody = z.object({ isPaused: z.boolean() }).strict().openapi('DagPatch');

export const patchDags = defineRoute({
  method: 'patch',
  path: '/dags',
  operationId: 'patchDags',
  tags: TAGS,
  summary: 'Pause or unpause many DAGs',
  description: 'Applies `isPaused` to every DAG matching the filters (at most `limit` of them, in `orderBy` order) and answers the changed DAGs. `dagIdPattern` (or another filter) is required, so no call pauses everything by accident; use `dagIdPattern=_`… or list the ids with `dagIds`.',
  access: can('dag', 'edit', 'dag.patch'),
  query: { ...pageQuery(), orderBy: orderByQuery(DAG_SORT_FIELDS, 'dagId'), ...DagFilterQuery, dagIds: listQuery(DagId, 'only these DAGs') },
  body: PatchDagBody,
  response: { schema: pageOf('dags', DagSchema) },
  handler: async (c, { query: q, body }, d) => {
    const s = await dagSearch(c, d, q);
    const hasFilter = [q.dagIdPattern, q.tags, q.paused, q.owners, q.lastDagRunState, q.dagIds].some((v) => v !== undefined);
    if (!hasFilter) throw new InvalidField('dagIdPattern', 'query: give at least one filter (dagIds, dagIdPattern, tags, owners, paused, lastDagRunState)');
    const dagIds = q.dagIds === undefined ? s.dagIds : s.dagIds === undefined ? q.dagIds : q.dagIds.filter((id) => s.dagIds?.includes(id));
    const { dags } = await searchDags(d.db, { ...s, ...(dagIds === undefined ? {} : { dagIds }) }, q, { by: q.orderBy.field, descending: q.orderBy.descending });
    const audit = new AuditLog(d.db);
    const principal = c.get('principal');
    const changed = [];
    for (const dag of dags) {
      // A DAG the caller may only read is left alone.
      if (principal.dags.kind !== 'all') {
        const facts = await dagAccessFacts(d.db, dag.dag_id);
        if (facts === undefined || !dagAccessPermits(dagAccess(principal.dags, facts), 'edit')) continue;
      }
      await setPaused(d.db, dag.dag_id, body.isPaused);
      await audit.append({ actor: actorName(principal), event: body.isPaused ? 'dag.pause' : 'dag.unpause', dagId: dag.dag_id });
      changed.push(dagView(await getDag(d.db, dag.dag_id)));
    }
    return { dags: changed, totalEntries: changed.length };
  },
});

export const getDagRoute = defineRoute({
  method: 'get',
  path: '/dags/{dagId}',
  operationId: 'getDag',
  tags: TAGS,
  summary: 'One DAG',
  access: onDag('dag', 'read'),
  params: { dagId: DagId },
  response: { schema: DagSchema },
  handler: async (_c, { params }, d) => dagView(await getDag(d.db, params.dagId)),
});

export const patchDag = defineRoute({
  method: 'patch',
  path: '/dags/{dagId}',
  operationId: 'patchDag',
  tags: TAGS,
  summary: 'Pause or unpause a DAG',
  access: onDagAudited('dag', 'edit', 'dag.patch'),
  params: { dagId: DagId },
  body: PatchDagBody,
  response: { schema: DagSchema },
  handler: async (c, { params, body }, d) => {
    await setPaused(d.db, params.dagId, body.isPaused);
    await new AuditLog(d.db).append({ actor: actorName(c.get('principal')), event: body.isPaused ? 'dag.pause' : 'dag.unpause', dagId: params.dagId });
    return dagView(await getDag(d.db, params.dagId));
  },
});

export const dagRoutes = [listDags, patchDags, getDagRoute, patchDag];
