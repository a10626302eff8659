/**
 * Connections (Airflow 3's `/connections` in camelCase): list, create, get, patch, delete, and "test". Secrets
 * are write-only: `password` is answered as `***` (or null when there is none) and secret-named `extra`
 * fields as `***`; a patch without `password`, or with `***`, keeps the stored one. The test action is off
 * unless `api.testConnection` is set (404 until then; it reaches out from the API server; see src/services/connectionTest.ts
 * for what each type checks).
 */
import { z } from '@hono/zod-openapi';
import { type Connection, MAX_CONN_ID_LENGTH, normalizeConnType, NotFound } from '../../../../../core/index.ts';
import { testConnection } from '../../../../../services/index.ts';
import { CONNECTION_SORT_FIELDS, type ConnectionPatch } from '../../../../../store/index.ts';
import { can } from '../../access.ts';
import { orderByQuery, pageQuery, searchQuery } from '../../input.ts';
import { defineRoute } from '../../route.ts';
import { pageOf } from '../../schemas/common.ts';
import { adminDeps, type AdminDeps } from './deps.ts';
import { extraToStore, MASK, redactExtra } from './redaction.ts';

const TAGS = ['Connection'];

const ConnectionIdParam = z
  .string()
  .regex(/^[^\p{Cc}]{1,250}$/u, `must be 1-${MAX_CONN_ID_LENGTH} characters without control characters`)
  .openapi({ description: 'connection id', example: 'warehouse_pg' });

const ConnectionSchema = z
  .object({
    connectionId: z.string(),
    connType: z.string(),
    description: z.string().nullable(),
    host: z.string().nullable(),
    login: z.string().nullable(),
    schema: z.string().nullable(),
    port: z.number().int().nullable(),
    password: z.string().nullable().openapi({ description: '`***` when a password is stored (it is never answered), null when none' }),
    extra: z.record(z.string(), z.unknown()).openapi({ description: 'type-specific settings; secret-named fields answered as `***`' }),
  })
  .openapi('Connection');

const nullableText = (max: number) => z.string().max(max).nullable().optional();
const ConnectionFields = {
  connType: z.string().min(1).max(500).openapi({ description: 'lower-case type such as postgres, http, kubernetes' }),
  description: nullableText(5000),
  host: nullableText(500),
  login: nullableText(500),
  schema: nullableText(500),
  port: z.number().int().min(0).max(65535).nullable().optional(),
  password: z.string().max(5000).nullable().optional().openapi({ description: 'write-only; `***` or left out keeps the stored one on a patch, null removes it' }),
  extra: z.record(z.string(), z.unknown()).optional().openapi({ description: 'JSON object; a secret-named field sent as `***` keeps its stored value' }),
};

const NewConnectionBody = z
  .object({ connectionId: z.string().min(1).max(MAX_CONN_ID_LENGTH), ...ConnectionFields })
  .strict()
  .openapi('ConnectionCreate');
const PatchConnectionBody = z
  .object({ ...ConnectionFields, connType: ConnectionFields.connType.optional() })
  .strict()
  .openapi('ConnectionPatch');

type ConnectionView = z.input<typeof ConnectionSchema>;

function connectionView(c: Connection): ConnectionView {
  return {
    connectionId: c.connId,
    connType: c.connType,
    description: c.description,
    host: c.host,
    login: c.login,
    schema: c.schema,
    port: c.port,
    password: c.password === null ? null : MASK,
    extra: redactExtra(c),
  };
}

/** The fields of a body as a store patch; `***` for the password keeps the stored one. */
function patchFrom(body: z.output<typeof PatchConnectionBody>, stored: Connection | undefined): ConnectionPatch {
  const patch: ConnectionPatch = {};
  if (body.connType !== undefined) patch.connType = normalizeConnType(body.connType);
  for (const key of ['description', 'host', 'login', 'schema', 'port'] as const) {
    const v = body[key];
    if (v !== undefined) (patch as Record<string, unknown>)[key] = v;
  }
  if (body.password !== undefined && !(body.password === MASK && stored !== undefined)) patch.password = body.password;
  if (body.extra !== undefined) patch.extra = stored ? extraToStore(body.extra, stored.extra) : body.extra;
  return patch;
}

export const listConnections = defineRoute({
  method: 'get',
  path: '/connections',
  operationId: 'listConnections',
  tags: TAGS,
  summary: 'List connections',
  description: 'Connections ordered and filtered by a case-insensitive substring of their id; secrets masked.',
  access: can('connection', 'read'),
  query: { ...pageQuery(), orderBy: orderByQuery(CONNECTION_SORT_FIELDS, 'connId'), connectionIdPattern: searchQuery('case-insensitive substring of the connection id') },
  response: { schema: pageOf('connections', ConnectionSchema) },
  handler: async (_c, { query: q }, d) => {
    const page = await adminDeps(d).connections.page({ limit: q.limit, offset: q.offset, sort: { by: q.orderBy.field, descending: q.orderBy.descending }, ...(q.connectionIdPattern === undefined ? {} : { search: q.connectionIdPattern }) });
    return { connections: page.items.map(connectionView), totalEntries: page.total };
  },
});

