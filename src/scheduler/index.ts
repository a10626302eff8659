/**
 * Scheduler: the loop that creates due runs, starts and judges runs, queues ready tries to the executor and
 * keeps house (zombies, timeouts, orphan adoption), plus the pure pieces others reuse — param resolution for
 * the Execution API, run judgement and the run snapshot for `capstan/testing` (see ./ARCHITECTURE.md). Other
 * folders import the scheduler through this module only (lint: eslint-rules/noDeepImports.js).
 *
 * @example
 * import { resolveParams, Scheduler } from '../scheduler/index.ts';
 * const params = resolveParams(serializedDag, { day: '2026-01-01' });
 * const scheduler = new Scheduler(deps, options);
 */
export * from './adoption.ts';
export * from './dagCallbacks.ts';
export * from './expansion.ts';
export * from './housekeeping.ts';
export * from './params.ts';
export * from './queueDecision.ts';
export * from './queueing.ts';
export * from './runCreation.ts';
export * from './runScheduling.ts';
export * from './runSnapshot.ts';
export * from './scheduler.ts';
