/**
 * Users and API tokens as the API answers them: by the admin routes (`/api/v2/users`, `/api/v2/apiTokens`)
 * and by `/auth` (who signed in, one's own tokens). A password or a token's secret is never part of them.
 */
import { z } from '@hono/zod-openapi';
import type { ApiTokenInfo, UserInfo } from '../../../../store/index.ts';
import { iso } from './dags.ts';

export const UserSchema = z
  .object({
    username: z.string(),
    displayName: z.string(),
    email: z.string().nullable(),
    role: z.string(),
    active: z.boolean(),
    authSource: z.enum(['password', 'oidc']),
    createdAt: z.string().openapi({ format: 'date-time' }),
    lastLoginAt: z.string().nullable().openapi({ format: 'date-time' }),
  })
  .openapi('User');

export const ApiTokenSchema = z
  .object({
    tokenId: z.string(),
    username: z.string(),
    name: z.string(),
    role: z.string(),
    createdAt: z.string().openapi({ format: 'date-time' }),
    expiresAt: z.string().openapi({ format: 'date-time' }),
    lastUsedAt: z.string().nullable().openapi({ format: 'date-time' }),
    revokedAt: z.string().nullable().openapi({ format: 'date-time' }),
  })
  .openapi('ApiToken');

export function userView(u: UserInfo): z.input<typeof UserSchema> {
  return { username: u.username, displayName: u.displayName, email: u.email, role: u.role, active: u.active, authSource: u.authSource, createdAt: iso(u.createdAt) ?? '', lastLoginAt: iso(u.lastLoginAt) };
}

export function tokenView(t: ApiTokenInfo): z.input<typeof ApiTokenSchema> {
  return { tokenId: t.tokenId, username: t.username, name: t.name, role: t.role, createdAt: iso(t.createdAt) ?? '', expiresAt: iso(t.expiresAt) ?? '', lastUsedAt: iso(t.lastUsedAt), revokedAt: iso(t.revokedAt) };
}
