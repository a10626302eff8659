/**
 * Page state kept in the URL's query (the URL is the state: deep links, reloads, back and forward work).
 * Setting a value replaces the history entry while typing and pushes one for discrete choices.
 */
import { useSearchParams } from 'react-router';

export interface UrlState {
  get(key: string): string | undefined;
  getAll(key: string): string[];
  getInt(key: string, fallback: number): number;
  /** Set (or, with undefined/empty, remove) keys; other keys stay. */
  set(values: Record<string, string | string[] | number | undefined>, options?: { replace?: boolean }): void;
}

export function useUrlState(): UrlState {
  const [params, setParams] = useSearchParams();
  return {
    get: (k) => params.get(k) ?? undefined,
    getAll: (k) => params.getAll(k),
    getInt: (k, fallback) => {
      const n = Number(params.get(k));
      return params.has(k) && Number.isInteger(n) && n >= 0 ? n : fallback;
    },
    set: (values, options = {}) => {
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          for (const [k, v] of Object.entries(values)) {
            next.delete(k);
            if (v === undefined || v === '') continue;
            for (const item of Array.isArray(v) ? v : [String(v)]) if (item !== '') next.append(k, item);
          }
          return next;
        },
        { replace: options.replace ?? false },
      );
    },
  };
}
