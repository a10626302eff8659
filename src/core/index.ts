/**
 * Core: the contracts every other folder shares — states and their transition tables, trigger rules, the
 * serialized DAG shapes, try outcomes and failure reasons, connections, params, schedules, durations,
 * errors, the clock — as pure types and functions. Core imports no other folder and no I/O, so importing
 * this index is cheap for any caller (Ajv, for params, loads on first use). Other folders import core
 * through this module only (lint: eslint-rules/noDeepImports.js).
 *
 * @example
 * import { isTerminal, parseDuration, systemClock, type TryOutcome } from '../core/index.ts';
 * const timeoutMs = parseDuration('5m', 'execution_timeout'); // 300000
 * const outcome: TryOutcome = { kind: 'success' };
 * if (isTerminal('failed')) await systemClock.sleep(timeoutMs);
 */
export * from './async.ts';
export * from './capstanResolver.ts';
export * from './clock.ts';
export * from './connection.ts';
export * from './duration.ts';
export * from './errors.ts';
export * from './isoDate.ts';
export * from './execution.ts';
export * from './failureReason.ts';
export * from './mapping.ts';
export * from './params.ts';
export * from './retry.ts';
export * from './schedule.ts';
export * from './secretNames.ts';
export * from './serialized.ts';
export * from './states.ts';
export * from './triggerRules.ts';
