/**
 * Process logs (scheduler, API server, DAG processor, workers): structured JSON lines on pino, one object
 * per event with `time`, `level`, `component` and `msg`, or short human lines when `format` is `pretty`.
 * Task logs are a separate concern, see `taskLog.ts`.
 *
 * Logs go to stderr by default so that CLI commands keep stdout for their results (`-o json` stays
 * parseable); Kubernetes collects both streams alike.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { CapstanConfig } from '../config/index.ts';

export type { Logger } from 'pino';

/** Fields censored wherever they appear at the top level or one level down. */
const REDACTED_FIELDS = ['password', 'secret', 'secretKey', 'fernetKey', 'token', 'authorization', 'apiKey'];

/** Options for tests and embedders. */
export interface CreateLoggerOptions {
  /** Where lines go. Default: stderr, written synchronously so nothing is lost on exit. */
  destination?: DestinationStream;
}

/**
 * A logger for one component, e.g. `createLogger(config.logging, 'scheduler')`. Add context with
 * `logger.child({ dagId })`; log errors as `logger.error({ err }, 'message')`.
 */
export function createLogger(config: Pick<CapstanConfig['logging'], 'level' | 'format'> & Partial<CapstanConfig['logging']>, component: string, options: CreateLoggerOptions = {}): Logger {
  const sink = options.destination ?? pino.destination({ dest: 2, sync: true });
  const destination = config.format === 'pretty' ? prettyDestination(sink) : sink;
  return pino(
    {
      level: config.level,
      base: { component, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_FIELDS.flatMap((f) => [f, `*.${f}`]), censor: '***' },
    },
    destination,
  );
}

/** Fields every line has; `pretty` shows them in the prefix rather than as `key=value`. */
const PREFIX_FIELDS = new Set(['time', 'level', 'component', 'pid', 'msg', 'hostname', 'err']);

/**
 * Turns each JSON line from pino into `2026-01-02T03:04:05.000Z INFO  [scheduler] message key=value`,
 * with an error's stack on the lines after. Lines that are not JSON pass through unchanged.
 */
export function prettyDestination(out: DestinationStream): DestinationStream {
  return { write: (line: string) => out.write(formatPrettyLine(line)) };
}

/** One pino JSON line rendered for people (see `prettyDestination`). */
export function formatPrettyLine(line: string): string {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = String(event.level ?? '').toUpperCase().padEnd(5);
  const component = event.component === undefined ? '' : ` [${String(event.component)}]`;
  const fields = Object.entries(event)
    .filter(([k]) => !PREFIX_FIELDS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  const head = [`${String(event.time ?? '')} ${level}${component}`, String(event.msg ?? ''), ...fields].filter((s) => s !== '').join(' ');
  const err = event.err as { stack?: unknown; message?: unknown } | undefined;
  const stack = err === undefined ? '' : `\n    ${String(err.stack ?? err.message ?? JSON.stringify(err)).split('\n').join('\n    ')}`;
  return `${head}${stack}\n`;
}
