/**
 * `capstan users …` and `capstan roles …` through a remote API server (`/api/v2/users`, `/roles`, `/apiTokens`),
 * with the local commands' rows and objects. Creating a token for another user stays local: the API mints
 * tokens only for the signed-in user (`POST /auth/tokens`), so an Admin cannot hold someone else's secret.
 */
import type { components } from '../../api/client.ts';
import type { RemoteApi } from './connection.ts';
import { allPages, PAGE } from './dags.ts';

type Schemas = components['schemas'];

/** A user as `users list` prints it. */
export function userRow(u: Schemas['User']): Record<string, unknown> {
  return { username: u.username, role: u.role, active: u.active, display_name: u.displayName, email: u.email, last_login: u.lastLoginAt };
}

/** A token as `users list-tokens` prints it (never its secret, which the API does not have to give). */
export function tokenRow(t: Schemas['ApiToken']): Record<string, unknown> {
  return { token_id: t.tokenId, username: t.username, name: t.name, role: t.role, expires: t.expiresAt, last_used: t.lastUsedAt, revoked: t.revokedAt };
}

export async function listUsersRemote(api: RemoteApi): Promise<Array<Schemas['User']>> {
  return allPages(async (offset) => {
    const page = await api.ok(api.client.call('get', '/users', { query: { limit: PAGE, offset } }));
    return { items: page.users, totalEntries: page.totalEntries };
  });
}

export async function createUserRemote(api: RemoteApi, u: { username: string; role: string; password: string; displayName?: string; email?: string }): Promise<Schemas['User']> {
  return api.ok(api.client.call('post', '/users', { body: u }));
}

export async function patchUserRemote(api: RemoteApi, username: string, patch: { role?: string; password?: string; active?: boolean }): Promise<Schemas['User']> {
  return api.ok(api.client.call('patch', '/users/{username}', { path: { username }, body: patch }));
}

export async function deleteUserRemote(api: RemoteApi, username: string): Promise<void> {
  await api.ok(api.client.call('delete', '/users/{username}', { path: { username } }));
}

export async function listTokensRemote(api: RemoteApi, o: { username?: string; includeRevoked: boolean }): Promise<Array<Schemas['ApiToken']>> {
  return allPages(async (offset) => {
    const page = await api.ok(api.client.call('get', '/apiTokens', { query: { limit: PAGE, offset, includeRevoked: o.includeRevoked, ...(o.username === undefined ? {} : { username: o.username }) } }));
    return { items: page.apiTokens, totalEntries: page.totalEntries };
  });
}

export async function revokeTokenRemote(api: RemoteApi, tokenId: string): Promise<void> {
  await api.ok(api.client.call('delete', '/apiTokens/{tokenId}', { path: { tokenId } }));
}

export async function createRoleRemote(api: RemoteApi, r: { name: string; baseRole: 'Viewer' | 'User' | 'Op'; dagIds: string[]; dagTags: string[]; description: string | null }): Promise<Schemas['Role']> {
  return api.ok(api.client.call('post', '/roles', { body: r }));
}

export async function listRolesRemote(api: RemoteApi): Promise<Array<Schemas['Role']>> {
  return allPages(async (offset) => {
    const page = await api.ok(api.client.call('get', '/roles', { query: { limit: PAGE, offset } }));
    return { items: page.roles, totalEntries: page.totalEntries };
  });
}

export async function deleteRoleRemote(api: RemoteApi, name: string): Promise<void> {
  await api.ok(api.client.call('delete', '/roles/{roleName}', { path: { roleName: name } }));
}
