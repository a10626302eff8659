/** A run or task-instance state as a coloured badge with its name (colour is never the only cue). */
export function StateBadge({ state }: { state: string | null | undefined }) {
  const s = state ?? 'none';
  return <span className={`state-badge state-bg-${s}`}>{s.replaceAll('_', ' ')}</span>;
}
