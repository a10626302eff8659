/**
 * The `auth.oidc*` settings, checked once into an `OidcSettings` value, and the pure rule that turns a user's
 * groups into one Capstan role. No I/O here: `oidcLogin.ts` talks to the provider.
 */
import { ConfigError, type ConfigIssue } from '../config/index.ts';
import type { CapstanConfig } from '../config/index.ts';
import { BUILTIN_ROLES, isBuiltinRole, roleRank, type BuiltinRole } from './permissions.ts';

/** The raw `auth` options this module reads. */
export type OidcOptions = Pick<
  CapstanConfig['auth'],
  'oidcIssuerUrl' | 'oidcClientId' | 'oidcClientSecret' | 'oidcRedirectUrl' | 'oidcScopes' | 'oidcGroupsClaim' | 'oidcRoleMapping' | 'oidcDefaultRole' | 'oidcUsernameClaim'
>;

/** One `group=role` pair of `auth.oidcRoleMapping`, in the order written. */
export interface GroupRole {
  group: string;
  role: string;
}

/** OIDC login settings, validated. */
export interface OidcSettings {
  issuer: URL;
  clientId: string;
  /** Empty: a public client (PKCE only, token endpoint auth `none`). */
  clientSecret: string;
  redirectUrl: URL;
  scopes: string[];
  groupsClaim: string;
  usernameClaim: string;
  roleMapping: GroupRole[];
  /** Undefined: a user whose groups map to no role is refused. */
  defaultRole: string | undefined;
}

const ROLE_NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;

/** True for 127.0.0.0/8, ::1 and localhost: the only hosts an `http:` issuer may have. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * The OIDC settings, or undefined when `auth.oidcIssuerUrl` is empty (OIDC login off). Throws one
 * `ConfigError` naming every bad option.
 *
 * @example
 * parseOidcSettings({ ...config.auth, oidcIssuerUrl: 'https://sso.example.com/realms/data', oidcClientId: 'capstan',
 *   oidcRedirectUrl: 'https://capstan.example.com/auth/oidc/callback', oidcRoleMapping: 'capstan-admins=Admin' });
 */
export function parseOidcSettings(o: OidcOptions): OidcSettings | undefined {
  if (o.oidcIssuerUrl.trim() === '') return undefined;
  const issues: ConfigIssue[] = [];
  const issue = (key: keyof OidcOptions, value: unknown, problem: string, fix: string) => issues.push({ source: 'configuration', key: `auth.${key}`, value, problem, fix });

  const issuer = parseUrl(o.oidcIssuerUrl.trim());
  if (!issuer) {
    issue('oidcIssuerUrl', o.oidcIssuerUrl, 'not an http(s) URL', 'set auth.oidcIssuerUrl to the provider’s issuer, e.g. https://keycloak.example.com/realms/data');
  } else if (issuer.protocol === 'http:' && !isLoopback(issuer.hostname)) {
    issue('oidcIssuerUrl', o.oidcIssuerUrl, 'plain http to a provider that is not on this machine would expose tokens', 'use the provider’s https:// issuer URL');
  } else if (issuer.search !== '' || issuer.hash !== '') {
    issue('oidcIssuerUrl', o.oidcIssuerUrl, 'an issuer URL has no query or fragment', 'set it to the issuer as the provider’s discovery document names it');
  }
  if (o.oidcClientId.trim() === '') issue('oidcClientId', o.oidcClientId, 'empty while auth.oidcIssuerUrl is set', 'set auth.oidcClientId to the client id registered at the provider');
  const redirectUrl = parseUrl(o.oidcRedirectUrl.trim());
  if (!redirectUrl) {
    issue('oidcRedirectUrl', o.oidcRedirectUrl, 'not an http(s) URL', 'set auth.oidcRedirectUrl to the callback URL as the browser reaches it, e.g. https://capstan.example.com/auth/oidc/callback');
  } else if (!redirectUrl.pathname.endsWith('/auth/oidc/callback') || redirectUrl.search !== '' || redirectUrl.hash !== '') {
    issue('oidcRedirectUrl', o.oidcRedirectUrl, 'must end in /auth/oidc/callback, without query or fragment', 'point it at Capstan’s /auth/oidc/callback as the browser reaches it');
  }
  const scopes = o.oidcScopes.split(/\s+/).filter((s) => s !== '');
  if (!scopes.includes('openid')) issue('oidcScopes', o.oidcScopes, 'must include openid', `set auth.oidcScopes to 'openid ${scopes.join(' ')}'`.trimEnd());

  let roleMapping: GroupRole[] = [];
  try {
    roleMapping = parseRoleMapping(o.oidcRoleMapping);
  } catch (err) {
    issue('oidcRoleMapping', o.oidcRoleMapping, (err as Error).message, 'write group=role pairs separated by commas, e.g. capstan-admins=Admin,data-eng=Op,analysts=team-a');
  }
  const defaultRole = o.oidcDefaultRole.trim();
  const defaultProblem = defaultRole === '' ? undefined : roleNameProblem(defaultRole);
  if (defaultProblem) issue('oidcDefaultRole', o.oidcDefaultRole, defaultProblem, `use ${BUILTIN_ROLES.join(', ')} or a custom role, or leave it empty to refuse unmapped users`);

  if (issues.length > 0 || !issuer || !redirectUrl) throw new ConfigError(issues);
  return {
    issuer,
    clientId: o.oidcClientId.trim(),
    clientSecret: o.oidcClientSecret,
    redirectUrl,
    scopes,
    groupsClaim: o.oidcGroupsClaim.trim(),
    usernameClaim: o.oidcUsernameClaim.trim(),
    roleMapping,
    defaultRole: defaultRole === '' ? undefined : defaultRole,
  };
}

