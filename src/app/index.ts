/**
 * The application: the composition root (createEngine builds the store, services, auth and metrics from the
 * config), the role processes (scheduler, API server, DAG processor, triggerer, standalone), the start-time
 * deployment checks, the standalone admin login and the version. The CLI imports it through this module or
 * the light entries components.ts (createEngine without the role processes: `dags test`, `tasks test`,
 * renders) and deploymentChecks.ts (lint: eslint-rules/noDeepImports.js).
 *
 * @example
 * import { createEngine, startStandalone } from '../app/index.ts';
 * const engine = createEngine(config);
 * const handle = await startStandalone(engine, AbortSignal.timeout(60_000));
 */
export * from './components.ts';
export * from './deploymentChecks.ts';
export * from './roles.ts';
export * from './standaloneAdmin.ts';
export * from './version.ts';
