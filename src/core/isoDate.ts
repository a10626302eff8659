/**
 * Dates given by users (a backfill's bounds, from the CLI or the API): an ISO 8601 date (`2026-01-01`,
 * midnight UTC) or date-time (`2026-01-01T06:00:00Z`), as epoch milliseconds.
 */
import { InvalidArgument } from './errors.ts';

const DAY_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** Parse `text`; `field` names the option in the error (`--start`, `fromDate`). */
export function parseIsoDate(text: string, field: string): number {
  const at = Date.parse(text);
  // Date.parse rolls 2026-02-30 over to March: a date-only value must name a real day.
  if (Number.isNaN(at) || (DAY_ONLY.test(text) && new Date(at).toISOString().slice(0, 10) !== text)) {
    throw new InvalidArgument(`${field} '${text}' is not a date`, 'use ISO 8601, e.g. 2026-01-01 or 2026-01-01T06:00:00Z');
  }
  return at;
}
