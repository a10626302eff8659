/**
 * Which commands work through a remote API server. A command listed as remote runs against the server when a
 * target is set (profile, `--api-url`, CAPSTAN_API_URL); `tasks run` (inside a worker) and `login` ignore the
 * target; any other command — the roles, `db`, `config`, `users create-token`, `dags test`… — refuses while a target is set,
 * saying why and that `--local` runs it here, rather than quietly working on a local database while the user
 * thinks it is the server's.
 */
import type { Command } from 'commander';

/** How command `path` (e.g. `dags list`) relates to a remote target. */
export type RemoteSupport = { kind: 'remote' } | { kind: 'localOnly' } | { kind: 'ownConnection' } | { kind: 'unsupported'; why: string };

/** The commands that work through `/api/v2`, with the same output as locally. */
export const REMOTE_COMMANDS: ReadonlySet<string> = new Set([
  'dags list',
  'dags list-import-errors',
  'dags list-warnings',
  'dags show',
  'dags trigger',
  'dags pause',
  'dags unpause',
  'dags list-runs',
  'dags mark-run',
  'dags note',
  'dags backfill',
  'dags list-backfills',
  'dags cancel-backfill',
  'tasks list',
  'tasks state',
  'tasks logs',
  'tasks clear',
  'tasks history',
  'tasks mark-success',
  'tasks mark-failed',
  'tasks note',
  'variables get',
  'variables set',
  'variables list',
  'variables delete',
  'pools set',
  'pools list',
  'pools get',
  'pools delete',
  'connections add',
  'connections get',
  'connections list',
  'connections delete',
  'users create',
  'users list',
  'users set-role',
  'users reset-password',
  'users activate',
  'users deactivate',
  'users delete',
  'users list-tokens',
  'users revoke-token',
  'roles create',
  'roles list',
  'roles delete',
]);

/** `tasks run` is started by an executor with its own Execution API URL: it never takes a remote target. */
const ALWAYS_LOCAL = ['tasks run'];

/** Commands that open their own connection to a server (they need neither a target nor the local DB). */
const OWN_CONNECTION = ['login', 'logout'];

/**
 * Why the rest cannot go through the API (checked from the most specific): run while a target is set, they
 * stop and say so, and `--local` runs them on this machine.
 */
const WHY: ReadonlyArray<readonly [string, string]> = [
  ['standalone', 'it runs the Capstan roles in this process'],
  ['scheduler', 'it runs a Capstan role in this process'],
  ['triggerer', 'it runs a Capstan role in this process'],
  ['api-server', 'it runs a Capstan role in this process'],
  ['dag-processor', 'it runs a Capstan role in this process'],
  ['db', 'it manages the metadata database itself'],
  ['config', "it shows this machine's configuration (the server's is GET /api/v2/config)"],
  ['dags test', 'it runs the DAG in this process'],
  ['tasks test', 'it runs the task in this process'],
  ['tasks render', 'it imports the DAG file in this process'],
  ['tasks render-pod', 'it imports the DAG file in this process'],
  ['variables import', 'it reads a file on this machine in one transaction'],
  ['variables export', 'it writes every value in plain text, which the API masks'],
  ['users create-token', "the API mints a token only for the signed-in user (`POST /auth/tokens`, the UI's \"generate API token\"), never for someone else"],
  ['kubernetes', 'it talks to the Kubernetes cluster and the metadata DB directly'],
];

export function remoteSupportOf(path: string): RemoteSupport {
  if (REMOTE_COMMANDS.has(path)) return { kind: 'remote' };
  if (OWN_CONNECTION.includes(path)) return { kind: 'ownConnection' };
  if (ALWAYS_LOCAL.includes(path)) return { kind: 'localOnly' };
  const why = WHY.find(([p]) => path === p || path.startsWith(`${p} `))?.[1];
  return { kind: 'unsupported', why: why ?? 'the remote CLI does not cover this command yet' };
}

/** Adds `--api-url` to a command that works remotely. */
export function withApiUrlOption(cmd: Command): Command {
  return cmd.option('--api-url <url>', 'work through this Capstan API server instead of the local metadata DB (default: the `capstan login` profile, or $CAPSTAN_API_URL)');
}
