/**
 * `macros` in templates: Airflow's date helpers `ds_add` and `ds_format`, plus small stand-ins for the Python modules Airflow exposes there (`datetime`, `timedelta`,
 * `json`, `uuid`, `random`).
 */
import { randomUUID } from 'node:crypto';
import { splitKwargs, strptime, strftime, TemplateDate } from './dates.ts';

/** `ds_add('2026-01-05', -4)` → `'2026-01-01'`. */
export function dsAdd(ds: string, days: number): string {
  const at = strptime(ds, '%Y-%m-%d');
  return strftime(new Date(at.getTime() + days * 86_400_000), '%Y-%m-%d');
}

/** `ds_format('2026-01-05', '%Y-%m-%d', '%m-%d-%y')` → `'01-05-26'`. */
export function dsFormat(ds: string, inputFormat: string, outputFormat: string): string {
  return strftime(strptime(ds, inputFormat), outputFormat);
}

/** The `macros` object of the template context. */
export function templateMacros(now: () => number): Record<string, unknown> {
  return {
    ds_add: (ds: string, days: number) => dsAdd(ds, days),
    ds_format: (ds: string, inputFormat: string, outputFormat: string) => dsFormat(ds, inputFormat, outputFormat),
    /** `macros.datetime(2026, 1, 31)`, `macros.datetime.utcnow()`, `macros.datetime.fromisoformat(s)`. */
    datetime: Object.assign(
      (y: number, m: number, d: number, h = 0, mi = 0, s = 0) => new TemplateDate(Date.UTC(y, m - 1, d, h, mi, s)),
      {
        utcnow: () => new TemplateDate(now()),
        now: () => new TemplateDate(now()),
        fromisoformat: (text: string) => new TemplateDate(Date.parse(text)),
        strptime: (text: string, format: string) => new TemplateDate(strptime(text, format)),
      },
    ),
    /** `macros.timedelta(days=1)`: a duration in milliseconds, to pass to `date.add` or compare. */
    timedelta: (...args: unknown[]) => {
      const { kwargs } = splitKwargs(args);
      return new TemplateDate(0).add(kwargs).date.getTime();
    },
    json: { dumps: (v: unknown) => JSON.stringify(v), loads: (s: string) => JSON.parse(s) as unknown },
    uuid: { uuid4: () => randomUUID() },
    random: () => Math.random(),
  };
}
