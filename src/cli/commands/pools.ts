/**
 * `capstan pools set|list|get|delete`: manage the slot budgets that limit concurrent tasks. Each also works through
 * a remote API server (src/cli/remote/resources.ts); the store is loaded only for a local command.
 */
import { InvalidArgument, NotFound } from '../../core/index.ts';
import type { PoolUsage } from '../../store/pools.ts';
import type { CliContext, RegisterCommands } from '../context.ts';
import { printObject, printRows } from '../output.ts';
import { withApiUrlOption } from '../remote/commands.ts';

const remoteResources = () => import('../remote/resources.ts');

const COLUMNS = ['name', 'slots', 'occupied', 'running', 'queued', 'deferred', 'open', 'include_deferred', 'description'];

/** Registers `capstan pools …` on the program. */
export const registerPoolCommands: RegisterCommands = (program, ctx) => {
  const pools = program.command('pools').description('manage pools (slot limits shared by tasks)');

  withApiUrlOption(pools.command('set <name> <slots>'))
    .description('create a pool or change its size')
    .option('--description <text>', 'what the pool protects')
    .option('--include-deferred', 'deferred tasks hold their slots')
    .option('--no-include-deferred', 'deferred tasks release their slots')
    .action(async (name: string, slotsText: string, opts: { description?: string; includeDeferred?: boolean }) => {
      if (!/^\d+$/.test(slotsText)) throw new InvalidArgument(`<slots>: '${slotsText}' is not a whole number`, 'pass the number of slots, e.g. `capstan pools set warehouse 4`');
      const settings: { slots: number; description?: string; includeDeferred?: boolean } = { slots: Number(slotsText) };
      if (opts.description !== undefined) settings.description = opts.description;
      if (opts.includeDeferred !== undefined) settings.includeDeferred = opts.includeDeferred;
      if (ctx.remote) {
        const pool = await (await remoteResources()).setPoolRemote(ctx.remote, name, settings);
        printObject({ name: pool.name, slots: pool.slots, include_deferred: pool.includeDeferred, description: pool.description }, ctx.output);
        return;
      }
      const { m, store, auditCli } = await open(ctx);
      const pool = await store.set(name, settings);
      await auditCli(m, { event: 'pool.set', details: { ...pool } });
      printObject({ name: pool.name, slots: pool.slots, include_deferred: pool.includeDeferred, description: pool.description }, ctx.output);
    });

  withApiUrlOption(pools.command('list'))
    .description('every pool with its slot usage')
    .action(async () => {
      const pools = ctx.remote ? await (await remoteResources()).listPoolsRemote(ctx.remote) : await (await open(ctx)).store.list();
      printRows(pools.map(toRow), COLUMNS, ctx.output);
    });

  withApiUrlOption(pools.command('get <name>'))
    .description('one pool with its slot usage')
    .action(async (name: string) => {
      const pool = ctx.remote ? await (await remoteResources()).getPoolRemote(ctx.remote, name) : await (await open(ctx)).store.get(name);
      if (!pool) throw new NotFound(`pool '${name}' does not exist`, 'list pools with `capstan pools list`');
      printObject(toRow(pool), ctx.output);
    });

  withApiUrlOption(pools.command('delete <name>'))
    .description('delete a pool (not default_pool)')
    .option('--force', 'delete even while tasks hold its slots (only on the local metadata DB)')
    .action(async (name: string, opts: { force?: boolean }) => {
      if (ctx.remote) {
        if (opts.force) throw new InvalidArgument('--force works only on the local metadata DB: the API refuses to delete a pool whose slots are held (409)', 'wait for its tasks to finish, or run it with --local on a machine with the metadata DB');
        await (await remoteResources()).deletePoolRemote(ctx.remote, name);
        printObject({ name, deleted: true }, ctx.output);
        return;
      }
      const { m, store, auditCli } = await open(ctx);
      await store.delete(name, { force: opts.force === true });
      await auditCli(m, { event: 'pool.delete', details: { name, force: opts.force === true } });
      printObject({ name, deleted: true }, ctx.output);
    });
};

async function open(ctx: CliContext) {
  const [{ PoolStore }, { auditCli }] = await Promise.all([import('../../store/pools.ts'), import('./audit.ts')]);
  const m = await ctx.db();
  return { m, store: new PoolStore(m), auditCli };
}

function toRow(p: PoolUsage): Record<string, unknown> {
  return {
    name: p.name,
    slots: p.slots,
    occupied: p.occupied,
    running: p.running,
    queued: p.queued,
    deferred: p.deferred,
    open: p.open,
    include_deferred: p.includeDeferred,
    description: p.description,
  };
}
