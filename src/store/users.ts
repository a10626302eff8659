/**
 * Users and custom roles. Passwords arrive here already hashed (auth/passwords.ts); this module only stores
 * rows. Usernames are case-sensitive and unique.
 */
import { CapstanError, InvalidArgument, NotFound } from '../core/index.ts';
import type { MetadataDb } from './db.ts';
import type { AppUserRow, AuthRoleRow } from './schema.ts';

/** A user as the rest of Capstan sees it (never with the password hash). */
export interface UserInfo {
  username: string;
  displayName: string;
  email: string | null;
  role: string;
  active: boolean;
  authSource: 'password' | 'oidc';
  createdAt: number;
  lastLoginAt: number | null;
}

/** A custom role: a built-in base role narrowed to some DAGs. */
export interface CustomRole {
  name: string;
  baseRole: string;
  dagIds: string[];
  dagTags: string[];
  description: string | null;
  createdAt: number;
}

export interface NewUser {
  username: string;
  displayName?: string;
  email?: string | null;
  role: string;
  passwordHash: string | null;
  authSource?: 'password' | 'oidc';
}

function toUser(r: AppUserRow): UserInfo {
  return {
    username: r.username,
    displayName: r.display_name,
    email: r.email,
    role: r.role,
    active: r.active === 1,
    authSource: r.auth_source,
    createdAt: r.created_at,
    lastLoginAt: r.last_login_at,
  };
}

function toRole(r: AuthRoleRow): CustomRole {
  return { name: r.name, baseRole: r.base_role, dagIds: JSON.parse(r.dag_ids) as string[], dagTags: JSON.parse(r.dag_tags) as string[], description: r.description, createdAt: r.created_at };
}

/**
 * The users and custom roles tables.
 *
 * @example
 * const users = new UserStore(m);
 * await users.create({ username: 'alice', role: 'Op', passwordHash: await hashPassword(pw) });
 * await users.setRole('alice', 'Viewer');
 */
export class UserStore {
  readonly #m: MetadataDb;
  readonly #now: () => number;

  constructor(m: MetadataDb, options: { now?: () => number } = {}) {
    this.#m = m;
    this.#now = options.now ?? Date.now;
  }

  async count(): Promise<number> {
    const r = await this.#m.db.selectFrom('app_user').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async create(u: NewUser): Promise<UserInfo> {
    const now = this.#now();
    if (await this.find(u.username)) throw new CapstanError('conflict', `user '${u.username}' already exists`, { hint: 'pick another username, or change this user with `capstan users set-role` / `reset-password`' });
    await this.#m.db
      .insertInto('app_user')
      .values({
        username: u.username,
        display_name: u.displayName ?? u.username,
        email: u.email ?? null,
        role: u.role,
        password_hash: u.passwordHash,
        auth_source: u.authSource ?? 'password',
        active: 1,
        created_at: now,
        updated_at: now,
        last_login_at: null,
      })
      .execute();
    return this.get(u.username);
  }

  /** The user with their password hash, or undefined. */
  async findWithHash(username: string): Promise<(UserInfo & { passwordHash: string | null }) | undefined> {
    const r = await this.#m.db.selectFrom('app_user').selectAll().where('username', '=', username).executeTakeFirst();
    return r ? { ...toUser(r), passwordHash: r.password_hash } : undefined;
  }

  async find(username: string): Promise<UserInfo | undefined> {
    const r = await this.#m.db.selectFrom('app_user').selectAll().where('username', '=', username).executeTakeFirst();
    return r ? toUser(r) : undefined;
  }

  async get(username: string): Promise<UserInfo> {
    const u = await this.find(username);
    if (!u) throw new NotFound(`user '${username}' does not exist`, 'list users with `capstan users list`');
    return u;
  }

  async list(options: { limit?: number; offset?: number } = {}): Promise<{ users: UserInfo[]; total: number }> {
    const rows = await this.#m.db
      .selectFrom('app_user')
      .selectAll()
      .orderBy('username')
      .limit(options.limit ?? 1000)
      .offset(options.offset ?? 0)
      .execute();
    return { users: rows.map(toUser), total: await this.count() };
  }

