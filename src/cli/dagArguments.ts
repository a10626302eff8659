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

/** A backfill bound (`--start`, `--end`): core's ISO 8601 date parsing, as the API's backfill route does. */
export { parseIsoDate as parseBackfillBound } from '../core/index.ts';
