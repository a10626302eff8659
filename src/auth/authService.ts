/**
 * Identity: signing in, resolving who a request is (session cookie, signed bearer token or personal API token),
 * and managing users, custom roles and API tokens with the rules that keep an installation administrable (the
 * last active Admin stays; a token never outranks its user). The HTTP layer and the CLI call this; it calls
 * the stores.
 */
import type { CapstanConfig } from '../config/index.ts';
import { CapstanError, InvalidArgument } from '../core/index.ts';
import type { MetadataDb } from '../store/index.ts';
import { type ApiTokenInfo, ApiTokenStore, type CustomRole, type UserInfo, UserStore } from '../store/index.ts';
import { newApiTokenText, parseApiTokenText, secretMatches } from './apiTokenFormat.ts';
import { LoginThrottle } from './loginThrottle.ts';
import { checkPasswordPolicy, decoyHash, hashPassword, verifyPassword } from './passwords.ts';
import { BUILTIN_ROLES, isBuiltinRole, lesserRole, roleRank, type Principal } from './permissions.ts';
import { SessionTokens, type SessionClaims, type SessionKind } from './sessionTokens.ts';

/** The settings of config section `auth` this service reads (the HTTP layer reads the others). */
export type AuthSettings = Omit<CapstanConfig['auth'], 'mode' | 'cookieSecure' | 'metricsRequireAuth'>;

const USERNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;
const ROLE_NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;
const TOKEN_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,99}$/;

/** The one answer to every failed login, whatever failed. */
const BAD_LOGIN = 'invalid username or password';

export function checkUsername(username: string, field = 'username'): void {
  if (!USERNAME_RE.test(username)) {
    throw new InvalidArgument(`${field}: '${username.slice(0, 100)}' is not a valid username`, 'use 1–100 letters, digits, . _ @ -, starting with a letter or digit');
  }
}

/** What a user asks for when creating an API token. */
export interface ApiTokenRequest {
  name: string;
  /** A built-in role at most the user's; default the user's. */
  role?: string;
  /** Lifetime; default `auth.apiTokenDefaultTtlMs`, at most `auth.apiTokenMaxTtlMs`. */
  expiresInMs?: number;
}

/**
 * @example
 * const auth = new AuthService({ db, settings: config.auth, secretKey: config.api.secretKey });
 * await auth.createUser({ username: 'alice', password: 's3cret-enough', role: 'Op' });
 * const user = await auth.login('alice', 's3cret-enough', '127.0.0.1');
 * const { token } = await auth.issueSession(user.username, 'bearer');
 * const principal = await auth.authenticateBearer(token);
 */
export class AuthService {
  readonly users: UserStore;
  readonly apiTokens: ApiTokenStore;
  readonly sessions: SessionTokens;
  readonly #settings: AuthSettings;
  readonly #now: () => number;
  readonly #throttle: LoginThrottle;
  #decoy: Promise<string> | undefined;

