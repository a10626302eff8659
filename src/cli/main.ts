#!/usr/bin/env node
/**
 * The `capstan` command line. Each command group lives in `commands/<group>.ts`; this file only wires
 * them and turns thrown errors into diagnostics and exit codes.
 */
import { enableCompileCache } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import type { CliContext } from './context.ts';
import { exitCodeFor, printError } from './output.ts';
import { COMMAND_GROUPS, groupsFor } from './commands/index.ts';

// Node caches the compiled code of every module loaded from here on (in the OS temp folder; NODE_DISABLE_COMPILE_CACHE=1
// turns it off): a CLI start compiles hundreds of modules (kysely alone is 260), which is most of its time.
enableCompileCache();

export async function runCli(argv: string[]): Promise<number> {
  const program = new Command('capstan')
    .description('Capstan: a Kubernetes-native workflow orchestrator for TypeScript DAGs')
    .option('-c, --config <path>', 'config file (default: $CAPSTAN_HOME/capstan.yaml)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--profile <name>', 'the `capstan login` profile to use (default: $CAPSTAN_PROFILE, else "default")')
    .option('--local', 'work on the local metadata DB even when a `capstan login` profile or CAPSTAN_API_URL is set')
    .exitOverride()
    .showHelpAfterError();
  const ctx = await registerCommandsFor(program, argv);
  for (const cmd of program.commands) cmd.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? 0 : 2;
    }
    printError(err, ctx?.output ?? (program.opts<{ output?: string }>().output === 'json' ? 'json' : 'table'));
    return exitCodeFor(err);
  } finally {
    await ctx?.close();
  }
}

/** Global options that take a value (their value is not a command name). */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['-c', '--config', '-o', '--output', '--profile']);

/** The first word of `argv` that is not a global option or its value: the top-level command asked for. */
function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (GLOBAL_OPTIONS_WITH_VALUE.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/**
 * Register the command groups `argv` needs: the group(s) of the command asked for (also through `help <cmd>`);
 * for anything else (no command, `--help`, an unknown word) every top-level command by name and description
 * only, which is all the top-level help and "did you mean" suggestions read. Returns the context the commands
 * share, when any were loaded.
 */
async function registerCommandsFor(program: Command, argv: readonly string[]): Promise<CliContext | undefined> {
  let rest = argv;
  let word = commandWord(rest);
  if (word === 'help') {
    rest = rest.slice(rest.indexOf('help') + 1);
    word = commandWord(rest);
  }
  // The word after the command (`list` of `tasks list`) picks among the groups that add subcommands to it.
  const sub = word === undefined ? undefined : commandWord(rest.slice(rest.indexOf(word) + 1));
  const groups = word === undefined ? [] : groupsFor(word, sub);
  if (groups.length > 0) {
    // The context (config loading, database drivers) is loaded only for a command that may use it.
    const { CliContext } = await import('./context.ts');
    const ctx = new CliContext(program);
    for (const g of groups) (await g.load())(program, ctx);
    // Before each action: the remote API server or the local config and DB, whichever the command will use.
    program.hook('preAction', (_program, action) => ctx.prepare(commandPath(action), action.opts()));
    return ctx;
  }
  for (const g of COMMAND_GROUPS) for (const [name, description] of Object.entries(g.commands)) program.command(name).description(description);
  return undefined;
}

/** `dags list` for the `list` subcommand of `dags`. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

if (import.meta.main) {
  const code = await runCli(process.argv.slice(2));
  process.exitCode = code;
}
