/**
 * Users, custom roles and everyone's API tokens (Admin), through the AuthService: a
 * password is never answered, the last active Admin cannot be demoted, deactivated or deleted, a role held
 * by users cannot be deleted, and revoking a token ends it at once. Each signed-in user manages their own
 * tokens under `/auth/tokens`.
 */
import { z } from '@hono/zod-openapi';
import type { AuthService } from '../../../../../auth/index.ts';
import { BUILTIN_ROLES, ROLE_PERMISSIONS } from '../../../../../auth/index.ts';
import type { CustomRole } from '../../../../../store/index.ts';
import { can } from '../../access.ts';
import { boolQuery, pageQuery } from '../../input.ts';
import { defineRoute } from '../../route.ts';
import { pageOf } from '../../schemas/common.ts';
import { ApiTokenSchema, tokenView, UserSchema, userView } from '../../schemas/users.ts';
import { iso } from './common.ts';
import { adminDeps } from './deps.ts';

const name = z.string().min(1).max(250);
const UsernameParam = z.string().regex(/^[^\p{Cc}/]{1,250}$/u, 'must be 1-250 characters without control characters or /').openapi({ description: 'user name' });
const RoleNameParam = z.string().regex(/^[^\p{Cc}/]{1,100}$/u, 'must be 1-100 characters without control characters or /').openapi({ description: 'custom role name' });
const TokenIdParam = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1-32 characters of A-Z a-z 0-9 _ -').openapi({ description: 'API token id (the part before the dot)' });

