/**
 * Every command group, loaded only when its command runs. `capstan --help` and an unknown command need just the
 * top-level names and descriptions below; `capstan dags list` loads the `dags` group alone. Importing every group
 * (and so the stores, the engine, the Kubernetes client…) cost most of a CLI start.
 */
import type { RegisterCommands } from '../context.ts';

interface CommandGroup {
  /** Top-level commands this group defines, with their one-line descriptions (the group's own, checked by a test). */
  commands: Readonly<Record<string, string>>;
  /**
   * Top-level commands of other groups this group adds subcommands to, with those subcommands: `capstan tasks
   * list` does not load the groups that only add `tasks render-pod` or `tasks history` (and the engine, store or
   * Kubernetes code they import).
   */
  extends?: Readonly<Record<string, readonly string[]>>;
  load(): Promise<RegisterCommands>;
}

/** In the order `capstan --help` lists them. */
export const COMMAND_GROUPS: readonly CommandGroup[] = [
  {
    commands: {
      standalone: 'run everything in one process on the embedded defaults: migrate, DAG processor, scheduler, triggerer, API server',
      scheduler: 'run the scheduler (with its executor)',
      triggerer: "run deferred tasks' triggers (many at once; several triggerers share the work)",
      'api-server': 'serve the REST API, the Execution API, /health and /metrics',
      'dag-processor': 'parse DAG files into the metadata DB as they change',
    },
    load: async () => (await import('./roles.ts')).registerRoleCommands,
  },
  { commands: { dags: 'list, inspect, trigger, pause and test DAGs' }, load: async () => (await import('./dags.ts')).registerDagCommands },
  { commands: { tasks: 'inspect, test, clear and run task instances' }, load: async () => (await import('./tasks.ts')).registerTaskCommands },
  {
    commands: { kubernetes: 'KubernetesExecutor housekeeping: leftover worker pods, worker pod YAML' },
    extends: { tasks: ['render-pod'] },
    load: async () => (await import('./kubernetes.ts')).registerKubernetesCommands,
  },
  { commands: {}, extends: { tasks: ['render'] }, load: async () => (await import('./render.ts')).registerRenderCommand },
  { commands: {}, extends: { tasks: ['history'] }, load: async () => (await import('./history.ts')).registerHistoryCommand },
  { commands: { db: 'manage the metadata database' }, load: async () => (await import('./db.ts')).registerDbCommands },
  { commands: { config: 'show the configuration in effect' }, load: async () => (await import('./config.ts')).registerConfigCommands },
  { commands: { variables: 'manage variables (values DAGs read at run time)' }, load: async () => (await import('./variables.ts')).registerVariableCommands },
  { commands: { connections: 'manage connections to external systems' }, load: async () => (await import('./connections.ts')).registerConnectionCommands },
  { commands: { pools: 'manage pools (slot limits shared by tasks)' }, load: async () => (await import('./pools.ts')).registerPoolCommands },
  {
    commands: { login: 'sign in to a Capstan API server, so the CLI works against it (see docs/cli-remote.md)', logout: 'revoke the API token of a login profile and remove the profile' },
    load: async () => (await import('./login.ts')).registerLoginCommands,
  },
  {
    commands: { users: 'manage users who sign in to the API and UI', roles: 'manage custom roles: a built-in role (Viewer, User, Op) narrowed to some DAGs' },
    load: async () => (await import('./users.ts')).registerUserCommands,
  },
];

/**
 * The groups that define or extend top-level command `name` (empty for an unknown name). With `sub` (the word
 * after it, e.g. `list` of `tasks list`), a group that only extends `name` is left out unless it adds `sub`;
 * without one (`capstan tasks --help`) every group that adds to `name` is loaded.
 */
export function groupsFor(name: string, sub?: string): CommandGroup[] {
  const all = COMMAND_GROUPS.filter((g) => name in g.commands || g.extends?.[name] !== undefined);
  if (sub === undefined || sub === 'help' || !all.some((g) => name in g.commands)) return all;
  const added = all.filter((g) => !(name in g.commands) && g.extends?.[name]?.includes(sub));
  if (added.length > 0) return all.filter((g) => name in g.commands || added.includes(g));
  return all.filter((g) => name in g.commands);
}

/** Every group's registration, in order (for `--help` of everything, and tests). */
export async function loadAllCommandGroups(): Promise<RegisterCommands[]> {
  return Promise.all(COMMAND_GROUPS.map((g) => g.load()));
}
