/**
 * Which commands work through a remote API server. A command listed as remote runs against the server when a
 * target is set (profile, `--api-url`, CAPSTAN_API_URL); a local-only one ignores the target (the roles, `db`,
 * `config`, `tasks run` inside a worker, `login` itself); any other command refuses, saying why, rather than
 * quietly working on a local database while the user thinks it is the server's.
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
  'tasks list',
  'tasks state',
  'tasks logs',
  'tasks clear',
]);

/** Commands (or first words) that always use this machine and never a remote target. */
const LOCAL_ONLY = ['standalone', 'scheduler', 'triggerer', 'api-server', 'dag-processor', 'db', 'config', 'tasks run'];

/** Commands that open their own connection to a server (they need neither a target nor the local DB). */
const OWN_CONNECTION = ['login', 'logout'];

/** Why the rest cannot go through the API (checked from the most specific). */
const WHY: ReadonlyArray<readonly [string, string]> = [
  ['dags test', 'it runs the DAG in this process'],
  ['tasks test', 'it runs the task in this process'],
  ['tasks render', 'it imports the DAG file in this process'],
  ['tasks history', 'the API serves tries (`capstan tasks state --output json`) but not the state history'],
  ['dags backfill', 'the CLI has no remote backfill yet (the API has POST /api/v2/backfills)'],
  ['kubernetes', 'it talks to the Kubernetes cluster and the metadata DB directly'],
];

export function remoteSupportOf(path: string): RemoteSupport {
  if (REMOTE_COMMANDS.has(path)) return { kind: 'remote' };
  if (OWN_CONNECTION.includes(path)) return { kind: 'ownConnection' };
  if (LOCAL_ONLY.some((p) => path === p || path.startsWith(`${p} `))) return { kind: 'localOnly' };
  const why = WHY.find(([p]) => path === p || path.startsWith(`${p} `))?.[1];
  return { kind: 'unsupported', why: why ?? 'the remote CLI does not cover this command yet' };
}

/** Adds `--api-url` to a command that works remotely. */
export function withApiUrlOption(cmd: Command): Command {
  return cmd.option('--api-url <url>', 'work through this Capstan API server instead of the local metadata DB (default: the `capstan login` profile, or $CAPSTAN_API_URL)');
}
