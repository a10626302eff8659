/**
 * The server's `/auth` routes: sign-in with a password (a cookie session), single sign-on when configured,
 * who am I, and one's own API tokens.
 */
import { requestJson } from './http.ts';

export type BuiltinRole = 'Viewer' | 'User' | 'Op' | 'Admin';

/** `GET /auth/me`: the signed-in principal. */
export interface Me {
  username: string;
  displayName: string;
  email: string | null;
  /** The built-in role whose permissions apply. */
  role: BuiltinRole;
  /** The role's name (a custom role's own name). */
  roleName: string;
  authKind: string;
  /** `resource:action` strings, e.g. `dag_run:create`. */
  permissions: string[];
  dags: { all: true } | { all: false; dagIds: string[]; tags: string[] };
}

/** `GET /auth/providers`: what the login page may offer. */
export interface Providers {
  password: boolean;
  oidc: { enabled: boolean; loginUrl: string | null };
}

/** A personal API token as listed (never its secret). */
export interface ApiToken {
  tokenId: string;
  username: string;
  name: string;
  role: BuiltinRole;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export const authApi = {
  me: (signal?: AbortSignal) => requestJson<Me>('/auth/me', signal ? { signal } : {}),
  providers: () => requestJson<Providers>('/auth/providers'),
  login: (username: string, password: string) => requestJson<{ username: string; csrfToken: string; expiresAt: string }>('/auth/login', { method: 'POST', body: { username, password } }),
  logout: () => requestJson<undefined>('/auth/logout', { method: 'POST', body: {} }),
  tokens: () => requestJson<{ apiTokens: ApiToken[]; totalEntries: number }>('/auth/tokens'),
  createToken: (body: { name: string; role?: BuiltinRole; expiresInMs?: number }) => requestJson<ApiToken & { token: string }>('/auth/tokens', { method: 'POST', body }),
  revokeToken: (tokenId: string) => requestJson<ApiToken>(`/auth/tokens/${encodeURIComponent(tokenId)}`, { method: 'DELETE' }),
};

/** True when the principal's role holds `resource:action` (the server checks again on every call). */
export function can(me: Pick<Me, 'permissions'> | undefined, resource: string, action: 'read' | 'create' | 'edit' | 'delete'): boolean {
  return me?.permissions.includes(`${resource}:${action}`) ?? false;
}
