#!/usr/bin/env node
/**
 * The `capstan` command line. Each command group lives in `commands/<group>.ts`; this file only wires
 * them and turns thrown errors into diagnostics and exit codes.
 */
import { Command, CommanderError, Option } from 'commander';
import { CliContext } from './context.ts';
import { exitCodeFor, printError } from './output.ts';
import { COMMAND_GROUPS } from './commands/index.ts';

export async function runCli(argv: string[]): Promise<number> {
  const program = new Command('capstan')
    .description('Capstan: a Kubernetes-native workflow orchestrator for TypeScript DAGs')
    .option('-c, --config <path>', 'config file (default: $CAPSTAN_HOME/capstan.yaml)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .exitOverride()
    .showHelpAfterError();
  const ctx = new CliContext(program);
  for (const register of COMMAND_GROUPS) register(program, ctx);
  for (const cmd of program.commands) cmd.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? 0 : 2;
    }
    printError(err, ctx.output);
    return exitCodeFor(err);
  } finally {
    await ctx.close();
  }
}

if (import.meta.main) {
  const code = await runCli(process.argv.slice(2));
  process.exitCode = code;
}
