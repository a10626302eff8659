/**
 * Pools (Airflow 3's `/pools`): list, create, get, patch, delete, each answered with the slots its task
 * instances hold now — running, queued, deferred (held only when `includeDeferred`), occupied and open.
 * `default_pool` cannot be deleted (400); a pool with running or queued task instances is refused (409).
 */
import { z } from '@hono/zod-openapi';
import { MAX_POOL_NAME_LENGTH, POOL_SORT_FIELDS, PoolStore, type PoolUsage } from '../../../../../store/index.ts';
import { can } from '../../access.ts';
import { orderByQuery, pageQuery, searchQuery } from '../../input.ts';
import { defineRoute } from '../../route.ts';
import { pageOf } from '../../schemas/common.ts';

const TAGS = ['Pool'];

const PoolNameParam = z
  .string()
  .regex(/^[^\p{Cc}]{1,256}$/u, `must be 1-${MAX_POOL_NAME_LENGTH} characters without control characters`)
  .openapi({ description: 'pool name', example: 'default_pool' });

const slotCount = (description: string) => z.number().int().openapi({ description });
const PoolSchema = z
  .object({
    name: z.string(),
    slots: z.number().int(),
    description: z.string().nullable(),
    includeDeferred: z.boolean(),
    runningSlots: slotCount('slots held by running task instances'),
    queuedSlots: slotCount('slots held by queued task instances'),
    deferredSlots: slotCount('slots of deferred task instances (held only when includeDeferred)'),
    occupiedSlots: slotCount('running + queued (+ deferred when includeDeferred)'),
    openSlots: slotCount('slots − occupied; negative when the pool was shrunk below its use'),
  })
  .openapi('Pool');

const PoolFields = {
  slots: z.number().int().min(0).max(1_000_000),
  description: z.string().max(5000).nullable().optional(),
  includeDeferred: z.boolean().optional(),
};
const NewPoolBody = z
  .object({ name: z.string().min(1).max(MAX_POOL_NAME_LENGTH), ...PoolFields })
  .strict()
  .openapi('PoolCreate');
const PatchPoolBody = z
  .object({ ...PoolFields, slots: PoolFields.slots.optional() })
  .strict()
  .openapi('PoolPatch');

function poolView(p: PoolUsage): z.input<typeof PoolSchema> {
  return { name: p.name, slots: p.slots, description: p.description, includeDeferred: p.includeDeferred, runningSlots: p.running, queuedSlots: p.queued, deferredSlots: p.deferred, occupiedSlots: p.occupied, openSlots: p.open };
}

/** Only the fields that were given (the store treats undefined as "keep"). */
function settings(body: { slots?: number | undefined; description?: string | null | undefined; includeDeferred?: boolean | undefined }) {
  return {
    ...(body.slots === undefined ? {} : { slots: body.slots }),
    ...(body.description === undefined ? {} : { description: body.description }),
    ...(body.includeDeferred === undefined ? {} : { includeDeferred: body.includeDeferred }),
  };
}

export const listPools = defineRoute({
  method: 'get',
  path: '/pools',
  operationId: 'listPools',
  tags: TAGS,
  summary: 'List pools with their slot usage',
  access: can('pool', 'read'),
  query: { ...pageQuery(), orderBy: orderByQuery(POOL_SORT_FIELDS, 'name'), poolNamePattern: searchQuery('case-insensitive substring of the pool name') },
  response: { schema: pageOf('pools', PoolSchema) },
  handler: async (_c, { query: q }, d) => {
    const page = await new PoolStore(d.db).page({ limit: q.limit, offset: q.offset, sort: { by: q.orderBy.field, descending: q.orderBy.descending }, ...(q.poolNamePattern === undefined ? {} : { search: q.poolNamePattern }) });
    return { pools: page.items.map(poolView), totalEntries: page.total };
  },
});

export const createPool = defineRoute({
  method: 'post',
  path: '/pools',
  operationId: 'createPool',
  tags: TAGS,
  summary: 'Create a pool',
  description: '409 when the name is taken (change it with PATCH).',
  access: can('pool', 'create', 'pool.create'),
  body: NewPoolBody,
  response: { status: 201, schema: PoolSchema },
  handler: async (c, { body }, d) => {
    const created = await new PoolStore(d.db).create(body.name, { slots: body.slots, ...settings({ ...body, slots: undefined }) });
    c.set('auditTarget', { details: { pool: body.name, slots: body.slots } });
    return poolView(created);
  },
});

export const getPool = defineRoute({
  method: 'get',
  path: '/pools/{poolName}',
  operationId: 'getPool',
  tags: TAGS,
  summary: 'One pool with its slot usage',
  access: can('pool', 'read'),
  params: { poolName: PoolNameParam },
  response: { schema: PoolSchema },
  handler: async (_c, { params }, d) => poolView(await new PoolStore(d.db).require(params.poolName)),
});

export const patchPool = defineRoute({
  method: 'patch',
  path: '/pools/{poolName}',
  operationId: 'patchPool',
  tags: TAGS,
  summary: 'Change a pool',
  description: 'Changes the fields given (slots, description, includeDeferred); `default_pool` may be resized.',
  access: can('pool', 'edit', 'pool.patch'),
  params: { poolName: PoolNameParam },
  body: PatchPoolBody,
  response: { schema: PoolSchema },
  handler: async (c, { params, body }, d) => {
    const updated = await new PoolStore(d.db).update(params.poolName, settings(body));
    c.set('auditTarget', { details: { pool: params.poolName, ...settings(body) } });
    return poolView(updated);
  },
});

export const deletePool = defineRoute({
  method: 'delete',
  path: '/pools/{poolName}',
  operationId: 'deletePool',
  tags: TAGS,
  summary: 'Delete a pool',
  description: '`default_pool` cannot be deleted (400); a pool whose task instances are running or queued is refused (409).',
  access: can('pool', 'delete', 'pool.delete'),
  params: { poolName: PoolNameParam },
  response: { schema: z.object({ name: z.string(), deleted: z.literal(true) }) },
  handler: async (c, { params }, d) => {
    await new PoolStore(d.db).delete(params.poolName);
    c.set('auditTarget', { details: { pool: params.poolName } });
    return { name: params.poolName, deleted: true as const };
  },
});

export const poolRoutes = [listPools, createPool, getPool, patchPool, deletePool];
