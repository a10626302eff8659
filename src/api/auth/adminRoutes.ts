/**
 * Administration under `/api/v1`: users, custom roles, every user's API tokens, and the audit log.
 *
 *   GET|POST /users, GET|PATCH|DELETE /users/:username
 *   GET|POST /roles, GET|PATCH|DELETE /roles/:name
 *   GET /apiTokens[?username=], DELETE /apiTokens/:tokenId
 *   GET /auditLog?dagId&runId&taskId&actor&event&since&until&limit&offset
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { AuthService } from '../../auth/authService.ts';
import { visibleDagIds } from '../../auth/dagGrants.ts';
import { NotFound } from '../../core/errors.ts';
import type { AuditEntry, AuditLog } from '../../store/auditLog.ts';
import type { MetadataDb } from '../../store/db.ts';
import type { CustomRole } from '../../store/users.ts';
import { errorResponse } from '../errors.ts';
import type { ApiEnv } from './authMiddleware.ts';
import { apiTokenJson, userJson } from './authRoutes.ts';
import { parseInput, readBody } from './body.ts';

export interface AdminRoutesDeps {
  db: MetadataDb;
  auth: AuthService;
  audit: AuditLog;
}

const MAX_LIMIT = 1000;
const name = z.string().min(1).max(250);
const NewUser = z
  .object({
    username: name,
    password: z.string().max(1024).optional(),
    role: z.string().min(1).max(100),
    displayName: z.string().min(1).max(250).optional(),
    email: z.string().max(320).nullable().optional(),
  })
  .strict();
const PatchUser = z
  .object({
    password: z.string().max(1024).optional(),
    role: z.string().min(1).max(100).optional(),
    displayName: z.string().min(1).max(250).optional(),
    email: z.string().max(320).nullable().optional(),
    active: z.boolean().optional(),
  })
  .strict();
const ids = z.array(z.string().min(1).max(250)).max(1000);
const NewRole = z
  .object({
    name: z.string().min(1).max(100),
    baseRole: z.enum(['Viewer', 'User', 'Op']),
    dagIds: ids.optional(),
    dagTags: ids.optional(),
    description: z.string().max(1000).nullable().optional(),
  })
  .strict();
const PatchRole = NewRole.omit({ name: true }).partial().strict();
const Page = { limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(100), offset: z.coerce.number().int().min(0).default(0) };
const ListQuery = z.object(Page).strict();
const isoTime = z.iso.datetime({ offset: true }).transform((t) => Date.parse(t));
const AuditQuery = z
  .object({
    ...Page,
    dagId: name.optional(),
    runId: name.optional(),
    taskId: name.optional(),
    actor: name.optional(),
    event: z.string().min(1).max(100).optional(),
    since: isoTime.optional(),
    until: isoTime.optional(),
  })
  .strict();
const TokenQuery = z.object({ username: name.optional(), includeRevoked: z.enum(['true', 'false']).optional() }).strict();

export function adminRoutes(d: AdminRoutesDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.onError((err, c) => errorResponse(c, err));

  app.get('/users', async (c) => {
    const q = parseInput(ListQuery, c.req.query(), 'query');
    const { users, total } = await d.auth.users.list(q);
    return c.json({ users: users.map(userJson), totalEntries: total });
  });
  app.post('/users', async (c) => {
    const b = await readBody(c, NewUser, 'user');
    const user = await d.auth.createUser({ ...b, password: b.password ?? null } as Parameters<AuthService['createUser']>[0]);
    c.set('auditTarget', { details: { username: user.username, role: user.role } });
    return c.json(userJson(user), 201);
  });
  app.get('/users/:username', async (c) => c.json(userJson(await d.auth.users.get(c.req.param('username')))));
  app.patch('/users/:username', async (c) => {
    const b = await readBody(c, PatchUser, 'user');
    const user = await d.auth.updateUser(c.req.param('username'), b as Parameters<AuthService['updateUser']>[1]);
    const { password, ...changed } = b;
    c.set('auditTarget', { details: { username: user.username, ...changed, ...(password === undefined ? {} : { password: 'changed' }) } });
    return c.json(userJson(user));
  });
  app.delete('/users/:username', async (c) => {
    await d.auth.deleteUser(c.req.param('username'));
    c.set('auditTarget', { details: { username: c.req.param('username') } });
    return c.body(null, 204);
  });

  app.get('/roles', async (c) => {
    const roles = await d.auth.users.listRoles();
    return c.json({ roles: roles.map(roleJson), builtinRoles: ['Viewer', 'User', 'Op', 'Admin'], totalEntries: roles.length });
  });
  app.post('/roles', async (c) => {
    const b = await readBody(c, NewRole, 'role');
    const role = await d.auth.createRole(b as Parameters<AuthService['createRole']>[0]);
    c.set('auditTarget', { details: roleJson(role) });
    return c.json(roleJson(role), 201);
  });
  app.get('/roles/:name', async (c) => c.json(roleJson(await d.auth.users.getRole(c.req.param('name')))));
  app.patch('/roles/:name', async (c) => {
    const b = await readBody(c, PatchRole, 'role');
    const role = await d.auth.updateRole(c.req.param('name'), b as Parameters<AuthService['updateRole']>[1]);
    c.set('auditTarget', { details: roleJson(role) });
    return c.json(roleJson(role));
  });
  app.delete('/roles/:name', async (c) => {
    await d.auth.users.deleteRole(c.req.param('name'));
    c.set('auditTarget', { details: { name: c.req.param('name') } });
    return c.body(null, 204);
  });

  app.get('/apiTokens', async (c) => {
    const q = parseInput(TokenQuery, c.req.query(), 'query');
    const tokens = await d.auth.apiTokens.list({ ...(q.username === undefined ? {} : { username: q.username }), includeRevoked: q.includeRevoked === 'true' });
    return c.json({ apiTokens: tokens.map(apiTokenJson), totalEntries: tokens.length });
  });
  app.delete('/apiTokens/:tokenId', async (c) => {
    const tokenId = c.req.param('tokenId');
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(tokenId)) throw new NotFound(`API token '${tokenId.slice(0, 40)}' does not exist`);
    const info = await d.auth.apiTokens.revoke(tokenId);
    c.set('auditTarget', { details: { tokenId, tokenName: info.name, username: info.username } });
    return c.json(apiTokenJson(info));
  });

  app.get('/auditLog', async (c) => {
    const q = parseInput(AuditQuery, c.req.query(), 'query');
    const visible = await visibleDagIds(d.db, c.get('principal').dags);
    const query = { ...q, ...(visible === 'all' ? {} : { dagIds: visible }) };
    const [entries, total] = await Promise.all([d.audit.list(query), d.audit.count(query)]);
    return c.json({ auditLog: entries.map(auditJson), totalEntries: total });
  });

  return app;
}

function roleJson(r: CustomRole): Record<string, unknown> {
  return { name: r.name, baseRole: r.baseRole, dagIds: r.dagIds, dagTags: r.dagTags, description: r.description, createdAt: new Date(r.createdAt).toISOString() };
}

function auditJson(e: AuditEntry): Record<string, unknown> {
  let details: unknown = e.details;
  try {
    details = e.details === null ? null : JSON.parse(e.details);
  } catch {
    // Plain-text details stay text.
  }
  return { id: e.id, at: new Date(e.at).toISOString(), event: e.event, actor: e.actor, dagId: e.dagId, runId: e.runId, taskId: e.taskId, details };
}
