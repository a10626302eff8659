/**
 * Server-Sent Event streams that poll a source and wake early on a signal: the shared loop of the live
 * state stream and a running try's log. The loop ends when the client goes away, when the source says it
 * is done, or after {@link MAX_STREAM_MS} (clients reconnect with `Last-Event-ID`).
 */
import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';

/** A wake-up for live streams in this process: fired after every successful change made through the API. */
export class ChangeSignal {
  readonly #listeners = new Set<() => void>();
  on(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  emit(): void {
    for (const l of this.#listeners) l();
  }
}

/** Wake on the engine's task changes and on changes made through this API, whichever come. */
export function wakeSources(d: { events?: { onTiChanged(l: () => void): () => void }; changes?: ChangeSignal }): ((wake: () => void) => () => void) | undefined {
  if (!d.events && !d.changes) return undefined;
  return (wake) => {
    const offs = [d.events?.onTiChanged(wake), d.changes?.on(wake)];
    return () => {
      for (const off of offs) off?.();
    };
  };
}

/** Longest a stream stays open; EventSource reconnects by itself. */
export const MAX_STREAM_MS = 30 * 60_000;
/** A comment line this often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

export interface PollLoop {
  /** Poll once: write what is new; return `done` to end the stream. */
  poll(stream: SSEStreamingApi): Promise<'more' | 'done'>;
  /** Poll at least this often (ms). */
  intervalMs: number;
  /** Subscribe to an early wake-up; returns the unsubscribe function. */
  onWake?: (wake: () => void) => () => void;
}

/** Answer `c` with an SSE stream driven by `loop`. */
export function pollStream(c: Context, loop: PollLoop): Response {
  c.header('cache-control', 'no-store');
  c.header('x-accel-buffering', 'no');
  return streamSSE(c, async (stream) => {
    let wakeUp: (() => void) | undefined;
    const unsubscribe = loop.onWake?.(() => wakeUp?.());
    stream.onAbort(() => wakeUp?.());
    const started = Date.now();
    let lastWrite = Date.now();
    try {
      while (!stream.aborted && !stream.closed && Date.now() - started < MAX_STREAM_MS) {
        if ((await loop.poll(stream)) === 'done') break;
        if (Date.now() - lastWrite >= HEARTBEAT_MS) {
          await stream.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
        await new Promise<void>((resolve) => {
          // Unref'd: an open stream never keeps the process alive by itself (the HTTP server does).
          const timer = setTimeout(resolve, loop.intervalMs).unref();
          wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      unsubscribe?.();
    }
  });
}