  constructor(d: { db: MetadataDb; settings: AuthSettings; secretKey: string; now?: () => number }) {
    this.#now = d.now ?? Date.now;
    this.#settings = d.settings;
    this.users = new UserStore(d.db, { now: this.#now });
    this.apiTokens = new ApiTokenStore(d.db, { now: this.#now });
    this.sessions = new SessionTokens({
      algorithm: d.settings.jwtAlgorithm,
      secret: d.settings.jwtSecret,
      fallbackSecret: d.secretKey,
      privateKeyFile: d.settings.jwtPrivateKeyFile,
      issuer: d.settings.jwtIssuer,
      audience: d.settings.jwtAudience,
      ttlMs: d.settings.sessionTtlMs,
    });
    this.#throttle = new LoginThrottle({ maxFailures: d.settings.loginMaxFailures, baseDelayMs: d.settings.loginLockoutMs, maxDelayMs: d.settings.loginMaxLockoutMs });
  }

  /**
   * Check a username and password from `client` (its address). Unknown user, wrong password, inactive user
   * and OIDC-only user all cost one scrypt and get the same `unauthorized` answer; too many failures get
   * `rate_limited` with the wait in the hint.
   */
  async login(username: string, password: string, client: string): Promise<UserInfo> {
    const key = LoginThrottle.key(username, client);
    const wait = this.#throttle.retryAfterMs(key, this.#now());
    if (wait > 0) throw new LoginRateLimited(wait);
    const user = username.length <= 250 ? await this.users.findWithHash(username) : undefined;
    const hash = user?.passwordHash ?? (await (this.#decoy ??= decoyHash(this.#settings.passwordHashCost)));
    const ok = password.length <= 1024 && (await verifyPassword(password, hash));
    if (!ok || !user || user.passwordHash === null || !user.active) {
      this.#throttle.failed(key, this.#now());
      throw new CapstanError('unauthorized', BAD_LOGIN);
    }
    this.#throttle.succeeded(key);
    await this.users.recordLogin(username);
    return this.users.get(username);
  }

  /** A signed token for a signed-in user: `session` for the browser cookie, `bearer` for API clients. */
  issueSession(username: string, kind: SessionKind): Promise<{ token: string; claims: SessionClaims }> {
    return this.sessions.issue(username, kind, this.#now());
  }

  /** End a session or bearer token before its expiry. */
  async logout(claims: Pick<SessionClaims, 'jti' | 'expiresAt'>): Promise<void> {
    await this.apiTokens.revokeSession(claims.jti, claims.expiresAt);
  }

  /** Who presents this `Authorization: Bearer` value: a personal API token or a signed bearer token. */
  async authenticateBearer(token: string): Promise<Principal> {
    const apiToken = parseApiTokenText(token);
    if (apiToken) return this.#authenticateApiToken(apiToken.tokenId, apiToken.secret);
    const claims = await this.sessions.verify(token, this.#now());
    if (claims.kind !== 'bearer') throw new CapstanError('unauthorized', 'a browser session token is not accepted as a bearer token');
    return this.#principalForClaims(claims);
  }

  /** Who holds this session cookie, and the CSRF value their unsafe requests must send. */
  async authenticateSession(token: string): Promise<{ principal: Principal; csrf: string; claims: SessionClaims }> {
    const claims = await this.sessions.verify(token, this.#now());
    if (claims.kind !== 'session' || claims.csrf === undefined) throw new CapstanError('unauthorized', 'this token is not a browser session');
    return { principal: await this.#principalForClaims(claims), csrf: claims.csrf, claims };
  }

  async #principalForClaims(claims: SessionClaims): Promise<Principal> {
    if (await this.apiTokens.isSessionRevoked(claims.jti)) throw new CapstanError('unauthorized', 'the session has ended', { hint: 'sign in again' });
    const user = await this.users.find(claims.username);
    if (!user || !user.active) throw new CapstanError('unauthorized', 'the user no longer exists or is deactivated');
    return { ...(await this.principalFor(user)), session: { jti: claims.jti, expiresAt: claims.expiresAt } };
  }

  async #authenticateApiToken(tokenId: string, secret: string): Promise<Principal> {
    const row = await this.apiTokens.findForAuth(tokenId);
    if (!row || !secretMatches(secret, row.secretHash)) throw new CapstanError('unauthorized', 'the API token is not valid');
    if (row.revokedAt !== null) throw new CapstanError('unauthorized', `the API token '${row.name}' was revoked`);
    if (row.expiresAt <= this.#now()) throw new CapstanError('unauthorized', `the API token '${row.name}' has expired`, { hint: 'create a new one' });
    const user = await this.users.find(row.username);
    if (!user || !user.active) throw new CapstanError('unauthorized', 'the token’s user no longer exists or is deactivated');
    const base = await this.principalFor(user);
    await this.apiTokens.touch(row);
    const role = isBuiltinRole(row.role) ? lesserRole(row.role, base.role) : 'Viewer';
    return { ...base, kind: 'api_token', role, tokenName: row.name };
  }

  /** The principal of a user: their built-in role over every DAG, or their custom role's base over its DAGs. */
  async principalFor(user: UserInfo): Promise<Principal> {
    if (isBuiltinRole(user.role)) return { kind: 'user', username: user.username, role: user.role, roleName: user.role, dags: { kind: 'all' } };
    const custom = await this.users.findRole(user.role);
    // A role that vanished from under its users grants nothing beyond reading nothing.
    if (!custom || !isBuiltinRole(custom.baseRole)) return { kind: 'user', username: user.username, role: 'Viewer', roleName: user.role, dags: { kind: 'some', role: user.role, dagIds: [], tags: [] } };
    return { kind: 'user', username: user.username, role: custom.baseRole, roleName: custom.name, dags: { kind: 'some', role: custom.name, dagIds: custom.dagIds, tags: custom.dagTags } };
  }

  // ---- users ----

  async createUser(u: { username: string; password?: string | null; role: string; displayName?: string; email?: string | null; authSource?: 'password' | 'oidc' }): Promise<UserInfo> {
    checkUsername(u.username);
    await this.#checkRoleExists(u.role, 'role');
    if (u.email !== undefined && u.email !== null) checkEmail(u.email);
    let passwordHash: string | null = null;
    if (u.password !== undefined && u.password !== null) {
      checkPasswordPolicy(u.password);
      passwordHash = await hashPassword(u.password, this.#settings.passwordHashCost);
    } else if ((u.authSource ?? 'password') === 'password') {
      throw new InvalidArgument('password: a password is required for a password user');
    }
    return this.users.create({
      username: u.username,
      role: u.role,
      passwordHash,
      ...(u.displayName === undefined ? {} : { displayName: u.displayName }),
      ...(u.email === undefined ? {} : { email: u.email }),
      ...(u.authSource === undefined ? {} : { authSource: u.authSource }),
    });
  }

  async updateUser(username: string, patch: { role?: string; displayName?: string; email?: string | null; active?: boolean; password?: string }): Promise<UserInfo> {
    const user = await this.users.get(username);
    if (patch.role !== undefined) await this.#checkRoleExists(patch.role, 'role');
    if (patch.email !== undefined && patch.email !== null) checkEmail(patch.email);
    const losesAdmin = user.role === 'Admin' && user.active && ((patch.role !== undefined && patch.role !== 'Admin') || patch.active === false);
    if (losesAdmin) await this.#keepOneAdmin(username);
    let passwordHash: string | undefined;
    if (patch.password !== undefined) {
      checkPasswordPolicy(patch.password);
      passwordHash = await hashPassword(patch.password, this.#settings.passwordHashCost);
    }
    const { password: _password, ...rest } = patch;
    return this.users.update(username, { ...rest, ...(passwordHash === undefined ? {} : { passwordHash }) });
  }

  async deleteUser(username: string): Promise<void> {
    const user = await this.users.get(username);
    if (user.role === 'Admin' && user.active) await this.#keepOneAdmin(username);
    await this.users.delete(username);
  }

  async #keepOneAdmin(username: string): Promise<void> {
    if ((await this.users.countActiveWithRole('Admin')) <= 1) {
      throw new CapstanError('conflict', `'${username}' is the last active Admin`, { hint: 'make another user Admin first' });
    }
  }

  async #checkRoleExists(role: string, field: string): Promise<void> {
    if (isBuiltinRole(role)) return;
    if (!(await this.users.findRole(role))) {
      throw new InvalidArgument(`${field}: role '${role}' does not exist`, `use ${BUILTIN_ROLES.join(', ')} or a custom role from \`capstan roles list\``);
    }
  }

  // ---- custom roles ----

  async createRole(r: { name: string; baseRole: string; dagIds?: string[]; dagTags?: string[]; description?: string | null }): Promise<CustomRole> {
    if (!ROLE_NAME_RE.test(r.name)) throw new InvalidArgument(`name: '${r.name.slice(0, 100)}' is not a valid role name`, 'use 1–100 letters, digits, _ . -, starting with a letter');
    if (isBuiltinRole(r.name)) throw new InvalidArgument(`name: '${r.name}' is a built-in role`);
    checkBaseRole(r.baseRole);
    return this.users.createRole({ name: r.name, baseRole: r.baseRole, dagIds: r.dagIds ?? [], dagTags: r.dagTags ?? [], description: r.description ?? null });
  }

  async updateRole(name: string, patch: { baseRole?: string; dagIds?: string[]; dagTags?: string[]; description?: string | null }): Promise<CustomRole> {
    if (patch.baseRole !== undefined) checkBaseRole(patch.baseRole);
    return this.users.updateRole(name, patch);
  }

  // ---- API tokens ----

  /** A new personal API token for `owner`; its text is returned once and never stored. */
  async createApiToken(owner: Principal, req: ApiTokenRequest): Promise<{ token: string; info: ApiTokenInfo }> {
    if (owner.kind !== 'user') throw new CapstanError('forbidden', 'only a signed-in user can create API tokens', { hint: 'an API token cannot mint other tokens' });
    if (!TOKEN_NAME_RE.test(req.name)) throw new InvalidArgument(`name: '${req.name.slice(0, 100)}' is not a valid token name`, 'use 1–100 letters, digits, spaces, _ . : -');
    const role = req.role ?? owner.role;
    if (!isBuiltinRole(role)) throw new InvalidArgument(`role: '${role}' is not one of ${BUILTIN_ROLES.join(', ')}`);
    if (roleRank(role) > roleRank(owner.role)) throw new CapstanError('forbidden', `role: a token cannot have role ${role}, above your ${owner.role}`);
    const ttl = req.expiresInMs ?? this.#settings.apiTokenDefaultTtlMs;
    if (!Number.isInteger(ttl) || ttl < 60_000 || ttl > this.#settings.apiTokenMaxTtlMs) {
      throw new InvalidArgument(`expiresInMs: must be between 60000 and ${this.#settings.apiTokenMaxTtlMs} (auth.apiTokenMaxTtlMs)`);
    }
    const t = newApiTokenText();
    const info = await this.apiTokens.create({ tokenId: t.tokenId, username: owner.username, name: req.name, role, secretHash: t.secretHash, expiresAt: this.#now() + ttl });
    return { token: t.text, info };
  }
}

function checkBaseRole(role: string): void {
  if (!isBuiltinRole(role) || role === 'Admin') throw new InvalidArgument(`baseRole: '${role}' must be Viewer, User or Op`, 'a custom role narrows one of these to some DAGs');
}

function checkEmail(email: string): void {
  if (email.length > 320 || !/^[^\s@]+@[^\s@]+$/.test(email)) throw new InvalidArgument(`email: '${email.slice(0, 100)}' is not an email address`);
}

/** A login refused because of earlier failures; `retryAfterMs` says when to try again. */
export class LoginRateLimited extends CapstanError {
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number) {
    super('rate_limited', 'too many failed logins', { hint: `try again in ${Math.ceil(retryAfterMs / 1000)} s` });
    this.retryAfterMs = retryAfterMs;
  }
}
