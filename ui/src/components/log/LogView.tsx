/**
 * A try's log: virtualised lines (a 50 MB log scrolls as fast as a short one), ANSI colours, search with
 * highlighted matches and next/previous, wrap and timestamp toggles, download, earlier lines of a log opened
 * at its tail read backwards on demand (the button, or scrolling to the top) with the lines in view kept in
 * place, and live follow that sticks to the bottom unless the reader scrolls up.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ansiSegments, plainText, withoutTimestamp } from './ansi.ts';
import { useTryLog, type TryRef } from './useTryLog.ts';

export function LogView({ tryRef }: { tryRef: TryRef }) {
  const log = useTryLog(tryRef);
  const [wrap, setWrap] = useState(false);
  const [timestamps, setTimestamps] = useState(true);
  const [search, setSearch] = useState('');
  const [matchIndex, setMatchIndex] = useState(0);
  const [stick, setStick] = useState(true);
  const scroller = useRef<HTMLDivElement>(null);

  const shown = useMemo(() => (timestamps ? log.lines : log.lines.map(withoutTimestamp)), [log.lines, timestamps]);
  const needle = search.toLowerCase();
  const matches = useMemo(() => (needle === '' ? [] : shown.flatMap((l, i) => (plainText(l).toLowerCase().includes(needle) ? [i] : []))), [shown, needle]);
  const rows = useVirtualizer({ count: shown.length, getScrollElement: () => scroller.current, estimateSize: () => 20, overscan: 20 });
  // While earlier lines load: the first line in view and the count before, to keep that line in place.
  const anchor = useRef<{ index: number; count: number } | undefined>(undefined);
  const loadEarlier = () => {
    const el = scroller.current;
    const top = el ? rows.getVirtualItems().find((v) => v.end > el.scrollTop)?.index : undefined;
    anchor.current = { index: top ?? 0, count: shown.length };
    setStick(false);
    log.loadEarlier();
  };
  useEffect(() => {
    const a = anchor.current;
    if (!a || shown.length === a.count) return;
    anchor.current = undefined;
    rows.scrollToIndex(a.index + shown.length - a.count, { align: 'start' });
  }, [shown.length]);

  // Follow: new lines keep the view at the bottom while the reader has not scrolled away.
  useEffect(() => {
    if (stick && shown.length > 0) rows.scrollToIndex(shown.length - 1, { align: 'end' });
  }, [shown.length, stick]);
  useEffect(() => {
    const target = matches[matchIndex];
    if (target !== undefined) {
      setStick(false);
      rows.scrollToIndex(target, { align: 'center' });
    }
    // Not on `matches` alone: earlier lines arriving must not move the view to a match.
  }, [matchIndex, needle]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    setStick(el.scrollHeight - el.scrollTop - el.clientHeight < 30);
    // Scrolled to the top of what is loaded: read the part before it.
    if (el.scrollTop < 40 && log.fromByte > 0 && !log.loadingEarlier && shown.length > 0) loadEarlier();
  };
  const download = () => {
    const url = URL.createObjectURL(new Blob([log.lines.join('\n') + '\n'], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `${tryRef.dagId}__${tryRef.dagRunId}__${tryRef.taskId}${tryRef.mapIndex >= 0 ? `__${tryRef.mapIndex}` : ''}__try${tryRef.tryNumber}.log`;
    a.click();
    URL.revokeObjectURL(url);
  };

  return (
    <section className="log-view" aria-label={`Log of try ${tryRef.tryNumber}`}>
      <div className="log-toolbar" role="toolbar" aria-label="Log tools">
        <label className="log-search">
          <span className="visually-hidden">Search the log</span>
          <input
            type="search"
            placeholder="Search the log"
            aria-label="Search the log"
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              setMatchIndex(0);
            }}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && matches.length > 0) setMatchIndex((matchIndex + (e.shiftKey ? matches.length - 1 : 1)) % matches.length);
            }}
          />
        </label>
        <span className="muted small" aria-live="polite">
          {needle === '' ? '' : matches.length === 0 ? 'no match' : `${matchIndex + 1} of ${matches.length}`}
        </span>
        <button type="button" className="button small" disabled={matches.length === 0} onClick={() => setMatchIndex((matchIndex + matches.length - 1) % matches.length)}>
          Previous match
        </button>
        <button type="button" className="button small" disabled={matches.length === 0} onClick={() => setMatchIndex((matchIndex + 1) % matches.length)}>
          Next match
        </button>
        <label className="check">
          <input type="checkbox" checked={wrap} onChange={(e) => setWrap(e.target.checked)} /> Wrap
        </label>
        <label className="check">
          <input type="checkbox" checked={timestamps} onChange={(e) => setTimestamps(e.target.checked)} /> Timestamps
        </label>
        <button type="button" className="button small" onClick={download} disabled={log.lines.length === 0}>
          Download
        </button>
        <span className="muted small" role="status">
          {log.following ? '● following live' : log.ended ? 'complete' : log.loading ? 'loading…' : ''}
        </span>
      </div>
      {log.error ? (
        <p role="alert" className="error-box">
          {log.error}
        </p>
      ) : null}
      {log.fromByte > 0 ? (
        <button type="button" className="button small" onClick={loadEarlier} disabled={log.loadingEarlier}>
          {log.loadingEarlier ? 'Loading earlier lines…' : 'Load earlier lines'}
        </button>
      ) : null}
      <div ref={scroller} className={`log-lines ${wrap ? 'wrap' : ''}`} onScroll={onScroll} tabIndex={0} aria-label="Log lines" role="log" data-line-count={shown.length}>
        <div className="log-inner" ref={(el) => el?.style.setProperty('height', `${rows.getTotalSize()}px`)}>
          {rows.getVirtualItems().map((v) => (
            <div
              key={v.key}
              data-index={v.index}
              ref={(el) => {
                if (!el) return;
                el.style.setProperty('transform', `translateY(${v.start}px)`);
                rows.measureElement(el);
              }}
              className={`log-line ${matches[matchIndex] === v.index ? 'current-match' : ''}`}
            >
              <LogLine text={shown[v.index] ?? ''} needle={needle} />
            </div>
          ))}
        </div>
      </div>
      {!stick && log.following ? (
        <button type="button" className="button small follow-button" onClick={() => setStick(true)}>
          Follow new lines ↓
        </button>
      ) : null}
    </section>
  );
}

function LogLine({ text, needle }: { text: string; needle: string }) {
  return (
    <>
      {ansiSegments(text).map((seg, i) => (
        <span key={i} className={seg.className || undefined}>
          {highlight(seg.text, needle)}
        </span>
      ))}
    </>
  );
}

function highlight(text: string, needle: string): ReactNode {
  if (needle === '') return text;
  const out: ReactNode[] = [];
  const lower = text.toLowerCase();
  let at = 0;
  for (let i = lower.indexOf(needle); i >= 0; i = lower.indexOf(needle, at)) {
    if (i > at) out.push(text.slice(at, i));
    out.push(<mark key={i}>{text.slice(i, i + needle.length)}</mark>);
    at = i + needle.length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}
