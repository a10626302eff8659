/**
 * Single sign-on with an OpenID Connect provider (Keycloak, Dex, Okta, Entra ID…): the authorization-code flow
 * with PKCE, `state` and `nonce` through `openid-client`, then the user provisioned from the ID token's (or the
 * userinfo endpoint's) claims, their groups mapped to one role on every login. The HTTP layer only moves the
 * transaction cookie and the redirects; everything that decides is here.
 */
import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { EncryptJWT, jwtDecrypt } from 'jose';
import * as oidc from 'openid-client';
import { CapstanError } from '../core/index.ts';
import type { UserInfo } from '../store/index.ts';
import { checkUsername, type AuthService } from './authService.ts';
import { parseOidcSettings, roleForGroups, type OidcOptions, type OidcSettings } from './oidcSettings.ts';
import { isBuiltinRole } from './permissions.ts';

/** How long a login may take between leaving for the provider and coming back. */
export const OIDC_TRANSACTION_TTL_MS = 10 * 60_000;

/** What survives the round trip through the provider, sealed in a cookie only this server can read. */
interface Transaction {
  state: string;
  nonce: string;
  codeVerifier: string;
  next: string;
}

export interface OidcLoginDeps {
  settings: OidcSettings;
  auth: AuthService;
  /** `api.secretKey`: the transaction cookie's key is derived from it. */
  secretKey: string;
  now?: () => number;
  /** Timeout of each request to the provider, in seconds. Default 10. */
  timeoutS?: number;
}

/**
 * The OIDC login of these `auth` options, or undefined when `auth.oidcIssuerUrl` is empty. Throws a
 * `ConfigError` naming each bad option, so a misconfigured server refuses to start.
 */
export function oidcLoginFor(options: OidcOptions, deps: Omit<OidcLoginDeps, 'settings'>): OidcLogin | undefined {
  const settings = parseOidcSettings(options);
  return settings === undefined ? undefined : new OidcLogin({ ...deps, settings });
}

/** A finished login: the user as now stored, and where to send the browser. */
export interface OidcLoginResult {
  user: UserInfo;
  next: string;
  /** The group that decided the role, or `default` for `auth.oidcDefaultRole`. */
  roleFrom: string;
}

/**
 * @example
 * const sso = new OidcLogin({ settings, auth, secretKey: config.api.secretKey });
 * const { url, transaction } = await sso.begin('/dags');          // 302 to url, transaction into a cookie
 * const { user, next } = await sso.complete(callbackQuery, cookie); // on /auth/oidc/callback
 */
export class OidcLogin {
  readonly settings: OidcSettings;
  readonly #auth: AuthService;
  readonly #key: KeyObject;
  readonly #now: () => number;
  readonly #timeoutS: number;
  #discovered: Promise<oidc.Configuration> | undefined;

  constructor(d: OidcLoginDeps) {
    this.settings = d.settings;
    this.#auth = d.auth;
    this.#now = d.now ?? Date.now;
    this.#timeoutS = d.timeoutS ?? 10;
    // Its own derivation, so the transaction cookie shares no key with sessions or task tokens.
    this.#key = createSecretKey(Buffer.from(hkdfSync('sha256', d.secretKey, 'capstan', 'capstan-oidc-transaction', 32)));
  }

