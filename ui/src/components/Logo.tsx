/** Capstan's mark (a capstan seen from above), drawn inline so it needs no font glyph. */
export function Logo({ size = 22 }: { size?: number }) {
  return (
    <svg className="brand-mark" width={size} height={size} viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <circle cx="16" cy="16" r="14" fill="currentColor" />
      <circle cx="16" cy="16" r="6" fill="none" stroke="var(--surface)" strokeWidth="3" />
      <path d="M16 2v8M16 22v8M2 16h8M22 16h8" stroke="var(--surface)" strokeWidth="3" />
    </svg>
  );
}
