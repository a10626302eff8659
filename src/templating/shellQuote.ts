/**
 * The `shquote` template filter: a value as one POSIX shell word, single-quoted, so a templated value that
 * ends up in a shell command (a BashOperator's `bashCommand`, a pod's `sh -c` argument) is data, never
 * code — a run id such as `r$(id>pwned)` stays those characters. Prefer passing values through `env` and
 * quoting `"$VAR"` in the script; use `shquote` where a value must be inlined.
 *
 * @example
 * shellQuote("it's $(here)"); // "'it'\''s $(here)'"
 * // in a template: echo {{ run_id | shquote }}
 */
export function shellQuote(value: unknown): string {
  const plain = typeof value === 'object' && value !== null && (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype);
  const text = value === null || value === undefined ? '' : plain ? JSON.stringify(value) : String(value);
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
