/** `capstan db migrate|check|reset`. */
import { redactUrl } from '../../store/db.ts';
import { migrateToLatest, migrationStatus, resetDatabase } from '../../store/migrate.ts';
import { InvalidArgument } from '../../core/errors.ts';
import type { RegisterCommands } from '../context.ts';
import { printObject } from '../output.ts';

export const registerDbCommands: RegisterCommands = (program, ctx) => {
  const db = program.command('db').description('manage the metadata database');

  db.command('migrate')
    .description('create or upgrade the schema (idempotent)')
    .action(async () => {
      const applied = await migrateToLatest(ctx.rawDb(), { defaultPoolSlots: ctx.config().core.defaultPoolSlots });
      printObject({ database: redactUrl(ctx.config().database.url), applied: applied.length ? applied : 'already current' }, ctx.output);
    });

  db.command('check')
    .description('exit non-zero unless the schema is current')
    .action(async () => {
      const status = await migrationStatus(ctx.rawDb());
      printObject({ database: redactUrl(ctx.config().database.url), ...status }, ctx.output);
      if (status.pending.length > 0) process.exitCode = 1;
    });

  db.command('reset')
    .description('drop all metadata and recreate the schema')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (opts: { yes?: boolean }) => {
      if (!opts.yes) throw new InvalidArgument('db reset deletes every DAG run, task instance, variable and connection', 'pass --yes to confirm');
      await resetDatabase(ctx.rawDb(), { defaultPoolSlots: ctx.config().core.defaultPoolSlots });
      printObject({ database: redactUrl(ctx.config().database.url), reset: true }, ctx.output);
    });
};
