/** The `--logical-date`, `--conf` and backfill `--start`/`--end` arguments of `dags trigger`, `dags test`, `tasks test` and `dags backfill`. */
import { InvalidArgument } from '../core/index.ts';
import type { JsonValue } from '../core/index.ts';

/** `--logical-date` as epoch ms, or undefined when absent. */
export function parseLogicalDate(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new InvalidArgument(`--logical-date '${text}' is not a date`, 'use ISO-8601, e.g. 2026-01-01T00:00:00Z');
  return at;
}

/** `--conf` as JSON, or undefined when absent. */
export function parseConf(text: string | undefined): JsonValue | undefined {
  if (text === undefined) return undefined;
  let conf: JsonValue;
  try {
    conf = JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new InvalidArgument(`--conf is not valid JSON: ${(err as Error).message}`, `e.g. --conf '{"key": "value"}'`);
  }
  if (typeof conf !== 'object' || conf === null || Array.isArray(conf)) throw new InvalidArgument('--conf must be a JSON object', `e.g. --conf '{"key": "value"}'`);
  return conf;
}

const DAY_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A backfill bound (`--start`, `--end`) as epoch ms: an ISO 8601 date (`2026-01-01`, midnight UTC) or date-time,
 * checked as the engine's parseBackfillDate does (a date-only value must name a real day), without loading it.
 */
export function parseBackfillBound(text: string, flag: string): number {
  const at = Date.parse(text);
  if (Number.isNaN(at) || (DAY_ONLY.test(text) && new Date(at).toISOString().slice(0, 10) !== text)) {
    throw new InvalidArgument(`${flag} '${text}' is not a date`, 'use ISO 8601, e.g. 2026-01-01 or 2026-01-01T06:00:00Z');
  }
  return at;
}
