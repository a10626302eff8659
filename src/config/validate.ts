/**
 * Turns one raw setting (a YAML scalar or an environment string) into a typed value with zod, per the
 * option's kind, and explains a rejection as a problem plus a fix.
 */
import { z } from 'zod';
import { parseDuration } from '../core/duration.ts';
import { errorMessage } from '../core/errors.ts';
import { isFernetKey, MIN_SECRET_KEY_LENGTH } from './secrets.ts';
import type { OptionKind } from './defaults.ts';
import { closestMatch } from './suggest.ts';

/** Result of validating one value. */
export type Checked = { ok: true; value: unknown } | { ok: false; problem: string; fix: string };

const TRUE_WORDS = new Set(['true', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'off', '0']);

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

function durationSchema(min: number): z.ZodType<number> {
  return z
    .union([z.number(), z.string()])
    .transform((v, ctx) => {
      const text = typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v;
      try {
        return parseDuration(text, 'duration');
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: errorMessage(err) });
        return z.NEVER;
      }
    })
    .pipe(z.number().min(min));
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

function schemaFor(kind: OptionKind): z.ZodType {
  switch (kind.type) {
    case 'string':
      return kind.nonEmpty ? z.string().trim().min(1) : z.string();
    case 'path':
      return z.string().trim().min(1);
    case 'integer': {
      let n = z.number().int().min(kind.min);
      if (kind.max !== undefined) n = n.max(kind.max);
      return z.preprocess(integerFromText, n);
    }
    case 'boolean':
      return z.preprocess(booleanFromText, z.boolean());
    case 'duration':
      return durationSchema(kind.min ?? 0);
    case 'enum':
      return z.enum(kind.values as [string, ...string[]]);
    case 'databaseUrl':
      return z.string().trim().refine(isDatabaseUrl);
    case 'httpUrl':
      return z.string().trim().refine(isHttpUrl);
    case 'fernetKey':
      return z.string().trim().refine(isFernetKeyList);
    case 'secretKey':
      return z.string().trim().min(MIN_SECRET_KEY_LENGTH);
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
  const result = schemaFor(kind).safeParse(raw);
  if (result.success) return { ok: true, value: result.data };
  let problem = `not ${describeKind(kind)}`;
  const custom = result.error.issues.find((i) => i.code === 'custom' && i.message);
  if (custom && kind.type === 'duration') problem = custom.message.replace(/^duration: /, '');
  const match = kind.type === 'enum' && typeof raw === 'string' ? closestMatch(raw, kind.values) : undefined;
  if (match !== undefined) return { ok: false, problem: `${problem}; did you mean '${match}'?`, fix: `set ${keyPath} to ${match}` };
  return { ok: false, problem, fix: `set ${keyPath} to ${describeKind(kind)}` };
}
