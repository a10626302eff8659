/**
 * Services: what the API, the CLI, the scheduler and `capstan/testing` call to act on DAGs, runs and task
 * instances — the task-try lifecycle, manual runs, clear, mark, backfill, dependency explanations, the
 * connection test, engine events and the serialized-DAG cache. Each works through the store and knows
 * nothing of HTTP or process roles (see ./ARCHITECTURE.md). Other folders import services through this module
 * only (lint: eslint-rules/noDeepImports.js).
 *
 * @example
 * import { markDagRun, SerializedDagCache, triggerDagRun } from '../services/index.ts';
 * const run = await triggerDagRun(db, { dagId: 'etl', conf: {} }, Date.now());
 * await markDagRun(db, { dagId: 'etl', runId: run.runId, state: 'success' }, Date.now(), 'cli');
 * const dags = new SerializedDagCache(db);
 */
export * from './backfill.ts';
export * from './clear.ts';
export * from './connectionTest.ts';
export * from './dagCache.ts';
export * from './dagCallbackContext.ts';
export * from './dependencies.ts';
export * from './events.ts';
export * from './mark.ts';
export * from './taskLifecycle.ts';
export * from './triggerRun.ts';