function parseUrl(text: string): URL | undefined {
  if (!URL.canParse(text)) return undefined;
  const url = new URL(text);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
}

/** Why `role` cannot be a role name, or undefined. Catches `admin` meant as `Admin`. */
function roleNameProblem(role: string): string | undefined {
  if (!ROLE_NAME_RE.test(role)) return `'${role}' is not a valid role name`;
  const builtin = BUILTIN_ROLES.find((r) => r.toLowerCase() === role.toLowerCase());
  if (builtin !== undefined && builtin !== role) return `role names are case-sensitive: '${role}' is not the built-in role '${builtin}'`;
  return undefined;
}

/**
 * `capstan-admins=Admin, data-eng=Op` → pairs in the order written. A group may appear once; groups are
 * matched exactly (case-sensitive), as providers send them.
 */
export function parseRoleMapping(text: string): GroupRole[] {
  const pairs: GroupRole[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.lastIndexOf('=');
    const group = part.slice(0, eq).trim();
    const role = part.slice(eq + 1).trim();
    if (eq < 0 || group === '' || role === '') throw new Error(`'${part}' is not group=role`);
    const problem = roleNameProblem(role);
    if (problem) throw new Error(`group '${group}': ${problem}`);
    if (pairs.some((p) => p.group === group)) throw new Error(`group '${group}' is mapped twice`);
    pairs.push({ group, role });
  }
  return pairs;
}

/** The role decided for a user's groups. */
export type RoleDecision =
  | { kind: 'mapped'; role: string; group: string }
  | { kind: 'default'; role: string }
  | { kind: 'none' };

/**
 * One role for a user in `groups`. A user holds one role, so mapped roles combine like this:
 *
 * 1. Any mapped built-in role wins over every custom role (a built-in role covers every DAG, which no custom
 *    role narrower than it can add to), and the highest built-in role wins (Admin > Op > User > Viewer).
 * 2. Otherwise the first custom role in `auth.oidcRoleMapping` order whose group the user is in.
 * 3. Otherwise `auth.oidcDefaultRole`, or none (the login is refused).
 */
export function roleForGroups(groups: readonly string[], mapping: readonly GroupRole[], defaultRole: string | undefined): RoleDecision {
  const member = new Set(groups);
  const matched = mapping.filter((m) => member.has(m.group));
  let best: { role: BuiltinRole; group: string } | undefined;
  for (const m of matched) {
    if (isBuiltinRole(m.role) && (best === undefined || roleRank(m.role) > roleRank(best.role))) best = { role: m.role, group: m.group };
  }
  if (best) return { kind: 'mapped', ...best };
  const custom = matched[0];
  if (custom) return { kind: 'mapped', role: custom.role, group: custom.group };
  return defaultRole === undefined ? { kind: 'none' } : { kind: 'default', role: defaultRole };
}
