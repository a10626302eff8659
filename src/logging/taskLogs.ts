/**
 * Light entry of the logging folder: per-try task logs — writing (TaskLogWriter, the paths), reading and
 * following, the handler interface with its local-file handler, a try's log across its sources, and the
 * appender the triggerer writes through. No pino, no config and no object-store handler: the task runtime,
 * the Execution API, the worker-pod log readers and `capstan/testing` load only this.
 *
 * @example
 * import { readTaskLog, taskLogPath, TaskLogWriter } from '../logging/taskLogs.ts';
 * const path = taskLogPath(baseLogFolder, key);
 * const writer = await TaskLogWriter.open(path);
 * const chunk = await readTaskLog(path);
 */
export * from './logHandler.ts';
export * from './taskLog.ts';
export * from './taskLogAppender.ts';
export * from './taskLogReader.ts';
export * from './tryLog.ts';
