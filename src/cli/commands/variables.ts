/**
 * `capstan variables get|set|list|delete|import|export`: manage variables in the metadata database. `get`, `set`,
 * `list` and `delete` also work through a remote API server (src/cli/remote/resources.ts); the store is loaded
 * only for a local command.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { errorMessage, InvalidArgument, NotFound } from '../../core/index.ts';
import type { CliContext, RegisterCommands } from '../context.ts';
import { printObject, printRows } from '../output.ts';
import { withApiUrlOption } from '../remote/commands.ts';

const remoteResources = () => import('../remote/resources.ts');

type OnExisting = 'overwrite' | 'skip' | 'fail';
const ON_EXISTING: readonly OnExisting[] = ['overwrite', 'skip', 'fail'];

/** Registers `capstan variables …` on the program. */
export const registerVariableCommands: RegisterCommands = (program, ctx) => {
  const variables = program.command('variables').description('manage variables (values DAGs read at run time)');

  withApiUrlOption(variables.command('get <key>'))
    .description('print a variable value')
    .option('--json', 'parse the value as JSON and pretty-print it')
    .option('--default <value>', 'print this instead of failing when the variable does not exist')
    .action(async (key: string, opts: { json?: boolean; default?: string }) => {
      const value = (ctx.remote ? await (await remoteResources()).getVariableRemote(ctx.remote, key) : await (await open(ctx)).store.get(key)) ?? opts.default;
      if (value === undefined) throw new NotFound(`variable '${key}' does not exist`, 'list variables with `capstan variables list`, or pass --default <value>');
      if (opts.json) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(value);
        } catch {
          throw new InvalidArgument(`--json: variable '${key}' is not valid JSON`, 'drop --json to print the raw value');
        }
        process.stdout.write(JSON.stringify(parsed, null, 2) + '\n');
      } else if (ctx.output === 'json') {
        printObject({ key, value }, 'json');
      } else {
        process.stdout.write(value + '\n');
      }
    });

  withApiUrlOption(variables.command('set <key> <value>'))
    .description('create or replace a variable (secret-looking keys are stored encrypted)')
    .option('--description <text>', 'what the variable is for')
    .option('--json', 'require the value to be valid JSON')
    .action(async (key: string, value: string, opts: { description?: string; json?: boolean }) => {
      if (opts.json) {
        try {
          JSON.parse(value);
        } catch (err) {
          throw new InvalidArgument(`--json: the value for '${key}' is not valid JSON (${errorMessage(err)})`, `quote it for your shell, e.g. '{"a": 1}'`);
        }
      }
      if (ctx.remote) {
        printObject(await (await remoteResources()).setVariableRemote(ctx.remote, key, value, opts.description), ctx.output);
        return;
      }
      const { m, store, auditCli } = await open(ctx);
      const saved = await store.set(key, value, opts.description === undefined ? {} : { description: opts.description });
      await auditCli(m, { event: 'variable.set', details: { key } });
      printObject({ key, description: saved.description, encrypted: saved.isEncrypted }, ctx.output);
    });

  withApiUrlOption(variables.command('list'))
    .description('list variable keys (values are not shown)')
    .action(async () => {
      const rows = ctx.remote ? await (await remoteResources()).listVariablesRemote(ctx.remote) : (await (await open(ctx)).store.list()).map((v) => ({ key: v.key, description: v.description, encrypted: v.isEncrypted }));
      printRows(rows, ['key', 'description', 'encrypted'], ctx.output);
    });

  withApiUrlOption(variables.command('delete <key>'))
    .description('delete a variable')
    .action(async (key: string) => {
      if (ctx.remote) {
        await (await remoteResources()).deleteVariableRemote(ctx.remote, key);
        printObject({ key, deleted: true }, ctx.output);
        return;
      }
      const { m, store, auditCli } = await open(ctx);
      if (!(await store.delete(key))) throw new NotFound(`variable '${key}' does not exist`, 'list variables with `capstan variables list`');
      await auditCli(m, { event: 'variable.delete', details: { key } });
      printObject({ key, deleted: true }, ctx.output);
    });

  variables
    .command('import <file>')
    .description('set variables from a JSON object file ({"key": value} or {"key": {"value": v, "description": d}}; - reads stdin)')
    .option('--on-existing <action>', `what to do when a key exists: ${ON_EXISTING.join(', ')}`, 'overwrite')
    .action(async (file: string, opts: { onExisting: string }) => {
      const onExisting = ON_EXISTING.find((a) => a === opts.onExisting);
      if (!onExisting) throw new InvalidArgument(`--on-existing: '${opts.onExisting}' is not an action`, `use one of ${ON_EXISTING.join(', ')}`);
      const entries = parseImportFile(file);
      const { m, store, auditCli } = await open(ctx);
      const existing = new Set((await store.list()).map((v) => v.key));
      const clashes = entries.filter((e) => existing.has(e.key)).map((e) => e.key);
      if (onExisting === 'fail' && clashes.length > 0) {
        throw new InvalidArgument(`${clashes.length} variable(s) already exist: ${clashes.join(', ')}`, 'pass --on-existing overwrite or skip');
      }
      let imported = 0;
      let skipped = 0;
      for (const e of entries) {
        if (onExisting === 'skip' && existing.has(e.key)) {
          skipped += 1;
          continue;
        }
        await store.set(e.key, e.value, e.description === undefined ? {} : { description: e.description });
        imported += 1;
      }
      await auditCli(m, { event: 'variable.import', details: { file, imported, skipped } });
      printObject({ file, imported, skipped }, ctx.output);
    });

  variables
    .command('export <file>')
    .description('write every variable to a JSON file (plaintext, mode 0600; - writes stdout)')
    .action(async (file: string) => {
      const { m, store, auditCli } = await open(ctx);
      const out: Record<string, unknown> = {};
      for (const v of await store.list()) {
        const value = parseOrKeep(v.value);
        out[v.key] = v.description === null ? value : { value, description: v.description };
      }
      const text = JSON.stringify(out, null, 2) + '\n';
      if (file === '-') {
        process.stdout.write(text);
      } else {
        try {
          writeFileSync(file, text, { mode: 0o600 });
        } catch (err) {
          throw new InvalidArgument(`cannot write ${file}: ${errorMessage(err)}`, 'pass a path in a writable folder, or - for stdout');
        }
        printObject({ file, exported: Object.keys(out).length }, ctx.output);
      }
      await auditCli(m, { event: 'variable.export', details: { file, exported: Object.keys(out).length } });
    });
};

