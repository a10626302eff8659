/** Page through a server-side list: `offset`/`limit` in the URL, totals from the server's `totalEntries`. */
export function Pager({ offset, limit, total, onChange, label }: { offset: number; limit: number; total: number; onChange: (offset: number, limit: number) => void; label: string }) {
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + limit, total);
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <span role="status" aria-live="polite">
        {first}–{last} of {total}
      </span>
      <button type="button" className="button small" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - limit), limit)}>
        Previous
      </button>
      <button type="button" className="button small" disabled={offset + limit >= total} onClick={() => onChange(offset + limit, limit)}>
        Next
      </button>
      <label>
        <span className="visually-hidden">Rows per page</span>
        <select value={limit} onChange={(e) => onChange(0, Number(e.target.value))} aria-label="Rows per page">
          {[25, 50, 100, 250].map((n) => (
            <option key={n} value={n}>
              {n} per page
            </option>
          ))}
        </select>
      </label>
    </nav>
  );
}
