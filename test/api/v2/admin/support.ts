/**
 * For the admin resource tests: a test engine with one signed-in client per built-in role (Viewer, User,
 * Op, Admin), each a real user with a personal API token, talking to the server through the typed client.
 */
import { apiV2Client, type ApiV2Client } from '../../../../src/api/public/v2/client/index.ts';
import type { BuiltinRole } from '../../../../src/auth/permissions.ts';
import type { TestEngine } from '../../../support/engine.ts';

export type RoleClients = Record<BuiltinRole, ApiV2Client> & { anonymous: ApiV2Client };

/** A user per built-in role (`viewer`, `user`, `op`, plus the engine's `admin`) and a client for each. */
export async function roleClients(t: TestEngine): Promise<RoleClients> {
  const out: Partial<RoleClients> = { Admin: apiV2Client({ baseUrl: t.api.url, token: t.adminToken }), anonymous: apiV2Client({ baseUrl: t.api.url }) };
  for (const role of ['Viewer', 'User', 'Op'] as const) {
    const user = await t.engine.auth.createUser({ username: role.toLowerCase(), password: `${role.toLowerCase()}-password-123`, role });
    const { token } = await t.engine.auth.createApiToken(await t.engine.auth.principalFor(user), { name: 'test' });
    out[role] = apiV2Client({ baseUrl: t.api.url, token });
  }
  return out as RoleClients;
}
