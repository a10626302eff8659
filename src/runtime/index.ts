/**
 * Task runtime: what runs one task try — in a task process (runTaskTry: claim through the Execution API,
 * import the DAG file, execute with heartbeats and timeout, report, callbacks) or in-process for
 * `capstan/testing` (executeSuspendable) — and the IPC protocol between the LocalExecutor and its worker
 * processes. Other folders import the runtime through this module only (lint: eslint-rules/noDeepImports.js).
 *
 * Not re-exported: workerProcess.ts and dagCallbackProcess.ts are process entries (they act when loaded; the
 * LocalExecutor and the scheduler fork them by file URL), so only dagCallbackProcess's message types are here;
 * warmUpDag.ts is the DAG file a reused worker rehearses with.
 *
 * @example
 * import { runTaskTry, taskHeartbeatIntervalMs } from '../runtime/index.ts';
 * const code = await runTaskTry({ ...options, heartbeatIntervalMs: taskHeartbeatIntervalMs(zombieTimeoutMs) });
 */
export type { DagCallbackReply, DagCallbackRequest } from './dagCallbackProcess.ts';
export * from './executeTry.ts';
export * from './executionClient.ts';
export * from './logShipper.ts';
export * from './taskRunner.ts';
export * from './tryIsolation.ts';
export * from './tryPhases.ts';
export * from './warmUp.ts';
export * from './workerProtocol.ts';