export const createConnection = defineRoute({
  method: 'post',
  path: '/connections',
  operationId: 'createConnection',
  tags: TAGS,
  summary: 'Create a connection',
  description: 'Stores a new connection (password and extra encrypted); 409 when the id is taken.',
  access: can('connection', 'create', 'connection.create'),
  body: NewConnectionBody,
  response: { status: 201, schema: ConnectionSchema },
  handler: async (c, { body }, d) => {
    const a = adminDeps(d);
    const conn: Connection = { connId: body.connectionId, connType: '', description: null, host: null, schema: null, login: null, password: null, port: null, extra: {}, ...patchFrom(body, undefined) };
    await a.connections.add(conn);
    c.set('auditTarget', { details: { connectionId: conn.connId, connType: conn.connType } });
    return connectionView(await a.connections.require(conn.connId));
  },
});

export const getConnection = defineRoute({
  method: 'get',
  path: '/connections/{connectionId}',
  operationId: 'getConnection',
  tags: TAGS,
  summary: 'One connection',
  access: can('connection', 'read'),
  params: { connectionId: ConnectionIdParam },
  response: { schema: ConnectionSchema },
  handler: async (_c, { params }, d) => connectionView(await adminDeps(d).connections.require(params.connectionId)),
});

export const patchConnection = defineRoute({
  method: 'patch',
  path: '/connections/{connectionId}',
  operationId: 'patchConnection',
  tags: TAGS,
  summary: 'Change a connection',
  description: 'Changes the fields given. Without `password` (or with `***`) the stored password stays; null removes it. `extra` replaces the whole object, except secret-named fields sent as `***`, which keep their stored value.',
  access: can('connection', 'edit', 'connection.patch'),
  params: { connectionId: ConnectionIdParam },
  body: PatchConnectionBody,
  response: { schema: ConnectionSchema },
  handler: async (c, { params, body }, d) => {
    const a = adminDeps(d);
    const stored = await a.connections.require(params.connectionId);
    const updated = await a.connections.update(params.connectionId, patchFrom(body, stored));
    c.set('auditTarget', { details: { connectionId: params.connectionId, fields: Object.keys(body) } });
    return connectionView(updated);
  },
});

export const deleteConnection = defineRoute({
  method: 'delete',
  path: '/connections/{connectionId}',
  operationId: 'deleteConnection',
  tags: TAGS,
  summary: 'Delete a connection',
  access: can('connection', 'delete', 'connection.delete'),
  params: { connectionId: ConnectionIdParam },
  response: { status: 200, schema: z.object({ connectionId: z.string(), deleted: z.literal(true) }) },
  handler: async (c, { params }, d) => {
    if (!(await adminDeps(d).connections.delete(params.connectionId))) throw new NotFound(`connection '${params.connectionId}' does not exist`);
    c.set('auditTarget', { details: { connectionId: params.connectionId } });
    return { connectionId: params.connectionId, deleted: true as const };
  },
});

const ConnectionTestSchema = z
  .object({
    status: z.boolean().openapi({ description: 'true when every check passed' }),
    message: z.string(),
    checks: z.array(z.object({ name: z.enum(['resolve', 'connect', 'login', 'http', 'kubernetes']), ok: z.boolean(), detail: z.string() })),
  })
  .openapi('ConnectionTestResult');

function requireTestEnabled(a: AdminDeps): void {
  if (!a.config.api.testConnection) {
    throw new NotFound('testing connections is turned off on this server', 'an operator can turn it on with api.testConnection: true (it lets the API server reach the hosts connections name)');
  }
}

const TEST_DESCRIPTION =
  'Checks what the API server can reach, by type: postgres resolves, connects and logs in (`select 1`); http/https GETs the base URL (below 400 passes); kubernetes GETs the API server’s /version; other types resolve the host and open TCP to host:port. Off unless `api.testConnection` is true (404 until then; 403 stays the answer to a role without the permission).';

export const testConnectionBody = defineRoute({
  method: 'post',
  path: '/connections/test',
  operationId: 'testConnection',
  tags: TAGS,
  summary: 'Test a connection given in the body',
  description: `${TEST_DESCRIPTION} Nothing is stored. When \`connectionId\` names a stored connection, a \`password\` (or secret extra field) sent as \`***\` is taken from it, so a form can test what it shows.`,
  access: can('connection', 'create', 'connection.test'),
  body: NewConnectionBody,
  response: { schema: ConnectionTestSchema },
  handler: async (_c, { body }, d) => {
    const a = adminDeps(d);
    requireTestEnabled(a);
    const stored = await a.connections.get(body.connectionId);
    const base: Connection = stored ?? { connId: body.connectionId, connType: '', description: null, host: null, schema: null, login: null, password: null, port: null, extra: {} };
    return testConnection({ ...base, ...patchFrom(body, stored), connId: body.connectionId });
  },
});

export const testStoredConnection = defineRoute({
  method: 'post',
  path: '/connections/{connectionId}/test',
  operationId: 'testStoredConnection',
  tags: TAGS,
  summary: 'Test a stored connection',
  description: TEST_DESCRIPTION,
  access: can('connection', 'create', 'connection.test'),
  params: { connectionId: ConnectionIdParam },
  response: { schema: ConnectionTestSchema },
  handler: async (_c, { params }, d) => {
    const a = adminDeps(d);
    requireTestEnabled(a);
    return testConnection(await a.connections.require(params.connectionId));
  },
});

export const connectionRoutes = [listConnections, createConnection, testConnectionBody, getConnection, patchConnection, deleteConnection, testStoredConnection];
