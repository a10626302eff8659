/** `capstan standalone|scheduler|api-server|dag-processor|triggerer`: the long-running roles. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine } from '../../app/components.ts';
import type * as Roles from '../../app/index.ts';
import type { RegisterCommands } from '../context.ts';

/**
 * The roles, loaded only by the commands that start one: they pull in every executor (the Kubernetes client
 * is ~0.4 s of CPU to load), which every other command, `capstan tasks run` in each worker pod included,
 * must not pay for.
 */
const roles = (): Promise<typeof Roles> => import('../../app/index.ts');

/** The banner's sign-in lines: the generated admin password on the start that made it, its file afterwards. */
function loginLines(login: Roles.StandaloneHandle['login'], mode: 'enabled' | 'disabled'): string[] {
  if (mode === 'disabled') return ['  Sign-in        DISABLED (auth.mode=disabled): every local caller is Admin'];
  if (login === undefined) return ['  Sign-in        with your users (`capstan users list`)'];
  if (login.password !== undefined) return [`  Sign-in        ${login.username} / ${login.password}   (shown once; also in ${login.passwordFile ?? '?'})`];
  return [`  Sign-in        ${login.username}${login.passwordFile ? `, password in ${login.passwordFile}` : ''}`];
}

/** An AbortSignal fired by SIGINT/SIGTERM so roles stop cleanly. */
function shutdownSignal(): AbortSignal {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return ac.signal;
}

export const registerRoleCommands: RegisterCommands = (program, ctx) => {
  program
    .command('standalone')
    .description('run everything in one process on the embedded defaults: migrate, DAG processor, scheduler, triggerer, API server')
    .action(async () => {
      const config = ctx.config();
      const engine = createEngine(config, { db: await ctx.rawDb() });
      const signal = shutdownSignal();
      const { startStandalone } = await roles();
      const h = await startStandalone(engine, signal);
      const { WEB_UI_DIST } = await import('../../api/index.ts');
      process.stdout.write(
        [
          'Capstan standalone is running.',
          `  Web UI         ${existsSync(join(WEB_UI_DIST, 'index.html')) ? `${h.api.url}/   (sign in below)` : 'not built: run `npm run build:ui`'}`,
          `  API server     ${h.api.url}   (REST API: ${h.api.url}/api/v2/docs, health: ${h.api.url}/health, metrics: ${h.api.url}/metrics)`,
          `  DAGs folder    ${config.core.dagsFolder}${config.core.loadExamples ? ' (+ bundled examples)' : ''}`,
          `  Metadata DB    ${config.database.url}`,
          `  Task logs      ${config.logging.baseLogFolder}`,
          `  Triggerer      in this process (capacity ${config.triggerer.capacity}) for deferred tasks`,
          ...loginLines(h.login, config.auth.mode),
          '  Try:           capstan dags list   |   capstan dags trigger example_bash   |   capstan dags list-runs example_bash',
          'Press Ctrl+C to stop.',
          '',
        ].join('\n'),
      );
      await h.done;
    });

  program
    .command('scheduler')
    .description('run the scheduler (with its executor)')
    .action(async () => {
      const config = ctx.config();
      const engine = createEngine(config, { db: await ctx.componentDb('scheduler') });
      const { createExecutor, createScheduler, startSchedulerHealthServer } = await roles();
      const health = await startSchedulerHealthServer(engine);
      if (health) process.stdout.write(`scheduler health and metrics on ${health.url}/health\n`);
      await createScheduler(engine, await createExecutor(engine, config.api.executionApiUrl)).run(shutdownSignal());
      await health?.close();
    });

  program
    .command('triggerer')
    .description("run deferred tasks' triggers (many at once; several triggerers share the work)")
    .action(async () => {
      const m = await ctx.componentDb('triggerer');
      const engine = createEngine(ctx.config(), { db: m });
      const { createTriggerer, startTriggererHealthServer } = await roles();
      const health = await startTriggererHealthServer(engine);
      if (health) process.stdout.write(`triggerer health and metrics on ${health.url}/health\n`);
      await createTriggerer(engine).run(shutdownSignal());
      await health?.close();
    });

  program
    .command('api-server')
    .description('serve the REST API, the Execution API, /health and /metrics')
    .action(async () => {
      const engine = createEngine(ctx.config(), { db: await ctx.componentDb('api-server') });
      const { startApiServer } = await roles();
      const server = await startApiServer(engine);
      process.stdout.write(`API server listening on ${server.url}\n`);
      const signal = shutdownSignal();
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      await server.close();
    });

  program
    .command('dag-processor')
    .description('parse DAG files into the metadata DB as they change')
    .option('--once', 'parse every file once and exit')
    .action(async (opts: { once?: boolean }) => {
      const m = await ctx.componentDb('dag-processor');
      const engine = createEngine(ctx.config(), { db: m });
      const { createDagProcessor } = await roles();
      const processor = createDagProcessor(engine);
      if (opts.once) {
        const summary = await processor.processOnce();
        process.stdout.write(JSON.stringify(summary) + '\n');
        if (summary.errors > 0) process.exitCode = 1;
        return;
      }
      await processor.run(shutdownSignal(), engine.config.dagProcessor.refreshIntervalMs);
    });
};
