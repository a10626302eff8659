/**
 * "Test connection": what the API server can honestly check about a connection from where it runs, by type.
 *
 * - `postgres`: resolve the host, open TCP to host:port (5432), then log in with the login, password and
 *   schema (database) and run `select 1` — the credentials are proven, not only the address.
 * - `http` / `https`: one GET of the base URL (`https://host:port/schema`, redirects not followed); a status
 *   below 400 passes, as Airflow's HttpHook test does. Authentication schemes in extras are not tried.
 * - `kubernetes`: load the connection's kubeconfig (or in-cluster settings) and GET the API server's
 *   `/version` — proves the address and TLS trust; it does not prove the credentials may create pods.
 * - any other type with a host: resolve it and open TCP to host:port (the type's usual port when the
 *   connection names none); without a port, only the name is resolved. No protocol is spoken, so a
 *   reachable port says nothing about credentials — the result says so.
 * - no host: nothing to reach; the test fails saying so.
 *
 * Every network step has a timeout (default 5 s). Messages name hosts and ports, never secrets.
 */
import { lookup } from 'node:dns/promises';
import { connect } from 'node:net';
import { errorMessage } from '../core/index.ts';
import type { Connection } from '../store/index.ts';

/** One step of a test and how it went. */
export interface ConnectionCheck {
  /** `resolve`, `connect`, `login`, `http` or `kubernetes`. */
  name: 'resolve' | 'connect' | 'login' | 'http' | 'kubernetes';
  ok: boolean;
  detail: string;
}

/** The outcome: `status` true when every step passed; `message` one line for a person. */
export interface ConnectionTestResult {
  status: boolean;
  message: string;
  checks: ConnectionCheck[];
}

/** The port a type usually listens on, used when the connection names none. */
export const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  postgres: 5432,
  mysql: 3306,
  redis: 6379,
  mongo: 27017,
  ssh: 22,
  sftp: 22,
  ftp: 21,
  smtp: 25,
  http: 80,
  https: 443,
  elasticsearch: 9200,
  kafka: 9092,
  mssql: 1433,
  oracle: 1521,
};

export interface ConnectionTestOptions {
  /** Per network step. Default 5000 ms. */
  timeoutMs?: number;
}

/**
 * Test `c` as described in the module comment.
 *
 * @example
 * const r = await testConnection(await connections.require('warehouse'));
 * r.status; // true when the database accepted the login
 */
export async function testConnection(c: Connection, options: ConnectionTestOptions = {}): Promise<ConnectionTestResult> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const checks: ConnectionCheck[] = [];
  if (c.connType === 'kubernetes') {
    checks.push(await checkKubernetes(c, timeoutMs));
    return summarize(checks, 'the Kubernetes API server answered /version (credentials not exercised)');
  }
  const target = hostAndPort(c);
  if (target === undefined) return { status: false, message: `connection '${c.connId}' names no host: there is nothing to reach`, checks };
  const resolved = await checkResolve(target.host, timeoutMs);
  checks.push(resolved);
  if (!resolved.ok) return summarize(checks, '');
  if (target.port === undefined) {
    return summarize(checks, `the host name resolves; connection type '${c.connType}' has no known port, so nothing was connected to`);
  }
  if (c.connType === 'http' || c.connType === 'https') {
    checks.push(await checkHttp(target.url ?? `${c.connType}://${target.host}:${target.port}`, timeoutMs));
    return summarize(checks, 'the server answered the base URL');
  }
  const reached = await checkConnect(target.host, target.port, timeoutMs);
  checks.push(reached);
  if (!reached.ok) return summarize(checks, '');
  if (c.connType === 'postgres') {
    checks.push(await checkPostgresLogin(c, target.host, target.port, timeoutMs));
    return summarize(checks, 'PostgreSQL accepted the login');
  }
  return summarize(checks, `host:port ${target.host}:${target.port} accepts TCP connections (no ${c.connType} protocol was spoken; credentials not checked)`);
}

function summarize(checks: ConnectionCheck[], success: string): ConnectionTestResult {
  const failed = checks.find((ch) => !ch.ok);
  return failed ? { status: false, message: failed.detail, checks } : { status: true, message: success, checks };
}

interface Target {
  host: string;
  port: number | undefined;
  /** The base URL of an http(s) connection. */
  url?: string;
}

