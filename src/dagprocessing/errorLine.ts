/**
 * The line of a DAG file an import error points at: the first stack frame in that file (a throw at the
 * top level, or the `dag()` call a definition error came from), or the `file:line` head Node gives a
 * syntax error. Null when the error says nothing about the file (a syntax error Node reports without a
 * location, a timeout).
 */
import { pathToFileURL } from 'node:url';

/**
 * @example
 * errorLineIn('/dags/etl.ts', err) // 12 for a stack holding `at file:///dags/etl.ts:12:5`
 */
export function errorLineIn(fileloc: string, err: unknown): number | null {
  const url = pathToFileURL(fileloc).href;
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const stack = e.stack ?? '';
    let best: number | null = null;
    let bestAt = Infinity;
    for (const place of [url, fileloc]) {
      const m = new RegExp(`${escapeRegExp(place)}:(\\d+)`).exec(stack);
      if (m?.[1] !== undefined && m.index < bestAt) {
        best = Number(m[1]);
        bestAt = m.index;
      }
    }
    if (best !== null && best > 0) return best;
  }
  return null;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
