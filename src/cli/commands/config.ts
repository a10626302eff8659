/** `capstan config list|get|generate-key`: show the configuration in effect and where each value came from. */
import { closestMatch, configValue, describeConfig, generateFernetKey, keysOf, optionSpec, SECTION_NAMES, type SectionName } from '../../config/index.ts';
import { InvalidArgument } from '../../core/index.ts';
import type { RegisterCommands } from '../context.ts';
import { printObject, printRows } from '../output.ts';

export const registerConfigCommands: RegisterCommands = (program, ctx) => {
  const config = program.command('config').description('show the configuration in effect');

  config
    .command('list')
    .description('every option with its value, default and source (secrets shown as ***)')
    .option('-s, --section <section>', `only one section: ${SECTION_NAMES.join(', ')}`)
    .action((opts: { section?: string }) => {
      const section = opts.section === undefined ? undefined : parseSection(opts.section);
      const rows = describeConfig(ctx.config(), section);
      printRows(rows as unknown as Array<Record<string, unknown>>, ['section', 'key', 'value', 'default', 'source', 'description'], ctx.output);
    });

  config
    .command('get <key>')
    .description('print one value, e.g. `capstan config get core.dagsFolder`')
    .option('--reveal', 'print a secret instead of ***')
    .action((path: string, opts: { reveal?: boolean }) => {
      const { section, key } = parseKeyPath(path);
      const value = configValue(ctx.config(), section, key, opts.reveal === true);
      if (ctx.output === 'json') printObject({ section, key, value }, 'json');
      else process.stdout.write(`${String(value)}\n`);
    });

  config
    .command('generate-key')
    .description('print a new Fernet key for core.fernetKey (CAPSTAN__CORE__FERNET_KEY)')
    .action(() => {
      process.stdout.write(`${generateFernetKey()}\n`);
    });
};

function parseSection(name: string): SectionName {
  const section = SECTION_NAMES.find((s) => s === name);
  if (section) return section;
  const match = closestMatch(name, SECTION_NAMES);
  throw new InvalidArgument(`unknown config section '${name}'${match ? `; did you mean '${match}'?` : ''}`, `use one of ${SECTION_NAMES.join(', ')}`);
}

function parseKeyPath(path: string): { section: SectionName; key: string } {
  const dot = path.indexOf('.');
  if (dot < 0) throw new InvalidArgument(`'${path}' is not a section.key path`, 'write it as section.key, e.g. core.dagsFolder');
  const section = parseSection(path.slice(0, dot));
  const key = path.slice(dot + 1);
  if (optionSpec(section, key)) return { section, key };
  const match = closestMatch(key, keysOf(section));
  throw new InvalidArgument(`unknown config key '${path}'${match ? `; did you mean '${section}.${match}'?` : ''}`, `keys of ${section}: ${keysOf(section).join(', ')}`);
}
