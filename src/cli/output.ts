/**
 * Rendering of command results: aligned tables for people, `--output json` for programs, and the
 * `{ code, message, hint }` diagnostics every command prints on failure.
 */
import { CapstanError, type Diagnostic } from '../core/index.ts';

export type OutputFormat = 'table' | 'json';

/** Write rows as a table (columns in the given order) or as a JSON array. */
export function printRows(rows: ReadonlyArray<Record<string, unknown>>, columns: string[], format: OutputFormat): void {
  if (format === 'json') {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cells = rows.map((r) => columns.map((c) => cellText(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  process.stdout.write([line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n');
}

/** Write one object: key/value lines for people, JSON for programs. */
export function printObject(obj: Record<string, unknown>, format: OutputFormat): void {
  if (format === 'json') {
    process.stdout.write(JSON.stringify(obj, null, 2) + '\n');
    return;
  }
  const width = Math.max(...Object.keys(obj).map((k) => k.length));
  for (const [k, v] of Object.entries(obj)) process.stdout.write(`${k.padEnd(width)}  ${cellText(v)}\n`);
}

/**
 * `text` safe for a terminal: control characters (C0, DEL, C1 — escape sequences, NUL, carriage returns)
 * shown as `\u001b`-style escapes. Stored ids and notes may hold anything; a table must not run them.
 */
export function printable(text: string, options: { keepNewlines?: boolean } = {}): string {
  return text.replace(options.keepNewlines ? /(?![\n\t])\p{Cc}/gu : /\p{Cc}/gu, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return printable(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** The diagnostic for any thrown value. */
export function toDiagnostic(err: unknown): Diagnostic {
  if (err instanceof CapstanError) return err.toDiagnostic();
  return { code: 'task_failed', message: err instanceof Error ? err.message : String(err) };
}

/** Print a failure to stderr the same way for every command. */
export function printError(err: unknown, format: OutputFormat): void {
  const d = toDiagnostic(err);
  if (format === 'json') {
    process.stderr.write(JSON.stringify({ error: d }) + '\n');
    return;
  }
  process.stderr.write(`error [${d.code}]: ${printable(d.message, { keepNewlines: true })}\n`);
  if (d.hint) process.stderr.write(`  hint: ${printable(d.hint, { keepNewlines: true })}\n`);
}

/** Exit codes: 0 ok, 1 operation failed, 2 bad usage or input, 3 not found. */
export function exitCodeFor(err: unknown): number {
  if (!(err instanceof CapstanError)) return 1;
  switch (err.code) {
    case 'invalid_argument':
    case 'config_invalid':
    case 'dag_invalid':
      return 2;
    case 'not_found':
    case 'dag_not_found':
    case 'task_not_found':
    case 'run_not_found':
      return 3;
    default:
      return 1;
  }
}
