/**
 * Schedules as pure functions: parsing (presets, cron, `{ every }`, `@once`, errors), the first, next and
 * latest data intervals, manual-run intervals, and how many catchup intervals fit in a fixed window.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CapstanError } from '../../src/core/errors.ts';
import { firstInterval, latestCompleteInterval, manualRunInterval, nextInterval, parseSchedule, SCHEDULE_PRESETS, type DataInterval, type Timetable } from '../../src/core/schedule.ts';

const t = (iso: string) => Date.parse(iso);
const iso = (i: DataInterval | null) => (i === null ? null : [new Date(i.start).toISOString(), new Date(i.end).toISOString()]);

/** Every interval from `earliest` whose end is at or before `now`, as a catchup scheduler creates them. */
function catchupIntervals(tt: Timetable, earliest: number, now: number): DataInterval[] {
  const out: DataInterval[] = [];
  let next = firstInterval(tt, earliest);
  while (next && next.end <= now && out.length < 10_000) {
    out.push(next);
    next = nextInterval(tt, next);
  }
  return out;
}

describe('parseSchedule', () => {
  test('null, undefined and @none mean manual only', () => {
    for (const s of [null, undefined, '@none'] as const) assert.deepEqual(parseSchedule(s), { kind: 'none' });
  });

  test('presets become their cron expressions', () => {
    assert.deepEqual(parseSchedule('@daily'), { kind: 'cron', expression: '0 0 * * *', timezone: 'UTC' });
    assert.deepEqual(parseSchedule('@hourly'), { kind: 'cron', expression: '0 * * * *', timezone: 'UTC' });
    for (const [preset, expression] of Object.entries(SCHEDULE_PRESETS)) assert.deepEqual(parseSchedule(preset, 'Europe/Paris'), { kind: 'cron', expression, timezone: 'Europe/Paris' });
  });

  test('@once, cron and durations', () => {
    assert.deepEqual(parseSchedule('@once'), { kind: 'once' });
    assert.deepEqual(parseSchedule('*/15 9-17 * * 1-5'), { kind: 'cron', expression: '*/15 9-17 * * 1-5', timezone: 'UTC' });
    assert.deepEqual(parseSchedule({ every: '6h' }), { kind: 'delta', everyMs: 6 * 3_600_000 });
    assert.deepEqual(parseSchedule({ every: 90_000 }), { kind: 'delta', everyMs: 90_000 });
  });

  test('bad input is rejected with the schedule and a fix', () => {
    const cases: Array<[Parameters<typeof parseSchedule>[0], RegExp]> = [
      ['@fortnightly', /unknown preset '@fortnightly'/],
      ['* * *', /not a 5-field cron expression/],
      ['0 0 * * * *', /not a 5-field cron expression/],
      ['61 * * * *', /'61 \* \* \* \*' is not a valid cron expression/],
      ['daily', /not a 5-field cron expression/],
      [{ every: 0 }, /schedule.every must be greater than zero/],
      [{ every: 'soon' }, /schedule.every: 'soon' is not a duration/],
    ];
    for (const [input, message] of cases) {
      assert.throws(() => parseSchedule(input), (err: unknown) => err instanceof CapstanError && err.code === 'invalid_argument' && message.test(err.message), JSON.stringify(input));
    }
    assert.throws(() => parseSchedule('@fortnightly'), (err: CapstanError) => /@once/.test(err.hint ?? ''));
  });
});

