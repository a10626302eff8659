/** Every command and option of `capstan` explains itself in `--help`; `--output` takes only table or json. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { COMMAND_GROUPS, loadAllCommandGroups } from '../../src/cli/commands/index.ts';
import { CliContext } from '../../src/cli/context.ts';
import { runCapstan } from './capstan.ts';

function allCommands(cmd: Command, path: string[] = []): Array<{ path: string; cmd: Command }> {
  return cmd.commands.flatMap((c) => [{ path: [...path, c.name()].join(' '), cmd: c }, ...allCommands(c, [...path, c.name()])]);
}

test('every command and option has a description', async () => {
  const program = new Command('capstan');
  const ctx = new CliContext(program);
  for (const register of await loadAllCommandGroups()) register(program, ctx);
  const commands = allCommands(program);
  for (const expected of ['dags test', 'tasks test', 'tasks clear', 'dags show', 'tasks logs']) assert.ok(commands.some((c) => c.path === expected), expected);
  for (const { path, cmd } of commands) {
    assert.ok(cmd.description().trim().length > 10, `'capstan ${path}' has a description`);
    for (const o of cmd.options) assert.ok((o.description ?? '').trim().length > 3, `'capstan ${path} ${o.flags}' has a description`);
  }
});

test('--output accepts table or json only (exit 2 otherwise); --help exits 0', async () => {
  const [bad, help] = await Promise.all([runCapstan(['-o', 'yaml', 'config', 'list'], '/nonexistent-home', 'sqlite::memory:'), runCapstan(['tasks', 'clear', '--help'], '/nonexistent-home', 'sqlite::memory:')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /argument 'yaml' is invalid\. Allowed choices are table, json/);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--only-failed\s+only task instances that failed/);
});

test('the lazy command index names exactly the top-level commands the groups define, with their descriptions', async () => {
  const program = new Command('capstan');
  const ctx = new CliContext(program);
  for (const register of await loadAllCommandGroups()) register(program, ctx);
  const registered = Object.fromEntries(program.commands.map((c) => [c.name(), c.description()]));
  const indexed = Object.fromEntries(COMMAND_GROUPS.flatMap((g) => Object.entries(g.commands)));
  assert.deepEqual(indexed, registered);
});

test('top-level help lists every command; a command runs with only its group loaded; help <cmd> shows the group', async () => {
  const [top, sub, viaHelp, unknown] = await Promise.all([
    runCapstan(['--help'], '/nonexistent-home', 'sqlite::memory:'),
    runCapstan(['-o', 'json', 'config', 'get', 'api.port'], '/nonexistent-home', 'sqlite::memory:'),
    runCapstan(['help', 'users'], '/nonexistent-home', 'sqlite::memory:'),
    runCapstan(['dgas'], '/nonexistent-home', 'sqlite::memory:'),
  ]);
  assert.equal(top.code, 0);
  for (const name of ['standalone', 'dags', 'tasks', 'kubernetes', 'users', 'roles', 'pools']) assert.match(top.stdout, new RegExp(`^  ${name}\\b`, 'm'), name);
  assert.equal(sub.code, 0, sub.stderr);
  assert.match(sub.stdout, /8080/);
  assert.equal(viaHelp.code, 0);
  assert.match(viaHelp.stdout, /create-token/);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Did you mean dags\?/);
});
