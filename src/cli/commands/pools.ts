/** `capstan pools set|list|get|delete`: manage the slot budgets that limit concurrent tasks. */
import { InvalidArgument, NotFound } from '../../core/errors.ts';
import { PoolStore, type PoolUsage } from '../../store/pools.ts';
import type { CliContext, RegisterCommands } from '../context.ts';
import { printObject, printRows } from '../output.ts';
import { auditCli } from './audit.ts';

const COLUMNS = ['name', 'slots', 'occupied', 'running', 'queued', 'deferred', 'open', 'include_deferred', 'description'];

/** Registers `capstan pools …` on the program. */
export const registerPoolCommands: RegisterCommands = (program, ctx) => {
  const pools = program.command('pools').description('manage pools (slot limits shared by tasks)');

  pools
    .command('set <name> <slots>')
    .description('create a pool or change its size')
    .option('--description <text>', 'what the pool protects')
    .option('--include-deferred', 'deferred tasks hold their slots')
    .option('--no-include-deferred', 'deferred tasks release their slots')
    .action(async (name: string, slotsText: string, opts: { description?: string; includeDeferred?: boolean }) => {
      if (!/^\d+$/.test(slotsText)) throw new InvalidArgument(`<slots>: '${slotsText}' is not a whole number`, 'pass the number of slots, e.g. `capstan pools set warehouse 4`');
      const { m, store } = await open(ctx);
      const settings: { slots: number; description?: string; includeDeferred?: boolean } = { slots: Number(slotsText) };
      if (opts.description !== undefined) settings.description = opts.description;
      if (opts.includeDeferred !== undefined) settings.includeDeferred = opts.includeDeferred;
      const pool = await store.set(name, settings);
      await auditCli(m, { event: 'pool.set', details: { ...pool } });
      printObject({ name: pool.name, slots: pool.slots, include_deferred: pool.includeDeferred, description: pool.description }, ctx.output);
    });

  pools
    .command('list')
    .description('every pool with its slot usage')
    .action(async () => {
      const { store } = await open(ctx);
      printRows((await store.list()).map(toRow), COLUMNS, ctx.output);
    });

  pools
    .command('get <name>')
    .description('one pool with its slot usage')
    .action(async (name: string) => {
      const { store } = await open(ctx);
      const pool = await store.get(name);
      if (!pool) throw new NotFound(`pool '${name}' does not exist`, 'list pools with `capstan pools list`');
      printObject(toRow(pool), ctx.output);
    });

  pools
    .command('delete <name>')
    .description('delete a pool (not default_pool)')
    .option('--force', 'delete even while tasks hold its slots')
    .action(async (name: string, opts: { force?: boolean }) => {
      const { m, store } = await open(ctx);
      await store.delete(name, { force: opts.force === true });
      await auditCli(m, { event: 'pool.delete', details: { name, force: opts.force === true } });
      printObject({ name, deleted: true }, ctx.output);
    });
};

async function open(ctx: CliContext) {
  const m = await ctx.db();
  return { m, store: new PoolStore(m) };
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
