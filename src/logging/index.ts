/**
 * Process logs (pino, JSON or pretty) and per-try task log files that can be read and followed, locally or in an
 * object store, and the handler the config names. Other folders import logging through this module or, where
 * pino and config must not load (the task runtime, the Execution API, the triggerer), through the light entry
 * taskLogs.ts (lint: eslint-rules/noDeepImports.js).
 *
 * @example
 * import { createLogger, taskLogHandlerFor } from '../logging/index.ts';
 * const logger = createLogger(config.logging, 'scheduler');
 * const logs = taskLogHandlerFor(config.logging);
 */
export { createLogger, formatPrettyLine, prettyDestination, type CreateLoggerOptions, type Logger } from './logger.ts';
export { END_OF_LOG_MESSAGE, escapePathSegment, isEndOfLogLine, taskLogPath, TaskLogWriter, type TaskLogKey, type TaskLogLevel, type TaskLogWriterOptions } from './taskLog.ts';
export { followTaskLog, readTaskLog, type FollowOptions, type TaskLogChunk } from './taskLogReader.ts';
export { LocalFileTaskLogHandler, TaskLogGapError, type TaskLogHandler, type TaskLogReadOptions } from './logHandler.ts';
export { followTryLog, readTryLog, type FollowTryLogOptions, type LiveTaskLogSource, type TryLogChunk } from './tryLog.ts';
export { ObjectStoreTaskLogHandler, type ObjectStoreCredentials, type ObjectStoreLocation } from './objectStoreHandler.ts';
export { taskLogHandlerFor, type ConnectionResolver, type S3ConnectionParts } from './handlerFromConfig.ts';
export { TaskLogAppender, type TaskLogAppenderOptions } from './taskLogAppender.ts';
