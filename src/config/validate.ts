/**
 * Turns one raw setting (a YAML scalar or an environment string) into a typed value, per the option's kind,
 * and explains a rejection as a problem plus a fix. Plain checks rather than a schema library: every CLI start
 * with CAPSTAN_HOME set validates settings, and zod alone is ~95 modules to load.
 */
import { errorMessage, parseDuration } from '../core/index.ts';
import { isFernetKey, MIN_SECRET_KEY_LENGTH } from './secrets.ts';
import type { OptionKind } from './defaults.ts';
import { closestMatch } from './suggest.ts';

/** Result of validating one value. */
export type Checked = { ok: true; value: unknown } | { ok: false; problem: string; fix: string };

/** A value of the kind, or why not: `reason` is a specific message (a bad duration), else the kind's description is used. */
type Parsed = { ok: true; value: unknown } | { ok: false; reason?: string };

const TRUE_WORDS = new Set(['true', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'off', '0']);
const REJECTED: Parsed = { ok: false };

function integerFromText(v: unknown): unknown {
  return typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v) ? Number(v) : v;
}

function booleanFromText(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const word = v.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return v;
}

/** Milliseconds from a number or text ('30s', '5m', '1500'), at least `min`. */
function parseDurationSetting(v: unknown, min: number): Parsed {
  if (!(typeof v === 'number' && Number.isFinite(v)) && typeof v !== 'string') return REJECTED;
  const text = typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v;
  let ms: number;
  try {
    ms = parseDuration(text, 'duration');
  } catch (err) {
    return { ok: false, reason: errorMessage(err) };
  }
  return Number.isFinite(ms) && ms >= min ? { ok: true, value: ms } : REJECTED;
}

/** A string, trimmed, that passes `accept`. */
function trimmedString(v: unknown, accept: (s: string) => boolean): Parsed {
  if (typeof v !== 'string') return REJECTED;
  const s = v.trim();
  return accept(s) ? { ok: true, value: s } : REJECTED;
}

function isDatabaseUrl(url: string): boolean {
  if (url === 'sqlite::memory:' || url === 'sqlite://:memory:') return true;
  if (/^sqlite:\/\/\/[^/]/.test(url)) return true;
  return /^postgres(ql)?:\/\/[^/]/.test(url) && URL.canParse(url);
}

/** One Fernet key, or a comma-separated `new,old` list during key rotation. */
function isFernetKeyList(value: string): boolean {
  const keys = value.split(',').map((k) => k.trim());
  return keys.length > 0 && keys.every(isFernetKey);
}

function isHttpUrl(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const { protocol } = new URL(url);
  return protocol === 'http:' || protocol === 'https:';
}

function parseAs(kind: OptionKind, raw: unknown): Parsed {
  switch (kind.type) {
    case 'string':
      return kind.nonEmpty ? trimmedString(raw, (s) => s.length > 0) : typeof raw === 'string' ? { ok: true, value: raw } : REJECTED;
    case 'path':
      return trimmedString(raw, (s) => s.length > 0);
    case 'integer': {
      const n = integerFromText(raw);
      const inRange = typeof n === 'number' && Number.isSafeInteger(n) && n >= kind.min && (kind.max === undefined || n <= kind.max);
      return inRange ? { ok: true, value: n } : REJECTED;
    }
    case 'boolean': {
      const b = booleanFromText(raw);
      return typeof b === 'boolean' ? { ok: true, value: b } : REJECTED;
    }
    case 'duration':
      return parseDurationSetting(raw, kind.min ?? 0);
    case 'enum':
      return typeof raw === 'string' && kind.values.includes(raw) ? { ok: true, value: raw } : REJECTED;
    case 'databaseUrl':
      return trimmedString(raw, isDatabaseUrl);
    case 'httpUrl':
      return trimmedString(raw, isHttpUrl);
    case 'fernetKey':
      return trimmedString(raw, isFernetKeyList);
    case 'secretKey':
      return trimmedString(raw, (s) => s.length >= MIN_SECRET_KEY_LENGTH);
  }
}

/** What values of `kind` look like, for messages: "a whole number from 1". */
export function describeKind(kind: OptionKind): string {
  switch (kind.type) {
    case 'string':
      return kind.nonEmpty ? 'a non-empty string' : 'a string';
    case 'path':
      return 'a folder or file path';
    case 'integer':
      return kind.max === undefined ? `a whole number of at least ${kind.min}` : `a whole number from ${kind.min} to ${kind.max}`;
    case 'boolean':
      return 'true or false';
    case 'duration':
      return `a duration in milliseconds or a string like '30s', '5m', '1h'${kind.min ? ` (at least ${kind.min} ms)` : ''}`;
    case 'enum':
      return `one of ${kind.values.join(', ')}`;
    case 'databaseUrl':
      return "sqlite:///absolute/path/capstan.db, 'sqlite::memory:' or postgresql://user:password@host:5432/dbname";
    case 'httpUrl':
      return 'an http:// or https:// URL';
    case 'fernetKey':
      return "32 bytes encoded as base64url (44 characters with padding), e.g. from `capstan config generate-key`; 'new,old' for rotation";
    case 'secretKey':
      return `a string of at least ${MIN_SECRET_KEY_LENGTH} characters`;
  }
}

/** Validate `raw` as `kind`; on failure say what is wrong and what to write instead. */
export function checkValue(kind: OptionKind, raw: unknown, keyPath: string): Checked {
  if (raw !== null && typeof raw === 'object') {
    return { ok: false, problem: `a single value is expected, got ${Array.isArray(raw) ? 'a list' : 'a mapping'}`, fix: `set ${keyPath} to ${describeKind(kind)}` };
  }
  const parsed = parseAs(kind, raw);
  if (parsed.ok) return { ok: true, value: parsed.value };
  let problem = `not ${describeKind(kind)}`;
  if (parsed.reason !== undefined) problem = parsed.reason.replace(/^duration: /, '');
  const match = kind.type === 'enum' && typeof raw === 'string' ? closestMatch(raw, kind.values) : undefined;
  if (match !== undefined) return { ok: false, problem: `${problem}; did you mean '${match}'?`, fix: `set ${keyPath} to ${match}` };
  return { ok: false, problem, fix: `set ${keyPath} to ${describeKind(kind)}` };
}
