/**
 * HTTP waiting, shared by `HttpSensor` (poking on a worker) and `HttpTrigger` (polling in the triggerer):
 * the request is built from an optional `http` connection (Airflow's HttpHook rules: the connection's
 * `schema` is the protocol, default `http`; `host` may carry its own scheme; login/password become basic
 * auth; `extra.headers`, if an object, adds headers) plus an endpoint.
 */
import { InvalidArgument, parseDuration } from '../core/index.ts';
import type { JsonObject, TaskConnection } from '../core/index.ts';
import { builtinClasspath } from './classpath.ts';
import type { SerializedTrigger, Trigger, TriggerEnv, TriggerEvent } from './types.ts';

/** What to request. */
export interface HttpRequestSpec {
  /** Connection giving the base URL and credentials; none: `endpoint` is a full URL. */
  httpConnId?: string | undefined;
  /** Path appended to the connection's base URL, or a full URL. */
  endpoint: string;
  /** Default GET. */
  method?: string | undefined;
  headers?: Record<string, string> | undefined;
  /** Request body (sent as is). */
  data?: string | undefined;
}

/** A response as sensors and resumed tasks see it (body cut to 64 KiB). */
export interface HttpResponseInfo extends JsonObject {
  status: number;
  body: string;
}

const MAX_BODY = 64 * 1024;

/** The URL and headers of `spec` with the connection applied. */
export function buildHttpRequest(spec: HttpRequestSpec, conn: TaskConnection | null): { url: string; init: RequestInit } {
  let url = spec.endpoint;
  const headers: Record<string, string> = {};
  if (conn) {
    const host = conn.host ?? '';
    const base = /^https?:\/\//.test(host) ? host : `${conn.schema || 'http'}://${host}${conn.port ? `:${conn.port}` : ''}`;
    url = /^https?:\/\//.test(spec.endpoint) ? spec.endpoint : `${base.replace(/\/$/, '')}/${spec.endpoint.replace(/^\//, '')}`;
    if (conn.login) headers['authorization'] = `Basic ${Buffer.from(`${conn.login}:${conn.password ?? ''}`).toString('base64')}`;
    const extraHeaders = conn.extra['headers'];
    if (extraHeaders && typeof extraHeaders === 'object' && !Array.isArray(extraHeaders)) {
      for (const [k, v] of Object.entries(extraHeaders)) if (typeof v === 'string') headers[k.toLowerCase()] = v;
    }
  }
  if (!URL.canParse(url)) throw new InvalidArgument(`HTTP request: '${url}' is not a valid URL`, 'give a full endpoint URL or an httpConnId whose host is set');
  for (const [k, v] of Object.entries(spec.headers ?? {})) headers[k.toLowerCase()] = v;
  return { url, init: { method: spec.method ?? 'GET', headers, ...(spec.data === undefined ? {} : { body: spec.data }) } };
}

/** Send the request once; network errors are thrown. */
export async function sendHttpRequest(spec: HttpRequestSpec, conn: TaskConnection | null, signal: AbortSignal): Promise<HttpResponseInfo> {
  const { url, init } = buildHttpRequest(spec, conn);
  const res = await fetch(url, { ...init, signal: AbortSignal.any([signal, AbortSignal.timeout(60_000)]) });
  const text = await res.text();
  return { status: res.status, body: text.length > MAX_BODY ? text.slice(0, MAX_BODY) : text };
}

/** Kwargs of an {@link HttpTrigger}. */
export interface HttpTriggerKwargs extends JsonObject {
  endpoint: string;
  httpConnId: string | null;
  method: string;
  headers: Record<string, string>;
  data: string | null;
  /** Statuses that fire the trigger; empty: any 2xx. */
  acceptStatuses: number[];
  pokeIntervalMs: number;
}

/**
 * Polls an HTTP endpoint until it answers with an accepted status (any 2xx by default) and fires with
 * `{ status, body }`. Other statuses and network errors are logged and polled again — the deferral's
 * timeout bounds the wait.
 */
export class HttpTrigger implements Trigger {
  readonly kwargs: HttpTriggerKwargs;

  constructor(kwargs: JsonObject) {
    const endpoint = kwargs['endpoint'];
    if (typeof endpoint !== 'string' || endpoint === '') throw new InvalidArgument('HttpTrigger: endpoint must be a non-empty string');
    const headers = (kwargs['headers'] ?? {}) as Record<string, string>;
    const accept = (kwargs['acceptStatuses'] ?? []) as number[];
    this.kwargs = {
      endpoint,
      httpConnId: typeof kwargs['httpConnId'] === 'string' ? kwargs['httpConnId'] : null,
      method: typeof kwargs['method'] === 'string' ? kwargs['method'] : 'GET',
      headers,
      data: typeof kwargs['data'] === 'string' ? kwargs['data'] : null,
      acceptStatuses: accept,
      pokeIntervalMs: parseDuration((kwargs['pokeIntervalMs'] ?? 5_000) as number, 'HttpTrigger.pokeIntervalMs'),
    };
  }

  serialize(): SerializedTrigger {
    return { classpath: builtinClasspath('HttpTrigger'), kwargs: { ...this.kwargs } };
  }

  accepts(status: number): boolean {
    return this.kwargs.acceptStatuses.length === 0 ? status >= 200 && status < 300 : this.kwargs.acceptStatuses.includes(status);
  }

  async *run(signal: AbortSignal, env: TriggerEnv): AsyncGenerator<TriggerEvent> {
    const k = this.kwargs;
    const conn = k.httpConnId === null ? null : await env.getConnection(k.httpConnId);
    const spec: HttpRequestSpec = { endpoint: k.endpoint, httpConnId: k.httpConnId ?? undefined, method: k.method, headers: k.headers, data: k.data ?? undefined };
    while (!signal.aborted) {
      try {
        const res = await sendHttpRequest(spec, conn, signal);
        if (this.accepts(res.status)) {
          yield { payload: res };
          return;
        }
        env.log.info(`HTTP ${k.method} ${k.endpoint}: status ${res.status}, polling again`);
      } catch (err) {
        if (signal.aborted) return;
        env.log.warn(`HTTP ${k.method} ${k.endpoint} failed (${err instanceof Error ? err.message : String(err)}), polling again`);
      }
      await env.clock.sleep(k.pokeIntervalMs, signal);
    }
  }
}