  /**
   * Where to send the browser to sign in, and the sealed transaction to keep in a cookie until it comes back.
   * `next` must already be a checked same-origin path (`safeNextPath`).
   */
  async begin(next: string): Promise<{ url: URL; transaction: string }> {
    const config = await this.#configuration();
    const t: Transaction = { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier(), next };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUrl.href,
      response_type: 'code',
      scope: this.settings.scopes.join(' '),
      state: t.state,
      nonce: t.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(t.codeVerifier),
      code_challenge_method: 'S256',
    });
    const transaction = await new EncryptJWT({ ...t })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt(Math.floor(this.#now() / 1000))
      .setExpirationTime(Math.floor((this.#now() + OIDC_TRANSACTION_TTL_MS) / 1000))
      .encrypt(this.#key);
    return { url, transaction };
  }

  /**
   * Finish a login from the callback's query and the transaction cookie: check `state`, exchange the code
   * (openid-client checks the ID token's signature, issuer, audience, nonce and expiry), map the groups to a
   * role, and create or update the user.
   */
  async complete(query: URLSearchParams, sealed: string | undefined): Promise<OidcLoginResult> {
    const t = await this.#open(sealed);
    if (query.get('state') !== t.state) {
      throw new CapstanError('invalid_argument', 'the sign-in response does not belong to this browser’s login (state mismatch)', { hint: 'start again from /auth/oidc/login' });
    }
    const config = await this.#configuration();
    // The redirect URI as registered, with the provider's parameters: the token request must repeat it exactly.
    const current = new URL(this.settings.redirectUrl);
    for (const [k, v] of query) current.searchParams.append(k, v);
    let claims: Record<string, unknown>;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, current, { pkceCodeVerifier: t.codeVerifier, expectedState: t.state, expectedNonce: t.nonce, idTokenExpected: true });
      const idClaims = tokens.claims();
      if (!idClaims) throw new CapstanError('unauthorized', 'the provider returned no ID token');
      claims = { ...idClaims };
      if (this.#missingClaims(claims) && config.serverMetadata().userinfo_endpoint !== undefined && tokens.access_token) {
        // Many providers put profile and group claims only in userinfo; the ID token's own claims win.
        const info = await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub);
        claims = { ...info, ...idClaims };
      }
    } catch (err) {
      throw providerError(err, 'the OIDC provider', 'callback');
    }
    return { ...(await this.#provision(claims)), next: t.next };
  }

  #missingClaims(claims: Record<string, unknown>): boolean {
    return [this.settings.groupsClaim, this.settings.usernameClaim, 'name', 'email'].some((c) => claims[c] === undefined);
  }

  async #open(sealed: string | undefined): Promise<Transaction> {
    const restart = { hint: 'start again from /auth/oidc/login (cookies must be enabled)' };
    if (sealed === undefined || sealed === '') throw new CapstanError('invalid_argument', 'no sign-in is in progress in this browser (the login cookie is missing)', restart);
    try {
      const { payload } = await jwtDecrypt(sealed, this.#key, { currentDate: new Date(this.#now()) });
      const { state, nonce, codeVerifier, next } = payload;
      if (typeof state === 'string' && typeof nonce === 'string' && typeof codeVerifier === 'string' && typeof next === 'string') return { state, nonce, codeVerifier, next };
    } catch {
      // expired, tampered with, or sealed by another key: all the same to the user
    }
    throw new CapstanError('invalid_argument', 'the sign-in has expired or its login cookie is not valid', restart);
  }

  async #provision(claims: Record<string, unknown>): Promise<{ user: UserInfo; roleFrom: string }> {
    const s = this.settings;
    const named = claims[s.usernameClaim];
    const username = typeof named === 'string' && named !== '' ? named : String(claims['sub']);
    try {
      checkUsername(username, `the ${typeof named === 'string' && named !== '' ? s.usernameClaim : 'sub'} claim`);
    } catch (err) {
      throw new CapstanError('forbidden', (err as Error).message, { hint: `set auth.oidcUsernameClaim to a claim holding a plain user name` });
    }
    const groups = groupsOf(claims[s.groupsClaim]);
    const decision = roleForGroups(groups, s.roleMapping, s.defaultRole);
    if (decision.kind === 'none') {
      throw new CapstanError('forbidden', `'${username}' is in no group that auth.oidcRoleMapping maps to a role (groups: ${groups.length === 0 ? 'none' : groups.slice(0, 20).join(', ')})`, {
        hint: `ask an Admin to map one of your groups in auth.oidcRoleMapping, or to set auth.oidcDefaultRole`,
      });
    }
    if (!(await this.#roleExists(decision.role))) {
      const source = decision.kind === 'mapped' ? `auth.oidcRoleMapping maps group '${decision.group}' to` : 'auth.oidcDefaultRole names';
      throw new CapstanError('forbidden', `${source} role '${decision.role}', which does not exist`, { hint: 'an Admin must create it (`capstan roles create`) or fix the mapping' });
    }
    const profile = {
      role: decision.role,
      displayName: typeof claims['name'] === 'string' && claims['name'].trim() !== '' ? claims['name'].trim().slice(0, 250) : username,
      email: typeof claims['email'] === 'string' && isEmail(claims['email']) ? claims['email'] : null,
    };
    const roleFrom = decision.kind === 'mapped' ? decision.group : 'default';
    const existing = await this.#auth.users.find(username);
    if (!existing) {
      try {
        await this.#auth.createUser({ username, password: null, authSource: 'oidc', ...profile });
      } catch (err) {
        // Another login of the same user created it a moment ago: update it as below.
        if (!(err instanceof CapstanError && err.code === 'conflict')) throw err;
        return { user: await this.#update(username, profile), roleFrom };
      }
      await this.#auth.users.recordLogin(username);
      return { user: await this.#auth.users.get(username), roleFrom };
    }
    return { user: await this.#update(username, profile), roleFrom };
  }

  async #update(username: string, profile: { role: string; displayName: string; email: string | null }): Promise<UserInfo> {
    const user = await this.#auth.users.get(username);
    if (user.authSource !== 'oidc') {
      throw new CapstanError('conflict', `'${username}' is a local password user; a single sign-on login cannot take the account over`, {
        hint: 'sign in with the password, or ask an Admin to rename or delete the local user first',
      });
    }
    if (!user.active) throw new CapstanError('forbidden', `user '${username}' is deactivated`, { hint: 'ask an Admin to activate the user (`capstan users activate`)' });
    await this.#auth.updateUser(username, profile);
    await this.#auth.users.recordLogin(username);
    return this.#auth.users.get(username);
  }

  async #roleExists(role: string): Promise<boolean> {
    return isBuiltinRole(role) || (await this.#auth.users.findRole(role)) !== undefined;
  }

  /** The provider's metadata, discovered on first use; a failed discovery is tried again on the next login. */
  #configuration(): Promise<oidc.Configuration> {
    const s = this.settings;
    this.#discovered ??= oidc
      .discovery(s.issuer, s.clientId, s.clientSecret === '' ? undefined : s.clientSecret, s.clientSecret === '' ? oidc.None() : oidc.ClientSecretBasic(s.clientSecret), {
        // Plain http is accepted only for a provider on this machine (oidcSettings refuses others).
        execute: s.issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [],
        timeout: this.#timeoutS,
      })
      .catch((err: unknown) => {
        this.#discovered = undefined;
        throw providerError(err, `the OIDC provider at ${s.issuer.href}`, 'discovery');
      });
    return this.#discovered;
  }
}

/** The groups claim as a list: an array of strings, or one string (some providers send a single group so). */
function groupsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string');
  return [];
}

function isEmail(email: string): boolean {
  return email.length <= 320 && /^[^\s@]+@[^\s@]+$/.test(email);
}

/** Answers of the provider's own HTTP endpoints that are not OAuth at all (an error page, a proxy's 503). */
const BROKEN_ANSWER_CODES = new Set(['OAUTH_RESPONSE_IS_NOT_CONFORM', 'OAUTH_RESPONSE_IS_NOT_JSON', 'OAUTH_PARSE_ERROR']);

/**
 * An openid-client (or network) failure as a Capstan error: 401 for a refused login or anything in the callback
 * that fails validation (the callback's query is the browser's input), 502 when the provider cannot be reached,
 * answers with something that is not OAuth, or serves an unusable discovery document.
 */
function providerError(err: unknown, context: string, stage: 'discovery' | 'callback'): CapstanError {
  if (err instanceof CapstanError) return err;
  if (err instanceof oidc.AuthorizationResponseError) {
    return new CapstanError('unauthorized', `the provider refused the sign-in: ${err.error}${err.error_description ? ` (${err.error_description})` : ''}`, { hint: 'start again from /auth/oidc/login' });
  }
  if (err instanceof oidc.ResponseBodyError) {
    if (err.status >= 500) return new CapstanError('upstream_unavailable', `${context} answered ${err.status}: ${err.error}`, { cause: err });
    return new CapstanError('unauthorized', `the provider refused the authorization code: ${err.error}${err.error_description ? ` (${err.error_description})` : ''}`, { hint: 'start again from /auth/oidc/login' });
  }
  if (err instanceof oidc.ClientError) {
    if (stage === 'discovery' || (err.code !== undefined && BROKEN_ANSWER_CODES.has(err.code))) {
      return new CapstanError('upstream_unavailable', `${context} gave an unusable answer: ${err.message}`, { cause: err });
    }
    return new CapstanError('unauthorized', `the provider’s answer failed validation: ${err.message}`, { hint: 'start again from /auth/oidc/login', cause: err });
  }
  // fetch failures (TypeError), timeouts and aborts: the provider could not be reached.
  const why = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
  return new CapstanError('upstream_unavailable', `${context} cannot be reached: ${why}`, { hint: 'try again later; an operator can check auth.oidcIssuerUrl and the network path to the provider', cause: err });
}