const RoleSchema = z
  .object({
    name: z.string(),
    baseRole: z.string().openapi({ description: 'the built-in role it narrows: Viewer, User or Op' }),
    dagIds: z.array(z.string()),
    dagTags: z.array(z.string()),
    description: z.string().nullable(),
    createdAt: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('Role');

const NewUserBody = z
  .object({
    username: name,
    password: z.string().max(1024).optional().openapi({ description: 'omit for a user who signs in only through single sign-on' }),
    role: z.string().min(1).max(100),
    displayName: z.string().min(1).max(250).optional(),
    email: z.string().max(320).nullable().optional(),
  })
  .strict()
  .openapi('UserCreate');
const PatchUserBody = z
  .object({
    password: z.string().max(1024).optional(),
    role: z.string().min(1).max(100).optional(),
    displayName: z.string().min(1).max(250).optional(),
    email: z.string().max(320).nullable().optional(),
    active: z.boolean().optional(),
  })
  .strict()
  .openapi('UserPatch');
const ids = z.array(z.string().min(1).max(250)).max(1000);
const RoleFields = {
  baseRole: z.enum(['Viewer', 'User', 'Op']),
  dagIds: ids.optional(),
  dagTags: ids.optional(),
  description: z.string().max(1000).nullable().optional(),
};
const NewRoleBody = z
  .object({ name: z.string().min(1).max(100), ...RoleFields })
  .strict()
  .openapi('RoleCreate');
const PatchRoleBody = z
  .object({ ...RoleFields, baseRole: RoleFields.baseRole.optional() })
  .strict()
  .openapi('RolePatch');

function roleView(r: CustomRole): z.input<typeof RoleSchema> {
  return { name: r.name, baseRole: r.baseRole, dagIds: r.dagIds, dagTags: r.dagTags, description: r.description, createdAt: iso(r.createdAt) ?? '' };
}

/** Only the fields that were given. */
function given<T extends object>(body: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

const USER_TAGS = ['User'];
const ROLE_TAGS = ['Role'];
const TOKEN_TAGS = ['ApiToken'];

export const listUsers = defineRoute({
  method: 'get',
  path: '/users',
  operationId: 'listUsers',
  tags: USER_TAGS,
  summary: 'List users',
  access: can('user', 'read'),
  query: pageQuery(),
  response: { schema: pageOf('users', UserSchema) },
  handler: async (_c, { query: q }, d) => {
    const { users, total } = await adminDeps(d).auth.users.list(q);
    return { users: users.map(userView), totalEntries: total };
  },
});

export const createUser = defineRoute({
  method: 'post',
  path: '/users',
  operationId: 'createUser',
  tags: USER_TAGS,
  summary: 'Create a user',
  description: 'A password user (the password must meet the length rule) or, without a password, a single-sign-on user. The role is a built-in one or a custom role.',
  access: can('user', 'create', 'user.create'),
  body: NewUserBody,
  response: { status: 201, schema: UserSchema },
  handler: async (c, { body }, d) => {
    const user = await adminDeps(d).auth.createUser({ ...given(body), password: body.password ?? null } as Parameters<AuthService['createUser']>[0]);
    c.set('auditTarget', { details: { username: user.username, role: user.role } });
    return userView(user);
  },
});

export const getUser = defineRoute({
  method: 'get',
  path: '/users/{username}',
  operationId: 'getUser',
  tags: USER_TAGS,
  summary: 'One user',
  access: can('user', 'read'),
  params: { username: UsernameParam },
  response: { schema: UserSchema },
  handler: async (_c, { params }, d) => userView(await adminDeps(d).auth.users.get(params.username)),
});

export const patchUser = defineRoute({
  method: 'patch',
  path: '/users/{username}',
  operationId: 'patchUser',
  tags: USER_TAGS,
  summary: 'Change a user',
  description: 'Role, display name, email, active flag or password; the last active Admin cannot lose the role or be deactivated.',
  access: can('user', 'edit', 'user.patch'),
  params: { username: UsernameParam },
  body: PatchUserBody,
  response: { schema: UserSchema },
  handler: async (c, { params, body }, d) => {
    const user = await adminDeps(d).auth.updateUser(params.username, given(body) as Parameters<AuthService['updateUser']>[1]);
    const { password, ...changed } = given(body);
    c.set('auditTarget', { details: { username: user.username, ...changed, ...(password === undefined ? {} : { password: 'changed' }) } });
    return userView(user);
  },
});

export const deleteUser = defineRoute({
  method: 'delete',
  path: '/users/{username}',
  operationId: 'deleteUser',
  tags: USER_TAGS,
  summary: 'Delete a user and their API tokens',
  access: can('user', 'delete', 'user.delete'),
  params: { username: UsernameParam },
  response: { schema: z.object({ username: z.string(), deleted: z.literal(true) }) },
  handler: async (c, { params }, d) => {
    await adminDeps(d).auth.deleteUser(params.username);
    c.set('auditTarget', { details: { username: params.username } });
    return { username: params.username, deleted: true as const };
  },
});

const BuiltinRoleSchema = z.object({ name: z.string(), permissions: z.array(z.string()) }).openapi('BuiltinRole');

export const listRoles = defineRoute({
  method: 'get',
  path: '/roles',
  operationId: 'listRoles',
  tags: ROLE_TAGS,
  summary: 'List custom roles',
  description: "The custom roles (a built-in role narrowed to DAGs by id or tag), and the built-in roles' names and permissions.",
  access: can('role', 'read'),
  query: pageQuery(),
  response: {
    schema: pageOf('roles', RoleSchema).extend({
      builtinRoles: z.array(z.string()),
      builtinRolePermissions: z.array(BuiltinRoleSchema).openapi({ description: 'each built-in role with its permissions (`resource:action`), in rank order' }),
    }),
  },
  handler: async (_c, { query: q }, d) => {
    const roles = await adminDeps(d).auth.users.listRoles();
    return {
      roles: roles.slice(q.offset, q.offset + q.limit).map(roleView),
      builtinRoles: [...BUILTIN_ROLES],
      builtinRolePermissions: BUILTIN_ROLES.map((role) => ({ name: role, permissions: [...ROLE_PERMISSIONS[role]].sort() })),
      totalEntries: roles.length,
    };
  },
});

export const createRole = defineRoute({
  method: 'post',
  path: '/roles',
  operationId: 'createRole',
  tags: ROLE_TAGS,
  summary: 'Create a custom role',
  access: can('role', 'create', 'role.create'),
  body: NewRoleBody,
  response: { status: 201, schema: RoleSchema },
  handler: async (c, { body }, d) => {
    const role = await adminDeps(d).auth.createRole(given(body) as Parameters<AuthService['createRole']>[0]);
    c.set('auditTarget', { details: { name: role.name, baseRole: role.baseRole } });
    return roleView(role);
  },
});

export const getRole = defineRoute({
  method: 'get',
  path: '/roles/{roleName}',
  operationId: 'getRole',
  tags: ROLE_TAGS,
  summary: 'One custom role',
  access: can('role', 'read'),
  params: { roleName: RoleNameParam },
  response: { schema: RoleSchema },
  handler: async (_c, { params }, d) => roleView(await adminDeps(d).auth.users.getRole(params.roleName)),
});

export const patchRole = defineRoute({
  method: 'patch',
  path: '/roles/{roleName}',
  operationId: 'patchRole',
  tags: ROLE_TAGS,
  summary: 'Change a custom role',
  access: can('role', 'edit', 'role.patch'),
  params: { roleName: RoleNameParam },
  body: PatchRoleBody,
  response: { schema: RoleSchema },
  handler: async (c, { params, body }, d) => {
    const role = await adminDeps(d).auth.updateRole(params.roleName, given(body) as Parameters<AuthService['updateRole']>[1]);
    c.set('auditTarget', { details: { name: role.name, fields: Object.keys(given(body)) } });
    return roleView(role);
  },
});

export const deleteRole = defineRoute({
  method: 'delete',
  path: '/roles/{roleName}',
  operationId: 'deleteRole',
  tags: ROLE_TAGS,
  summary: 'Delete a custom role',
  description: 'Refused (400) while users hold it.',
  access: can('role', 'delete', 'role.delete'),
  params: { roleName: RoleNameParam },
  response: { schema: z.object({ name: z.string(), deleted: z.literal(true) }) },
  handler: async (c, { params }, d) => {
    await adminDeps(d).auth.users.deleteRole(params.roleName);
    c.set('auditTarget', { details: { name: params.roleName } });
    return { name: params.roleName, deleted: true as const };
  },
});

export const listApiTokens = defineRoute({
  method: 'get',
  path: '/apiTokens',
  operationId: 'listApiTokens',
  tags: TOKEN_TAGS,
  summary: 'List every user’s API tokens',
  description: 'Newest first, without secrets; revoked ones only with includeRevoked=true.',
  access: can('user', 'read'),
  query: { ...pageQuery(), username: name.optional(), includeRevoked: boolQuery('also list revoked tokens') },
  response: { schema: pageOf('apiTokens', ApiTokenSchema) },
  handler: async (_c, { query: q }, d) => {
    const tokens = await adminDeps(d).auth.apiTokens.list({ ...(q.username === undefined ? {} : { username: q.username }), includeRevoked: q.includeRevoked === true });
    return { apiTokens: tokens.slice(q.offset, q.offset + q.limit).map(tokenView), totalEntries: tokens.length };
  },
});

export const revokeApiToken = defineRoute({
  method: 'delete',
  path: '/apiTokens/{tokenId}',
  operationId: 'revokeApiToken',
  tags: TOKEN_TAGS,
  summary: 'Revoke any user’s API token',
  description: 'The token stops working at once; it stays listed (with includeRevoked) for the record.',
  access: can('user', 'edit', 'api_token.revoke'),
  params: { tokenId: TokenIdParam },
  response: { schema: ApiTokenSchema },
  handler: async (c, { params }, d) => {
    const info = await adminDeps(d).auth.apiTokens.revoke(params.tokenId);
    c.set('auditTarget', { details: { tokenId: params.tokenId, tokenName: info.name, username: info.username } });
    return tokenView(info);
  },
});

export const userRoutes = [listUsers, createUser, getUser, patchUser, deleteUser, listRoles, createRole, getRole, patchRole, deleteRole, listApiTokens, revokeApiToken];
