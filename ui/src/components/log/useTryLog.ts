/**
 * The lines of one try's log: opened at its tail (so a 50 MB log shows at once), earlier parts loaded on
 * demand by byte range, and — while the try runs — new lines followed live over the API's Server-Sent
 * Events stream (no polling).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, data } from '../../api/v2.ts';

/** How much the first read and each "load earlier" fetch. */
const CHUNK_BYTES = 256 * 1024;

export interface TryRef {
  dagId: string;
  dagRunId: string;
  taskId: string;
  mapIndex: number;
  tryNumber: number;
}

export interface TryLog {
  lines: string[];
  /** First byte held; 0 when the whole start is loaded. */
  fromByte: number;
  ended: boolean;
  following: boolean;
  error: string | undefined;
  loading: boolean;
  /** A "load earlier" read is under way (a second one waits for it). */
  loadingEarlier: boolean;
  loadEarlier: () => void;
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function logPath(r: TryRef) {
  return { dagId: r.dagId, dagRunId: r.dagRunId, taskId: r.taskId, tryNumber: r.tryNumber };
}

export function useTryLog(r: TryRef): TryLog {
  const [lines, setLines] = useState<string[]>([]);
  const [fromByte, setFromByte] = useState(0);
  const [ended, setEnded] = useState(false);
  const [following, setFollowing] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(true);
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  // A partial last line (no newline yet) waits here for the rest.
  const partial = useRef('');
  const key = `${r.dagId}/${r.dagRunId}/${r.taskId}/${r.mapIndex}/${r.tryNumber}`;

  useEffect(() => {
    let closed = false;
    let source: EventSource | undefined;
    setLines([]);
    setEnded(false);
    setError(undefined);
    setLoading(true);
    partial.current = '';
    const append = (text: string) => {
      const all = partial.current + text;
      const cut = all.lastIndexOf('\n');
      partial.current = cut < 0 ? all : all.slice(cut + 1);
      if (cut >= 0) setLines((prev) => prev.concat(splitLines(all.slice(0, cut + 1))));
    };
    const flushPartial = () => {
      if (partial.current !== '') setLines((prev) => prev.concat([partial.current]));
      partial.current = '';
    };
    void (async () => {
      try {
        const chunk = await data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/logs/{tryNumber}', { params: { path: logPath(r), query: { mapIndex: r.mapIndex, tailBytes: CHUNK_BYTES } } }));
        if (closed) return;
        setFromByte(chunk.fromByte);
        append(chunk.content);
        setLoading(false);
        if (chunk.ended) {
          flushPartial();
          setEnded(true);
          return;
        }
        const url = `/api/v2/dags/${encodeURIComponent(r.dagId)}/dagRuns/${encodeURIComponent(r.dagRunId)}/taskInstances/${encodeURIComponent(r.taskId)}/logs/${r.tryNumber}/stream?mapIndex=${r.mapIndex}&fromByte=${chunk.nextByte}`;
        source = new EventSource(url, { withCredentials: true });
        setFollowing(true);
        source.addEventListener('log', (e) => append((JSON.parse((e as MessageEvent<string>).data) as { content: string }).content));
        source.addEventListener('end', () => {
          flushPartial();
          setEnded(true);
          setFollowing(false);
          source?.close();
        });
      } catch (err) {
        if (closed) return;
        setError(err instanceof Error ? err.message : String(err));
        setLoading(false);
      }
    })();
    return () => {
      closed = true;
      source?.close();
      setFollowing(false);
    };
    // The try's identity (key) is what restarts the log; r's object identity does not.
  }, [key]);

  const loadEarlier = useCallback(() => {
    if (fromByte === 0 || loadingEarlier) return;
    setLoadingEarlier(true);
    // A backward read: the page ending where the lines held begin, starting at a whole line.
    void data(api.GET('/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/logs/{tryNumber}', { params: { path: logPath(r), query: { mapIndex: r.mapIndex, endByte: fromByte, maxBytes: CHUNK_BYTES } } }))
      .then((chunk) => {
        setFromByte(chunk.fromByte);
        setLines((prev) => {
          const earlier = splitLines(chunk.content);
          // A page of one line longer than a read ends mid-line: its end and the first line held are one line.
          const last = earlier.pop();
          if (last === undefined) return prev;
          if (chunk.content.endsWith('\n') || prev.length === 0) return [...earlier, last, ...prev];
          return [...earlier, last + (prev[0] ?? ''), ...prev.slice(1)];
        });
      })
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)))
      .finally(() => setLoadingEarlier(false));
  }, [fromByte, key, loadingEarlier]);

  return { lines, fromByte, ended, following, error, loading, loadingEarlier, loadEarlier };
}
