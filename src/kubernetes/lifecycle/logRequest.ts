/**
 * One `pods/log` request, streamed, with every way it can end reported as a value. This talks HTTP
 * itself (credentials and TLS from the KubeConfig) rather than through `Log` of @kubernetes/client-node:
 * that class pipes the response without an error listener, so a stream reset mid-body becomes an
 * uncaught exception, and an aborted or cut stream is indistinguishable from a finished one.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** How a log request ended. */
export type LogRequestEnd =
  | { kind: 'end' }
  | { kind: 'cut'; error: string }
  | { kind: 'idle' }
  | { kind: 'aborted' }
  | { kind: 'status'; code: number; message: string };

/** Query options of `pods/log` used here. */
export interface LogQuery {
  container: string;
  follow: boolean;
  timestamps: boolean;
  sinceTime?: string;
  tailLines?: number;
  limitBytes?: number;
}

/** Options of {@link requestLog}. */
export interface LogRequestOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  pod: string;
  query: LogQuery;
  onChunk: (chunk: Uint8Array) => void;
  /** Ends the request with `idle` after this long without a byte (reset by every chunk). */
  idleTimeoutMs: number;
  signal: AbortSignal;
  /** Awaited before the request is sent: the client's rate limiter (`KubeClients.streamPermit`). */
  permit?: (() => Promise<void>) | undefined;
}

function statusMessage(body: string, code: number): string {
  try {
    const status = JSON.parse(body) as { message?: unknown };
    if (typeof status.message === 'string') return status.message;
  } catch {
    // Not a Status object: the kubelet's plain-text answer.
  }
  return body.trim() || `HTTP ${code}`;
}

/** Performs the request; never rejects. */
export async function requestLog(options: LogRequestOptions): Promise<LogRequestEnd> {
  const cluster = options.kubeConfig.getCurrentCluster();
  if (cluster === null) return { kind: 'status', code: 0, message: 'kubeconfig has no current cluster' };
  const url = new URL(`${cluster.server.replace(/\/$/, '')}/api/v1/namespaces/${encodeURIComponent(options.namespace)}/pods/${encodeURIComponent(options.pod)}/log`);
  const q = options.query;
  url.searchParams.set('container', q.container);
  url.searchParams.set('follow', String(q.follow));
  url.searchParams.set('timestamps', String(q.timestamps));
  if (q.sinceTime !== undefined) url.searchParams.set('sinceTime', q.sinceTime);
  if (q.tailLines !== undefined) url.searchParams.set('tailLines', String(q.tailLines));
  if (q.limitBytes !== undefined) url.searchParams.set('limitBytes', String(q.limitBytes));
  const httpsOptions: RequestOptions = { method: 'GET', headers: {} };
  try {
    await options.kubeConfig.applyToHTTPSOptions(httpsOptions);
  } catch (error) {
    return { kind: 'status', code: 0, message: `cannot authenticate: ${String(error)}` };
  }
  if (options.signal.aborted) return { kind: 'aborted' };
  if (options.permit !== undefined) {
    await options.permit();
    if (options.signal.aborted) return { kind: 'aborted' };
  }
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise<LogRequestEnd>((resolve) => {
    let settled = false;
    let idle: NodeJS.Timeout | undefined;
    const req = send(url, httpsOptions);
    const settle = (end: LogRequestEnd): void => {
      if (settled) return;
      settled = true;
      if (idle !== undefined) clearTimeout(idle);
      options.signal.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(end);
    };
    const armIdle = (): void => {
      if (idle !== undefined) clearTimeout(idle);
      idle = setTimeout(() => settle({ kind: 'idle' }), options.idleTimeoutMs);
    };
    const onAbort = (): void => settle({ kind: 'aborted' });
    options.signal.addEventListener('abort', onAbort, { once: true });
    armIdle();
    req.on('error', (error) => settle({ kind: 'cut', error: error.message }));
    req.on('response', (res) => {
      const code = res.statusCode ?? 0;
      if (code !== 200) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { body += c; });
        res.on('end', () => settle({ kind: 'status', code, message: statusMessage(body, code) }));
        res.on('error', (error) => settle({ kind: 'status', code, message: error.message }));
        return;
      }
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        armIdle();
        options.onChunk(chunk);
      });
      res.on('end', () => settle({ kind: 'end' }));
      res.on('error', (error) => settle({ kind: 'cut', error: error.message }));
      res.on('aborted', () => settle({ kind: 'cut', error: 'response aborted' }));
      res.on('close', () => settle(res.complete ? { kind: 'end' } : { kind: 'cut', error: 'connection closed mid-response' }));
    });
    req.end();
  });
}
