/**
 * `capstan users …` and `capstan roles …`: the people who sign in, their roles, their API tokens, and the custom
 * roles that narrow a built-in role to some DAGs. Passwords never go on the command line (where `ps` and shell
 * history would keep them): `--password-stdin` reads one line, `--random-password` generates and prints one.
 * Every command but `users create-token` also works through a remote API server (src/cli/remote/users.ts).
 */
import { readFileSync } from 'node:fs';
import { AuthService, generatePassword } from '../../auth/index.ts';
import { InvalidArgument, parseDuration } from '../../core/index.ts';
import type { CliContext, RegisterCommands } from '../context.ts';
import { printObject, printRows } from '../output.ts';
import { withApiUrlOption } from '../remote/commands.ts';
import { auditCli } from './audit.ts';

const remoteUsers = () => import('../remote/users.ts');

const USER_COLUMNS = ['username', 'role', 'active', 'display_name', 'email', 'last_login'];
const TOKEN_COLUMNS = ['token_id', 'username', 'name', 'role', 'expires', 'last_used', 'revoked'];

interface PasswordOptions {
  passwordStdin?: boolean;
  randomPassword?: boolean;
}

export const registerUserCommands: RegisterCommands = (program, ctx) => {
  const users = program.command('users').description('manage users who sign in to the API and UI');
  const withPassword = <T extends ReturnType<typeof users.command>>(cmd: T): T =>
    cmd.option('--password-stdin', 'read the password from the first line of standard input').option('--random-password', 'generate a password and print it once');

  withPassword(
    withApiUrlOption(users.command('create'))
      .description('create a user')
      .requiredOption('--username <name>', 'login name')
      .requiredOption('--role <role>', 'Viewer, User, Op, Admin, or a custom role')
      .option('--display-name <text>', 'name shown in the UI')
      .option('--email <address>', 'email address'),
  ).action(async (opts: PasswordOptions & { username: string; role: string; displayName?: string; email?: string }) => {
    const password = readPassword(opts);
    if (ctx.remote) {
      const fields = { ...(opts.displayName === undefined ? {} : { displayName: opts.displayName }), ...(opts.email === undefined ? {} : { email: opts.email }) };
      const user = await (await remoteUsers()).createUserRemote(ctx.remote, { username: opts.username, role: opts.role, password: password.value, ...fields });
      printObject({ username: user.username, role: user.role, ...(password.generated ? { password: password.value } : {}) }, ctx.output);
      return;
    }
    const { auth, m } = await open(ctx);
    const user = await auth.createUser({
      username: opts.username,
      role: opts.role,
      password: password.value,
      ...(opts.displayName === undefined ? {} : { displayName: opts.displayName }),
      ...(opts.email === undefined ? {} : { email: opts.email }),
    });
    await auditCli(m, { event: 'user.create', details: { username: user.username, role: user.role } });
    printObject({ username: user.username, role: user.role, ...(password.generated ? { password: password.value } : {}) }, ctx.output);
  });

  withApiUrlOption(users.command('list'))
    .description('every user with their role')
    .action(async () => {
      if (ctx.remote) {
        const remote = await remoteUsers();
        printRows((await remote.listUsersRemote(ctx.remote)).map(remote.userRow), USER_COLUMNS, ctx.output);
        return;
      }
      const { auth } = await open(ctx);
      const { users: all } = await auth.users.list({ limit: 100_000 });
      printRows(
        all.map((u) => ({ username: u.username, role: u.role, active: u.active, display_name: u.displayName, email: u.email, last_login: u.lastLoginAt === null ? null : new Date(u.lastLoginAt).toISOString() })),
        USER_COLUMNS,
        ctx.output,
      );
    });

  withApiUrlOption(users.command('set-role <username> <role>'))
    .description("change a user's role")
    .action(async (username: string, role: string) => {
      if (ctx.remote) {
        const user = await (await remoteUsers()).patchUserRemote(ctx.remote, username, { role });
        printObject({ username: user.username, role: user.role }, ctx.output);
        return;
      }
      const { auth, m } = await open(ctx);
      const user = await auth.updateUser(username, { role });
      await auditCli(m, { event: 'user.patch', details: { username, role } });
      printObject({ username: user.username, role: user.role }, ctx.output);
    });

  withPassword(withApiUrlOption(users.command('reset-password <username>')).description("set a user's password")).action(async (username: string, opts: PasswordOptions) => {
    const password = readPassword(opts);
    if (ctx.remote) {
      await (await remoteUsers()).patchUserRemote(ctx.remote, username, { password: password.value });
    } else {
      const { auth, m } = await open(ctx);
      await auth.updateUser(username, { password: password.value });
      await auditCli(m, { event: 'user.patch', details: { username, password: 'changed' } });
    }
    printObject({ username, ...(password.generated ? { password: password.value } : { password: 'changed' }) }, ctx.output);
  });

  for (const [name, active] of [['activate', true], ['deactivate', false]] as const) {
    withApiUrlOption(users.command(`${name} <username>`))
      .description(active ? 'let a user sign in again' : 'stop a user from signing in (their tokens stop working too)')
      .action(async (username: string) => {
        if (ctx.remote) {
          const user = await (await remoteUsers()).patchUserRemote(ctx.remote, username, { active });
          printObject({ username: user.username, active: user.active }, ctx.output);
          return;
        }
        const { auth, m } = await open(ctx);
        const user = await auth.updateUser(username, { active });
        await auditCli(m, { event: 'user.patch', details: { username, active } });
        printObject({ username: user.username, active: user.active }, ctx.output);
      });
  }

  withApiUrlOption(users.command('delete <username>'))
    .description('delete a user and their API tokens')
    .action(async (username: string) => {
      if (ctx.remote) {
        await (await remoteUsers()).deleteUserRemote(ctx.remote, username);
      } else {
        const { auth, m } = await open(ctx);
        await auth.deleteUser(username);
        await auditCli(m, { event: 'user.delete', details: { username } });
      }
      printObject({ username, deleted: true }, ctx.output);
    });

  users
    .command('create-token <username> <name>')
    .description('create a personal API token for a user (for CI and remote CLIs); printed once')
    .option('--role <role>', "the token's role, at most the user's (default: the user's)")
    .option('--expires-in <duration>', 'lifetime, e.g. 30d or 12h (default auth.apiTokenDefaultTtlMs)')
    .action(async (username: string, name: string, opts: { role?: string; expiresIn?: string }) => {
      const { auth, m } = await open(ctx);
      const owner = await auth.principalFor(await auth.users.get(username));
      const expiresInMs = opts.expiresIn === undefined ? undefined : parseDuration(opts.expiresIn, '--expires-in');
      const { token, info } = await auth.createApiToken(owner, { name, ...(opts.role === undefined ? {} : { role: opts.role }), ...(expiresInMs === undefined ? {} : { expiresInMs }) });
      await auditCli(m, { event: 'api_token.create', details: { username, tokenName: name, tokenId: info.tokenId, role: info.role } });
      printObject({ token_id: info.tokenId, username, name, role: info.role, expires: new Date(info.expiresAt).toISOString(), token }, ctx.output);
    });

  withApiUrlOption(users.command('list-tokens'))
    .description('API tokens (never their secrets)')
    .option('--username <name>', 'only this user’s')
    .option('--include-revoked', 'also revoked tokens')
    .action(async (opts: { username?: string; includeRevoked?: boolean }) => {
      if (ctx.remote) {
        const remote = await remoteUsers();
        const tokens = await remote.listTokensRemote(ctx.remote, { ...(opts.username === undefined ? {} : { username: opts.username }), includeRevoked: opts.includeRevoked === true });
        printRows(tokens.map(remote.tokenRow), TOKEN_COLUMNS, ctx.output);
        return;
      }
      const { auth } = await open(ctx);
      const tokens = await auth.apiTokens.list({ ...(opts.username === undefined ? {} : { username: opts.username }), includeRevoked: opts.includeRevoked === true });
      const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
      printRows(
        tokens.map((t) => ({ token_id: t.tokenId, username: t.username, name: t.name, role: t.role, expires: iso(t.expiresAt), last_used: iso(t.lastUsedAt), revoked: iso(t.revokedAt) })),
        TOKEN_COLUMNS,
        ctx.output,
      );
    });

  withApiUrlOption(users.command('revoke-token <tokenId>'))
    .description('revoke an API token at once')
    .action(async (tokenId: string) => {
      if (ctx.remote) {
        await (await remoteUsers()).revokeTokenRemote(ctx.remote, tokenId);
      } else {
        const { auth, m } = await open(ctx);
        const info = await auth.apiTokens.revoke(tokenId);
        await auditCli(m, { event: 'api_token.revoke', details: { tokenId, username: info.username, tokenName: info.name } });
      }
      printObject({ token_id: tokenId, revoked: true }, ctx.output);
    });

  const roles = program.command('roles').description('manage custom roles: a built-in role (Viewer, User, Op) narrowed to some DAGs');
  withApiUrlOption(roles.command('create <name>'))
    .description('create a custom role')
    .requiredOption('--base <role>', 'Viewer, User or Op: what the role may do')
    .option('--dags <ids>', 'comma-separated DAG ids the role reaches', '')
    .option('--tags <tags>', 'comma-separated DAG tags the role reaches', '')
    .option('--description <text>', 'what the role is for')
    .action(async (name: string, opts: { base: string; dags: string; tags: string; description?: string }) => {
      if (ctx.remote) {
        if (!isBaseRole(opts.base)) throw new InvalidArgument(`--base: '${opts.base}' is not a base role`, 'pass Viewer, User or Op');
        const role = await (await remoteUsers()).createRoleRemote(ctx.remote, { name, baseRole: opts.base, dagIds: list(opts.dags), dagTags: list(opts.tags), description: opts.description ?? null });
        printObject({ name: role.name, base_role: role.baseRole, dag_ids: role.dagIds, dag_tags: role.dagTags }, ctx.output);
        return;
      }
      const { auth, m } = await open(ctx);
      const role = await auth.createRole({ name, baseRole: opts.base, dagIds: list(opts.dags), dagTags: list(opts.tags), description: opts.description ?? null });
      await auditCli(m, { event: 'role.create', details: { ...role } });
      printObject({ name: role.name, base_role: role.baseRole, dag_ids: role.dagIds, dag_tags: role.dagTags }, ctx.output);
    });
  withApiUrlOption(roles.command('list'))
    .description('custom roles (the built-in ones are Viewer, User, Op, Admin)')
    .action(async () => {
      const listed = ctx.remote ? await (await remoteUsers()).listRolesRemote(ctx.remote) : await (await open(ctx)).auth.users.listRoles();
      printRows(listed.map((r) => ({ name: r.name, base_role: r.baseRole, dag_ids: r.dagIds.join(','), dag_tags: r.dagTags.join(','), description: r.description })), ['name', 'base_role', 'dag_ids', 'dag_tags', 'description'], ctx.output);
    });
  withApiUrlOption(roles.command('delete <name>'))
    .description('delete a custom role no user holds')
    .action(async (name: string) => {
      if (ctx.remote) {
        await (await remoteUsers()).deleteRoleRemote(ctx.remote, name);
      } else {
        const { auth, m } = await open(ctx);
        await auth.users.deleteRole(name);
        await auditCli(m, { event: 'role.delete', details: { name } });
      }
      printObject({ name, deleted: true }, ctx.output);
    });
};

const BASE_ROLES = ['Viewer', 'User', 'Op'] as const;
function isBaseRole(s: string): s is (typeof BASE_ROLES)[number] {
  return (BASE_ROLES as readonly string[]).includes(s);
}

function list(csv: string): string[] {
  return csv
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function readPassword(opts: PasswordOptions): { value: string; generated: boolean } {
  if (opts.passwordStdin && opts.randomPassword) throw new InvalidArgument('--password-stdin and --random-password exclude each other');
  if (opts.randomPassword) return { value: generatePassword(), generated: true };
  if (!opts.passwordStdin) throw new InvalidArgument('no password given', 'pipe it in with --password-stdin (e.g. `printf %s "$PW" | capstan users create … --password-stdin`), or pass --random-password');
  const line = readFileSync(0, 'utf8').split(/\r?\n/)[0] ?? '';
  return { value: line, generated: false };
}

async function open(ctx: CliContext): Promise<{ auth: AuthService; m: Awaited<ReturnType<CliContext['db']>> }> {
  const m = await ctx.db();
  const config = ctx.config();
  return { auth: new AuthService({ db: m, settings: config.auth, secretKey: config.api.secretKey }), m };
}
