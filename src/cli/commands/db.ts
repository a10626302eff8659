/** `capstan db migrate|check|reset|clean|forget-key`. */
import { InvalidArgument, parseDuration } from '../../core/index.ts';
import { CLEAN_GROUPS, cleanMetadata, type CleanGroup } from '../../store/cleanup.ts';
import { redactUrl } from '../../store/db.ts';
import { forgetKeyFingerprint } from '../../store/deploymentKeys.ts';
import { migrateToLatest, migrationStatus, resetDatabase } from '../../store/migrate.ts';
import type { RegisterCommands } from '../context.ts';
import { printObject, printRows } from '../output.ts';

export const registerDbCommands: RegisterCommands = (program, ctx) => {
  const db = program.command('db').description('manage the metadata database');

  db.command('migrate')
    .description('create or upgrade the schema (idempotent)')
    .action(async () => {
      const applied = await migrateToLatest(await ctx.rawDb(), { defaultPoolSlots: ctx.config().core.defaultPoolSlots });
      printObject({ database: redactUrl(ctx.config().database.url), applied: applied.length ? applied : 'already current' }, ctx.output);
    });

  db.command('check')
    .description('exit non-zero unless the schema is current')
    .action(async () => {
      const status = await migrationStatus(await ctx.rawDb());
      printObject({ database: redactUrl(ctx.config().database.url), ...status }, ctx.output);
      if (status.pending.length > 0) process.exitCode = 1;
    });

  db.command('reset')
    .description('drop all metadata and recreate the schema')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (opts: { yes?: boolean }) => {
      if (!opts.yes) throw new InvalidArgument('db reset deletes every DAG run, task instance, variable and connection', 'pass --yes to confirm');
      await resetDatabase(await ctx.rawDb(), { defaultPoolSlots: ctx.config().core.defaultPoolSlots });
      printObject({ database: redactUrl(ctx.config().database.url), reset: true }, ctx.output);
    });

  db.command('forget-key')
    .description('forget the recorded fingerprint of api.secretKey or core.fernetKey after changing that key in every component on purpose; the next component to start records the new one')
    .argument('<setting>', 'api.secretKey or core.fernetKey')
    .action(async (setting: string) => {
      if (setting !== 'api.secretKey' && setting !== 'core.fernetKey') throw new InvalidArgument(`setting: '${setting}' is not a shared key`, 'name api.secretKey or core.fernetKey');
      const forgotten = await forgetKeyFingerprint(await ctx.db(), setting);
      printObject({ database: redactUrl(ctx.config().database.url), setting, forgotten }, ctx.output);
    });

  db.command('clean')
    .description('delete finished runs (with their task instances, tries, XComs and history), audit entries and ended jobs older than a cut-off')
    .option('--clean-before-timestamp <iso>', 'cut-off as an ISO date-time (e.g. 2026-09-01T00:00:00Z)')
    .option('--older-than <duration>', 'cut-off as an age (e.g. 90d, 12h); instead of --clean-before-timestamp')
    .option('--tables <list>', `comma-separated groups: ${CLEAN_GROUPS.join(', ')} (default all)`)
    .option('--dry-run', 'count what would be deleted, delete nothing')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (opts: { cleanBeforeTimestamp?: string; olderThan?: string; tables?: string; dryRun?: boolean; yes?: boolean }) => {
      const before = cleanCutoff(opts.cleanBeforeTimestamp, opts.olderThan);
      const groups = opts.tables === undefined ? undefined : parseGroups(opts.tables);
      if (!opts.dryRun && !opts.yes) throw new InvalidArgument(`db clean deletes what ended before ${new Date(before).toISOString()}`, 'pass --yes to confirm, or --dry-run to count first');
      const counts = await cleanMetadata(await ctx.db(), { before, dryRun: opts.dryRun === true, ...(groups ? { groups } : {}) });
      const verb = opts.dryRun ? 'would delete' : 'deleted';
      printRows(counts.map((c) => ({ table: c.table, [verb]: c.rows })), ['table', verb], ctx.output);
    });
};

function cleanCutoff(timestamp: string | undefined, olderThan: string | undefined): number {
  if ((timestamp === undefined) === (olderThan === undefined)) {
    throw new InvalidArgument('db clean needs exactly one of --clean-before-timestamp and --older-than', 'e.g. --older-than 90d');
  }
  if (olderThan !== undefined) return Date.now() - parseDuration(olderThan, '--older-than');
  const at = Date.parse(timestamp ?? '');
  if (Number.isNaN(at)) throw new InvalidArgument(`--clean-before-timestamp: '${timestamp}' is not a date-time`, 'write it as ISO 8601, e.g. 2026-09-01T00:00:00Z');
  return at;
}

function parseGroups(text: string): CleanGroup[] {
  const names = text.split(',').map((t) => t.trim()).filter((t) => t !== '');
  for (const n of names) {
    if (!(CLEAN_GROUPS as readonly string[]).includes(n)) throw new InvalidArgument(`--tables: '${n}' is not a table group`, `use one of ${CLEAN_GROUPS.join(', ')}`);
  }
  return names as CleanGroup[];
}
