/**
 * Dates as templates see them. Airflow hands templates pendulum datetimes in UTC; `TemplateDate` is the
 * small part of that surface templates use: it prints as ISO-8601 with `+00:00` (as `str()` of a UTC
 * pendulum datetime does), formats with Python's `strftime` directives, and moves by days/hours/….
 */

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Python `strftime` over a UTC instant (%Y %m %d %H %M %S %f %y %j %a %A %b %B %z %Z %%). */
export function strftime(at: Date, format: string): string {
  return format.replace(/%([a-zA-Z%])/g, (whole, d: string) => {
    switch (d) {
      case 'Y': return String(at.getUTCFullYear());
      case 'm': return pad(at.getUTCMonth() + 1);
      case 'd': return pad(at.getUTCDate());
      case 'H': return pad(at.getUTCHours());
      case 'M': return pad(at.getUTCMinutes());
      case 'S': return pad(at.getUTCSeconds());
      case 'f': return pad(at.getUTCMilliseconds() * 1000, 6);
      case 'y': return pad(at.getUTCFullYear() % 100);
      case 'j': return pad(Math.floor((Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()) - Date.UTC(at.getUTCFullYear(), 0, 1)) / 86_400_000) + 1, 3);
      case 'a': return (DAYS[at.getUTCDay()] ?? '').slice(0, 3);
      case 'A': return DAYS[at.getUTCDay()] ?? '';
      case 'b': return (MONTHS[at.getUTCMonth()] ?? '').slice(0, 3);
      case 'B': return MONTHS[at.getUTCMonth()] ?? '';
      case 'z': return '+0000';
      case 'Z': return 'UTC';
      case '%': return '%';
      default: return whole;
    }
  });
}

/** Parse `text` written in a `strftime` format (%Y %m %d %H %M %S %y %b %j), as UTC. */
export function strptime(text: string, format: string): Date {
  const parts: Array<'Y' | 'm' | 'd' | 'H' | 'M' | 'S' | 'y' | 'b' | 'j'> = [];
  let pattern = '';
  for (let i = 0; i < format.length; i++) {
    const ch = format[i] ?? '';
    if (ch === '%' && i + 1 < format.length) {
      const d = format[++i] ?? '';
      const group = d === 'Y' ? '(\\d{4})' : d === 'b' ? '([A-Za-z]{3})' : d === 'j' ? '(\\d{3})' : 'mdHMSy'.includes(d) ? '(\\d{2})' : null;
      if (d === '%') {
        pattern += '%';
        continue;
      }
      if (group === null) throw new Error(`strptime: unsupported directive %${d}`);
      pattern += group;
      parts.push(d as 'Y');
    } else {
      pattern += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  const m = new RegExp(`^${pattern}$`).exec(text);
  if (!m) throw new Error(`time data '${text}' does not match format '${format}'`);
  const f = { Y: 1900, m: 1, d: 1, H: 0, M: 0, S: 0, j: 0 };
  parts.forEach((p, i) => {
    const v = m[i + 1] ?? '';
    if (p === 'y') f.Y = 2000 + Number(v) - (Number(v) >= 69 ? 100 : 0);
    else if (p === 'b') f.m = MONTHS.findIndex((name) => name.slice(0, 3).toLowerCase() === v.toLowerCase()) + 1;
    else f[p] = Number(v);
  });
  if (f.j > 0) return new Date(Date.UTC(f.Y, 0, f.j, f.H, f.M, f.S));
  const at = new Date(Date.UTC(f.Y, f.m - 1, f.d, f.H, f.M, f.S));
  if (f.m < 1 || at.getUTCMonth() !== f.m - 1) throw new Error(`time data '${text}' is not a valid date for format '${format}'`);
  return at;
}

/** Keyword arguments of a Nunjucks call (`f(a, days=1)` passes `{ days: 1, __keywords: true }` last). */
export function splitKwargs(args: unknown[]): { positional: unknown[]; kwargs: Record<string, unknown> } {
  const last = args.at(-1);
  if (typeof last === 'object' && last !== null && (last as { __keywords?: unknown }).__keywords === true) {
    const { __keywords: _ignored, ...kwargs } = last as Record<string, unknown>;
    return { positional: args.slice(0, -1), kwargs };
  }
  return { positional: args, kwargs: {} };
}

const UNIT_MS: Record<string, number> = { weeks: 604_800_000, days: 86_400_000, hours: 3_600_000, minutes: 60_000, seconds: 1000, milliseconds: 1 };

/** A UTC instant for templates (the subset of pendulum's DateTime that templates use). */
export class TemplateDate {
  readonly date: Date;

  constructor(at: Date | number) {
    this.date = new Date(at instanceof Date ? at.getTime() : at);
  }

  get year(): number { return this.date.getUTCFullYear(); }
  get month(): number { return this.date.getUTCMonth() + 1; }
  get day(): number { return this.date.getUTCDate(); }
  get hour(): number { return this.date.getUTCHours(); }
  get minute(): number { return this.date.getUTCMinutes(); }
  get second(): number { return this.date.getUTCSeconds(); }

  /** `2026-01-01T00:00:00+00:00`, Airflow's `ts`. */
  isoformat(): string {
    const ms = this.date.getUTCMilliseconds();
    return `${strftime(this.date, '%Y-%m-%dT%H:%M:%S')}${ms ? `.${pad(ms * 1000, 6)}` : ''}+00:00`;
  }

  strftime(format: string): string {
    return strftime(this.date, format);
  }

  /** `2026-01-01` */
  to_date_string(): string {
    return strftime(this.date, '%Y-%m-%d');
  }

  /** Seconds since the epoch. */
  timestamp(): number {
    return this.date.getTime() / 1000;
  }

  /** Move forward: `logical_date.add(days=1)`, or `add({ days: 1 })`. */
  add(...args: unknown[]): TemplateDate {
    return new TemplateDate(this.date.getTime() + durationMs(args));
  }

  subtract(...args: unknown[]): TemplateDate {
    return new TemplateDate(this.date.getTime() - durationMs(args));
  }

  toString(): string {
    return this.isoformat();
  }

  toJSON(): string {
    return this.isoformat();
  }
}

function durationMs(args: unknown[]): number {
  const { positional, kwargs } = splitKwargs(args);
  const units = { ...(typeof positional[0] === 'object' && positional[0] !== null ? (positional[0] as Record<string, unknown>) : {}), ...kwargs };
  let total = 0;
  for (const [unit, n] of Object.entries(units)) {
    const per = UNIT_MS[unit];
    if (per === undefined || typeof n !== 'number') throw new Error(`unknown duration unit '${unit}' (use ${Object.keys(UNIT_MS).join(', ')})`);
    total += per * n;
  }
  return total;
}
