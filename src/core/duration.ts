/**
 * Durations in DAG and task options may be given as milliseconds or as readable strings:
 * `'90s'`, `'5m'`, `'1h30m'`, `'2d'`, `'500ms'`, or ISO-8601 (`'PT1H'`, `'P1D'`).
 */
import { InvalidArgument } from './errors.ts';

/** A duration in milliseconds, or a readable string such as `'5m'` or `'PT1H'`. */
export type DurationInput = number | string;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parse `input` to milliseconds; `field` names the option in the error. */
export function parseDuration(input: DurationInput, field: string): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new InvalidArgument(`${field}: ${input} is not a non-negative number of milliseconds`);
    return input;
  }
  const text = input.trim();
  const iso = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(text);
  if (iso && text.length > 1 && !/T$/i.test(text)) {
    const [, d, h, m, s] = iso;
    return Number(d ?? 0) * 86_400_000 + Number(h ?? 0) * 3_600_000 + Number(m ?? 0) * 60_000 + Number(s ?? 0) * 1000;
  }
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/g)];
  const consumed = parts.map((p) => p[0]).join('');
  if (parts.length === 0 || consumed.replace(/\s/g, '') !== text.replace(/\s/g, '')) {
    throw new InvalidArgument(
      `${field}: '${input}' is not a duration`,
      "use milliseconds or a string like '30s', '5m', '1h30m', '2d' or ISO-8601 'PT1H'",
    );
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_MS[p[2] ?? 'ms'] ?? 1), 0);
}
