/**
 * Schedules ("timetables"): when a DAG gets runs and which data interval each run covers.
 * Semantics follow Airflow: a run for the interval [start, end) is created once `end` has passed,
 * and its logical date is the interval's start.
 */
import { Cron } from 'croner';
import { parseDuration } from './duration.ts';
import { InvalidArgument } from './errors.ts';

export const SCHEDULE_PRESETS = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
} as const;

/** What users write: a cron string, a preset, `'@once'`, a duration (`{ every: '6h' }`), or null for manual only. */
export type ScheduleInput = string | { every: number | string } | null;

/** The normalized, serializable schedule. */
export type Timetable =
  | { kind: 'none' }
  | { kind: 'once' }
  | { kind: 'cron'; expression: string; timezone: string }
  | { kind: 'delta'; everyMs: number };

export interface DataInterval {
  start: number;
  end: number;
}

/** Turn the user's schedule into a timetable, rejecting bad input with the field and a fix. */
export function parseSchedule(input: ScheduleInput | undefined, timezone = 'UTC'): Timetable {
  if (input === null || input === undefined || input === '@none') return { kind: 'none' };
  if (typeof input === 'object') {
    const everyMs = parseDuration(input.every, 'schedule.every');
    if (everyMs <= 0) throw new InvalidArgument('schedule.every must be greater than zero');
    return { kind: 'delta', everyMs };
  }
  if (input === '@once') return { kind: 'once' };
  const expression = input in SCHEDULE_PRESETS ? SCHEDULE_PRESETS[input as keyof typeof SCHEDULE_PRESETS] : input;
  if (input.startsWith('@') && expression === input) {
    throw new InvalidArgument(
      `schedule: unknown preset '${input}'`,
      `use one of @once, ${Object.keys(SCHEDULE_PRESETS).join(', ')}, a 5-field cron expression, { every: '1h' } or null`,
    );
  }
  if (expression.trim().split(/\s+/).length !== 5) {
    throw new InvalidArgument(
      `schedule: '${input}' is not a 5-field cron expression (minute hour day-of-month month day-of-week)`,
      "e.g. '*/15 * * * *', or a preset such as '@daily'",
    );
  }
  try {
    new Cron(expression, { timezone, paused: true });
  } catch (err) {
    throw new InvalidArgument(`schedule: '${input}' is not a valid cron expression: ${(err as Error).message}`);
  }
  return { kind: 'cron', expression, timezone };
}

function cronAfter(t: Extract<Timetable, { kind: 'cron' }>, after: number, inclusive: boolean): number | null {
  const cron = new Cron(t.expression, { timezone: t.timezone, paused: true });
  const next = cron.nextRun(new Date(inclusive ? after - 1 : after));
  return next ? next.getTime() : null;
}

/**
 * The first data interval at or after `earliest` (aligned to the schedule), or null when the timetable
 * has no automatic runs.
 */
export function firstInterval(t: Timetable, earliest: number): DataInterval | null {
  switch (t.kind) {
    case 'none':
      return null;
    case 'once':
      return { start: earliest, end: earliest };
    case 'delta':
      return { start: earliest, end: earliest + t.everyMs };
    case 'cron': {
      const start = cronAfter(t, earliest, true);
      if (start === null) return null;
      const end = cronAfter(t, start, false);
      return end === null ? null : { start, end };
    }
  }
}

/** The interval that follows `prev`, or null when there is none (`@once`, manual). */
export function nextInterval(t: Timetable, prev: DataInterval): DataInterval | null {
  switch (t.kind) {
    case 'none':
    case 'once':
      return null;
    case 'delta':
      return { start: prev.end, end: prev.end + t.everyMs };
    case 'cron': {
      const end = cronAfter(t, prev.end, false);
      return end === null ? null : { start: prev.end, end };
    }
  }
}

/**
 * The most recent interval whose end is at or before `now` (for catchup=false), aligned to the
 * schedule and not before `earliest`.
 */
export function latestCompleteInterval(t: Timetable, earliest: number, now: number): DataInterval | null {
  const first = firstInterval(t, earliest);
  if (!first || first.end > now) return null;
  if (t.kind === 'once') return first;
  if (t.kind === 'delta') {
    const k = Math.floor((now - first.end) / t.everyMs);
    const start = first.start + k * t.everyMs;
    return { start, end: start + t.everyMs };
  }
  // Cron: walk backwards from now with the cron's previous run.
  if (t.kind === 'cron') {
    const cron = new Cron(t.expression, { timezone: t.timezone, paused: true });
    const prevEnds = cron.previousRuns(2, new Date(now + 1));
    const end = prevEnds[0]?.getTime();
    const start = prevEnds[1]?.getTime();
    if (end === undefined || start === undefined || start < first.start) return first;
    return { start, end };
  }
  return null;
}

/** The interval a manual run at `at` covers: the last complete scheduled interval, or [at, at]. */
export function manualRunInterval(t: Timetable, at: number): DataInterval {
  if (t.kind === 'delta') return { start: at - t.everyMs, end: at };
  if (t.kind === 'cron') {
    const latest = latestCompleteInterval(t, 0, at);
    if (latest) return latest;
  }
  return { start: at, end: at };
}
