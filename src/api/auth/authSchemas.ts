/**
 * The schemas of `/auth` (sign-in, who am I, one's own API tokens, single sign-on), which both validate its
 * requests (`authRoutes.ts`, `oidcRoutes.ts`) and describe its operations in the API's OpenAPI document
 * ({@link AUTH_OPERATIONS}, added by `src/api/public/v2/document.ts` with the server root as their server, since
 * `/auth` is not under `/api/v2`). Which of them need a signed-in caller is the permission table's to say;
 * the descriptions repeat it (`security: []` on the public ones) and a test checks the two agree.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { BUILTIN_ROLES } from '../../auth/index.ts';
import { ErrorSchema } from '../public/v2/schemas/common.ts';
import { ApiTokenSchema, UserSchema } from '../public/v2/schemas/users.ts';

const BuiltinRoleSchema = z.enum(BUILTIN_ROLES as unknown as [string, ...string[]]);

export const CredentialsSchema = z
  .object({ username: z.string().min(1).max(250), password: z.string().min(1).max(1024) })
  .strict()
  .openapi('Credentials');

export const AccessTokenSchema = z
  .object({
    access_token: z.string().openapi({ description: 'send as `Authorization: Bearer <access_token>`' }),
    token_type: z.literal('bearer'),
    expires_in: z.number().int().openapi({ description: 'seconds until it expires (auth.sessionTtlMs)' }),
  })
  .openapi('AccessToken');

export const SessionSchema = UserSchema.extend({
  csrfToken: z.string().openapi({ description: 'send it back in `X-CSRF-Token` on unsafe requests of this session (it is also the capstan_csrf cookie)' }),
  expiresAt: z.string().openapi({ format: 'date-time' }),
}).openapi('Session');

export const MeSchema = z
  .object({
    username: z.string(),
    displayName: z.string(),
    email: z.string().nullable(),
    role: BuiltinRoleSchema.openapi({ description: 'the built-in role whose permissions apply (a custom role’s base role)' }),
    roleName: z.string().openapi({ description: 'the role as assigned: built-in or custom' }),
    authKind: z.enum(['user', 'api_token', 'anonymous']).openapi({ description: 'anonymous only when auth.mode is disabled' }),
    tokenName: z.string().optional().openapi({ description: 'the API token’s name, when signed in with one' }),
    permissions: z.array(z.string()).openapi({ description: '`resource:action` pairs of the role, sorted' }),
    dags: z
      .union([z.object({ all: z.literal(true) }), z.object({ all: z.literal(false), dagIds: z.array(z.string()), tags: z.array(z.string()) })])
      .openapi({ description: 'which DAGs the caller sees: all, or those of a custom role’s ids and tags' }),
  })
  .openapi('Me');

export const ApiTokenCreateSchema = z
  .object({
    name: z.string().min(1).max(100),
    role: BuiltinRoleSchema.optional().openapi({ description: 'at most the user’s own role (default: it)' }),
    expiresInMs: z.number().int().positive().optional().openapi({ description: 'lifetime (default and maximum: auth.apiTokenMaxTtlMs)' }),
  })
  .strict()
  .openapi('ApiTokenCreate');

export const ApiTokenCreatedSchema = ApiTokenSchema.extend({
  token: z.string().openapi({ description: 'the token (cap_…), shown this once; send as `Authorization: Bearer <token>`' }),
}).openapi('ApiTokenCreated');

export const OwnApiTokensSchema = z.object({ apiTokens: z.array(ApiTokenSchema), totalEntries: z.number().int() }).openapi('OwnApiTokens');

export const AuthProvidersSchema = z
  .object({
    password: z.literal(true),
    oidc: z.object({ enabled: z.boolean(), loginUrl: z.string().nullable().openapi({ description: 'GET /auth/oidc/login when single sign-on is set up' }) }),
  })
  .openapi('AuthProviders');

export const TokenIdParam = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1-32 characters of A-Z a-z 0-9 _ -').openapi({ description: 'API token id (the part before the dot)' });

const TAGS = ['Auth'];
const json = (schema: z.ZodType) => ({ 'application/json': { schema } });
const error = (description: string) => ({ description, content: json(ErrorSchema) });
const PUBLIC = { security: [] };
const setCookies = { 'Set-Cookie': { schema: { type: 'string' as const }, description: 'capstan_session (HttpOnly) and capstan_csrf' } };
const redirect = (description: string) => ({ description, headers: { Location: { schema: { type: 'string' as const } } } });

/** The OpenAPI descriptions of the `/auth` operations (full paths; the document gives them the server root). */
export const AUTH_OPERATIONS = [
  createRoute({
    method: 'post', path: '/auth/token', operationId: 'createAccessToken', tags: TAGS, ...PUBLIC,
    summary: 'Sign in for a bearer token',
    description: 'For scripts and the remote CLI. Unknown user and wrong password get the same 401; repeated failures from one client get 429 with Retry-After.',
    request: { body: { required: true, content: json(CredentialsSchema) } },
    responses: { 201: { description: 'Signed in', content: json(AccessTokenSchema) }, 400: error('Invalid input'), 401: error('Wrong user name or password'), 429: error('Too many failed sign-ins (see Retry-After)') },
  }),
  createRoute({
    method: 'post', path: '/auth/login', operationId: 'login', tags: TAGS, ...PUBLIC,
    summary: 'Sign in for a browser session',
    description: 'Sets the HttpOnly SameSite=Strict session cookie and the CSRF cookie; unsafe requests of the session must echo `csrfToken` in `X-CSRF-Token`.',
    request: { body: { required: true, content: json(CredentialsSchema) } },
    responses: { 200: { description: 'Signed in', content: json(SessionSchema), headers: setCookies }, 400: error('Invalid input'), 401: error('Wrong user name or password'), 429: error('Too many failed sign-ins (see Retry-After)') },
  }),
  createRoute({
    method: 'post', path: '/auth/logout', operationId: 'logout', tags: TAGS,
    summary: 'Sign out',
    description: 'Ends the session or bearer token of this request (an API token stays valid: revoke it with DELETE /auth/tokens/{tokenId}) and clears the cookies.',
    responses: { 204: { description: 'Signed out' }, 401: error('Not signed in') },
  }),
  createRoute({
    method: 'get', path: '/auth/me', operationId: 'getMe', tags: TAGS,
    summary: 'Who am I',
    responses: { 200: { description: 'OK', content: json(MeSchema) }, 401: error('Not signed in') },
  }),
  createRoute({
    method: 'get', path: '/auth/tokens', operationId: 'listOwnApiTokens', tags: TAGS,
    summary: 'My API tokens',
    description: 'Never their secrets. Everyone’s tokens: GET /api/v2/apiTokens (Admin).',
    responses: { 200: { description: 'OK', content: json(OwnApiTokensSchema) }, 401: error('Not signed in'), 403: error('The role lacks the permission') },
  }),
  createRoute({
    method: 'post', path: '/auth/tokens', operationId: 'createOwnApiToken', tags: TAGS,
    summary: 'Create a personal API token',
    description: 'With a role at most the caller’s; an API token cannot mint tokens. The answer holds the token once.',
    request: { body: { required: true, content: json(ApiTokenCreateSchema) } },
    responses: { 201: { description: 'Created', content: json(ApiTokenCreatedSchema) }, 400: error('Invalid input'), 401: error('Not signed in'), 403: error('The role lacks the permission, or a role above the caller’s') },
  }),
  createRoute({
    method: 'delete', path: '/auth/tokens/{tokenId}', operationId: 'revokeOwnApiToken', tags: TAGS,
    summary: 'Revoke one of my API tokens',
    request: { params: z.object({ tokenId: TokenIdParam }) },
    responses: { 200: { description: 'Revoked', content: json(ApiTokenSchema) }, 401: error('Not signed in'), 403: error('The role lacks the permission'), 404: error('No such token of the caller') },
  }),
  createRoute({
    method: 'get', path: '/auth/providers', operationId: 'getAuthProviders', tags: TAGS, ...PUBLIC,
    summary: 'How one may sign in',
    description: 'What a login page may offer: passwords always, single sign-on when auth.oidcIssuerUrl is set.',
    responses: { 200: { description: 'OK', content: json(AuthProvidersSchema) } },
  }),
  createRoute({
    method: 'get', path: '/auth/oidc/login', operationId: 'beginOidcLogin', tags: TAGS, ...PUBLIC,
    summary: 'Single sign-on: go to the provider',
    description: 'A browser navigation: redirects to the OIDC provider with a sealed transaction cookie (SameSite=Lax, path /auth/oidc).',
    request: { query: z.object({ next: z.string().max(2000).optional().openapi({ description: 'a path on this server to return to (default /); other hosts are refused' }) }) },
    responses: { 302: redirect('To the provider'), 400: error('`next` is not a path on this server'), 404: error('Single sign-on is not configured'), 502: error('The provider cannot be reached') },
  }),
  createRoute({
    method: 'get', path: '/auth/oidc/callback', operationId: 'completeOidcLogin', tags: TAGS, ...PUBLIC,
    summary: 'Single sign-on: the provider’s redirect back',
    description: 'Checks state, exchanges the code, maps groups to a role, sets the session cookies as POST /auth/login does and redirects to `next`. Errors are JSON, or a small HTML page for a browser (Accept: text/html).',
    request: { query: z.object({ code: z.string().optional(), state: z.string().optional(), error: z.string().optional().openapi({ description: 'the provider’s refusal' }) }) },
    responses: { 302: { ...redirect('Signed in: to `next`'), headers: { ...setCookies, Location: { schema: { type: 'string' as const } } } }, 400: error('State mismatch or a refused sign-in'), 401: error('The provider’s answer does not sign anyone in'), 404: error('Single sign-on is not configured'), 502: error('The provider cannot be reached') },
  }),
];
