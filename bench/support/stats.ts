/** Small statistics helpers the benches share. */

/** The `q` quantile (0–1) of `xs` by the nearest-rank method; NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  const sorted = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** `ms` with one decimal below 10, none above; `–` for NaN. */
export function ms(x: number): string {
  if (!Number.isFinite(x)) return '–';
  return x < 10 ? x.toFixed(1) : x.toFixed(0);
}