function hostAndPort(c: Connection): Target | undefined {
  if (c.host === null || c.host.trim() === '') return undefined;
  if (c.connType === 'http' || c.connType === 'https') {
    const base = c.host.includes('://') ? c.host : `${c.connType}://${c.host}`;
    let url: URL;
    try {
      url = new URL(base);
    } catch {
      return { host: c.host, port: undefined };
    }
    if (c.port !== null) url.port = String(c.port);
    if (c.schema) url.pathname = `/${c.schema.replace(/^\//, '')}`;
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port, url: url.href };
  }
  return { host: c.host, port: c.port ?? DEFAULT_PORTS[c.connType] };
}

async function checkResolve(host: string, timeoutMs: number): Promise<ConnectionCheck> {
  try {
    const found = await withTimeout(lookup(host, { all: true }), timeoutMs, `resolving ${host}`);
    return { name: 'resolve', ok: true, detail: `${host} resolves to ${found.map((a) => a.address).join(', ')}` };
  } catch (err) {
    return { name: 'resolve', ok: false, detail: `${host} does not resolve: ${errorCode(err)}` };
  }
}

function checkConnect(host: string, port: number, timeoutMs: number): Promise<ConnectionCheck> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (ok: boolean, detail: string) => {
      socket.destroy();
      resolve({ name: 'connect', ok, detail });
    };
    socket.once('connect', () => done(true, `${host}:${port} accepts TCP connections`));
    socket.once('timeout', () => done(false, `${host}:${port} did not answer within ${timeoutMs} ms`));
    socket.once('error', (err) => done(false, `${host}:${port} refused or unreachable: ${errorCode(err)}`));
  });
}

async function checkHttp(url: string, timeoutMs: number): Promise<ConnectionCheck> {
  try {
    const res = await fetch(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    const ok = res.status < 400;
    return { name: 'http', ok, detail: `GET ${url} answered HTTP ${res.status}${ok ? '' : ' (400 or above fails the test)'}` };
  } catch (err) {
    return { name: 'http', ok: false, detail: `GET ${url} failed: ${errorCode(err)}` };
  }
}

async function checkPostgresLogin(c: Connection, host: string, port: number, timeoutMs: number): Promise<ConnectionCheck> {
  const sslmode = typeof c.extra['sslmode'] === 'string' ? c.extra['sslmode'] : undefined;
  // Loaded by the test that needs it: an API server on SQLite never loads the PostgreSQL driver (issue 18).
  const { default: pg } = await import('pg');
  const client = new pg.Client({
    host,
    port,
    user: c.login ?? undefined,
    password: c.password ?? undefined,
    database: c.schema ?? undefined,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    ...(sslmode === 'require' || sslmode?.startsWith('verify') ? { ssl: { rejectUnauthorized: sslmode.startsWith('verify') } } : {}),
  });
  // A server that drops the connection later must not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return { name: 'login', ok: true, detail: `logged in to ${host}:${port}${c.schema ? `/${c.schema}` : ''} as ${c.login ?? '(no login)'}` };
  } catch (err) {
    // pg's messages name the user or database, never the password.
    return { name: 'login', ok: false, detail: `PostgreSQL refused the login: ${errorMessage(err).slice(0, 300)}` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkKubernetes(c: Connection, timeoutMs: number): Promise<ConnectionCheck> {
  let server = 'the API server';
  try {
    // The Kubernetes client (~0.3 s to load) only for a Kubernetes connection's test (issue 18).
    const [{ VersionApi }, { resolveKubeConfig }] = await Promise.all([import('@kubernetes/client-node'), import('../kubernetes/index.ts')]);
    const kc = resolveKubeConfig(c);
    server = kc.getCurrentCluster()?.server ?? server;
    const version = await withTimeout(kc.makeApiClient(VersionApi).getCode(), timeoutMs, `GET ${server}/version`);
    return { name: 'kubernetes', ok: true, detail: `${server} answered /version: Kubernetes ${version.gitVersion}` };
  } catch (err) {
    return { name: 'kubernetes', ok: false, detail: `${server}: ${errorMessage(err).slice(0, 300)}` };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const cause = (err as { cause?: NodeJS.ErrnoException } | undefined)?.cause?.code;
  return code ?? cause ?? errorMessage(err).slice(0, 200);
}