describe('intervals', () => {
  const daily = parseSchedule('@daily');

  test('the first cron interval is aligned at or after the earliest time', () => {
    assert.deepEqual(iso(firstInterval(daily, t('2026-01-01T00:00:00Z'))), ['2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z']);
    assert.deepEqual(iso(firstInterval(daily, t('2026-01-01T05:30:00Z'))), ['2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z']);
    assert.deepEqual(iso(firstInterval(parseSchedule('0 6 * * *', 'America/New_York'), t('2026-01-01T00:00:00Z'))), ['2026-01-01T11:00:00.000Z', '2026-01-02T11:00:00.000Z']);
  });

  test('next intervals follow on without gaps', () => {
    const first = firstInterval(daily, t('2026-03-01T00:00:00Z'));
    assert.ok(first);
    const second = nextInterval(daily, first);
    assert.deepEqual(iso(second), ['2026-03-02T00:00:00.000Z', '2026-03-03T00:00:00.000Z']);
    const every = parseSchedule({ every: '90m' });
    assert.deepEqual(iso(nextInterval(every, { start: t('2026-01-01T00:00:00Z'), end: t('2026-01-01T01:30:00Z') })), ['2026-01-01T01:30:00.000Z', '2026-01-01T03:00:00.000Z']);
  });

  test('@once has one interval and manual schedules none', () => {
    const once = parseSchedule('@once');
    const first = firstInterval(once, t('2026-01-01T00:00:00Z'));
    assert.deepEqual(iso(first), ['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']);
    assert.equal(nextInterval(once, first as DataInterval), null);
    assert.equal(firstInterval({ kind: 'none' }, 0), null);
    assert.equal(nextInterval({ kind: 'none' }, { start: 0, end: 0 }), null);
  });

  test('the latest complete interval (catchup off)', () => {
    assert.deepEqual(iso(latestCompleteInterval(daily, t('2026-01-01T00:00:00Z'), t('2026-01-10T12:00:00Z'))), ['2026-01-09T00:00:00.000Z', '2026-01-10T00:00:00.000Z']);
    const sixHours = parseSchedule({ every: '6h' });
    assert.deepEqual(iso(latestCompleteInterval(sixHours, t('2026-01-01T00:00:00Z'), t('2026-01-01T20:00:00Z'))), ['2026-01-01T12:00:00.000Z', '2026-01-01T18:00:00.000Z']);
    // Nothing has ended yet.
    assert.equal(latestCompleteInterval(daily, t('2026-01-01T00:00:00Z'), t('2026-01-01T23:59:59Z')), null);
    assert.equal(latestCompleteInterval({ kind: 'none' }, 0, t('2026-01-01T00:00:00Z')), null);
  });

  test('a manual run covers the last complete interval, or a point', () => {
    const at = t('2026-01-10T12:00:00Z');
    assert.deepEqual(iso(manualRunInterval(daily, at)), ['2026-01-09T00:00:00.000Z', '2026-01-10T00:00:00.000Z']);
    assert.deepEqual(iso(manualRunInterval(parseSchedule({ every: '1h' }), at)), ['2026-01-10T11:00:00.000Z', '2026-01-10T12:00:00.000Z']);
    assert.deepEqual(iso(manualRunInterval({ kind: 'none' }, at)), ['2026-01-10T12:00:00.000Z', '2026-01-10T12:00:00.000Z']);
    assert.deepEqual(iso(manualRunInterval({ kind: 'once' }, at)), ['2026-01-10T12:00:00.000Z', '2026-01-10T12:00:00.000Z']);
  });
});

describe('catchup interval counts over a fixed window', () => {
  const cases: Array<[string, Parameters<typeof parseSchedule>[0], string, string, number]> = [
    ['@daily over January', '@daily', '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z', 31],
    ['@daily, window ending mid-interval', '@daily', '2026-01-01T00:00:00Z', '2026-01-31T23:59:59Z', 30],
    ['@hourly over one day', '@hourly', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', 24],
    ['*/15 over two hours', '*/15 * * * *', '2026-01-01T00:00:00Z', '2026-01-01T02:00:00Z', 8],
    ['@weekly (Sundays) through January', '@weekly', '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z', 4],
    ['@monthly over a year', '@monthly', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z', 12],
    ['@yearly over three years', '@yearly', '2026-01-01T00:00:00Z', '2029-01-01T00:00:00Z', 3],
    ['weekdays at 09:00 for two weeks', '0 9 * * 1-5', '2026-01-05T00:00:00Z', '2026-01-19T00:00:00Z', 9],
    ['every 6h over one day', { every: '6h' }, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', 4],
    ['@once', '@once', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z', 1],
  ];
  for (const [name, schedule, start, now, count] of cases) {
    test(name, () => {
      const intervals = catchupIntervals(parseSchedule(schedule), t(start), t(now));
      assert.equal(intervals.length, count);
      for (let i = 1; i < intervals.length; i++) assert.equal(intervals[i]?.start, intervals[i - 1]?.end, 'intervals are contiguous');
    });
  }
});