  async update(username: string, patch: { role?: string; displayName?: string; email?: string | null; active?: boolean; passwordHash?: string }): Promise<UserInfo> {
    await this.get(username);
    await this.#m.db
      .updateTable('app_user')
      .set({
        updated_at: this.#now(),
        ...(patch.role === undefined ? {} : { role: patch.role }),
        ...(patch.displayName === undefined ? {} : { display_name: patch.displayName }),
        ...(patch.email === undefined ? {} : { email: patch.email }),
        ...(patch.active === undefined ? {} : { active: patch.active ? 1 : 0 }),
        ...(patch.passwordHash === undefined ? {} : { password_hash: patch.passwordHash }),
      })
      .where('username', '=', username)
      .execute();
    return this.get(username);
  }

  async recordLogin(username: string): Promise<void> {
    await this.#m.db.updateTable('app_user').set({ last_login_at: this.#now() }).where('username', '=', username).execute();
  }

  /** Delete the user and their API tokens. */
  async delete(username: string): Promise<void> {
    await this.get(username);
    await this.#m.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('api_token').where('username', '=', username).execute();
      await tx.deleteFrom('app_user').where('username', '=', username).execute();
    });
  }

  /** Users holding `role`, e.g. to refuse deleting a custom role still in use. */
  async countWithRole(role: string): Promise<number> {
    const r = await this.#m.db.selectFrom('app_user').select((eb) => eb.fn.countAll<number>().as('n')).where('role', '=', role).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Active users holding `role` (the last active Admin may not be demoted, deactivated or deleted). */
  async countActiveWithRole(role: string): Promise<number> {
    const r = await this.#m.db.selectFrom('app_user').select((eb) => eb.fn.countAll<number>().as('n')).where('role', '=', role).where('active', '=', 1).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async createRole(role: Omit<CustomRole, 'createdAt'>): Promise<CustomRole> {
    if (await this.findRole(role.name)) throw new CapstanError('conflict', `role '${role.name}' already exists`);
    await this.#m.db
      .insertInto('auth_role')
      .values({ name: role.name, base_role: role.baseRole, dag_ids: JSON.stringify(role.dagIds), dag_tags: JSON.stringify(role.dagTags), description: role.description, created_at: this.#now() })
      .execute();
    return this.getRole(role.name);
  }

  async updateRole(name: string, patch: { baseRole?: string; dagIds?: string[]; dagTags?: string[]; description?: string | null }): Promise<CustomRole> {
    await this.getRole(name);
    const set = {
      ...(patch.baseRole === undefined ? {} : { base_role: patch.baseRole }),
      ...(patch.dagIds === undefined ? {} : { dag_ids: JSON.stringify(patch.dagIds) }),
      ...(patch.dagTags === undefined ? {} : { dag_tags: JSON.stringify(patch.dagTags) }),
      ...(patch.description === undefined ? {} : { description: patch.description }),
    };
    if (Object.keys(set).length > 0) await this.#m.db.updateTable('auth_role').set(set).where('name', '=', name).execute();
    return this.getRole(name);
  }

  async findRole(name: string): Promise<CustomRole | undefined> {
    const r = await this.#m.db.selectFrom('auth_role').selectAll().where('name', '=', name).executeTakeFirst();
    return r ? toRole(r) : undefined;
  }

  async getRole(name: string): Promise<CustomRole> {
    const r = await this.findRole(name);
    if (!r) throw new NotFound(`role '${name}' does not exist`, 'list roles with `capstan roles list`');
    return r;
  }

  async listRoles(): Promise<CustomRole[]> {
    return (await this.#m.db.selectFrom('auth_role').selectAll().orderBy('name').execute()).map(toRole);
  }

  async deleteRole(name: string): Promise<void> {
    await this.getRole(name);
    const users = await this.countWithRole(name);
    if (users > 0) throw new InvalidArgument(`role '${name}' is held by ${users} user(s)`, 'give them another role first (`capstan users set-role`)');
    await this.#m.db.deleteFrom('auth_role').where('name', '=', name).execute();
  }
}
