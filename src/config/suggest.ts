/** "Did you mean" suggestions for misspelt section names, keys and enum values. */

/** Edit distance between two strings (insertions, deletions, substitutions and adjacent swaps). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      const row = d[i];
      if (row) row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** Lower case without `_` or `-`, so `dags_folder`, `DAGS_FOLDER` and `dagsFolder` compare equal. */
function normalized(name: string): string {
  return name.replace(/[_-]/g, '').toLowerCase();
}

/**
 * The candidate closest to `input`, or undefined when none is close enough to be a likely typo.
 * A candidate equal up to case and underscores always wins.
 */
export function closestMatch(input: string, candidates: readonly string[]): string | undefined {
  const wanted = normalized(input);
  const exact = candidates.find((c) => normalized(c) === wanted);
  if (exact !== undefined) return exact;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const distance = editDistance(wanted, normalized(c));
    if (distance < bestDistance) {
      best = c;
      bestDistance = distance;
    }
  }
  const tolerance = Math.max(2, Math.floor(wanted.length / 3));
  return bestDistance <= tolerance ? best : undefined;
}