async function open(ctx: CliContext) {
  const [{ VariableStore }, { auditCli, cliFernet }] = await Promise.all([import('../../store/variables.ts'), import('./audit.ts')]);
  const m = await ctx.db();
  return { m, store: new VariableStore(m, { fernet: cliFernet(ctx) }), auditCli };
}

interface ImportEntry {
  key: string;
  value: string;
  description?: string;
}

/** Read an import file: a JSON object whose values are strings (kept), other JSON (stored as JSON text), or {value, description}. */
function parseImportFile(file: string): ImportEntry[] {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new InvalidArgument(`cannot read ${file}: ${errorMessage(err)}`, 'pass the path of a JSON file, or - for stdin');
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgument(`${file} is not valid JSON (${errorMessage(err)})`, 'the file must hold one JSON object: {"key": "value", ...}');
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new InvalidArgument(`${file} does not hold a JSON object`, 'the file must hold one JSON object: {"key": "value", ...}');
  }
  return Object.entries(data).map(([key, raw]) => {
    if (isDescribed(raw)) return { key, value: asText(raw.value), description: raw.description };
    return { key, value: asText(raw) };
  });
}

function isDescribed(raw: unknown): raw is { value: unknown; description: string } {
  return raw !== null && typeof raw === 'object' && !Array.isArray(raw) && 'value' in raw && typeof (raw as { description?: unknown }).description === 'string';
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function parseOrKeep(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
