/**
 * The API server: `/health`, `/metrics`, the Execution API for task processes (`execution/`), the public REST API
 * (`public/`: `/api/v2`; the removed `/api/v1` answers 410 Gone) and the web UI's files, on one Hono app served by
 * Node's HTTP server. Every request passes the transport rules (`http/`: Host, Origin, JSON-only bounded
 * bodies, security headers, JSON 404/405) and then authentication (`auth/`).
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import type { Histogram, Registry } from 'prom-client';
import { executionApi, type ExecutionApiDeps } from './execution/index.ts';
import type { HealthReport } from './health.ts';
import { v1RemovedApi, V1_PREFIX, v2Api, V2_PREFIX, type V2Deps } from './public/index.ts';
import { mountAuth, type ApiEnv, type MountAuthDeps } from './auth/index.ts';
import { mountHttpHygiene, type HttpHygieneOptions } from './http/index.ts';
import { mountWebUi, type WebUiOptions } from './ui/index.ts';
import type { Logger } from 'pino';

export interface ApiAppDeps {
  /** Observes request latency by route pattern. */
  requestDuration?: Histogram<'method' | 'route' | 'status'>;
  execution: ExecutionApiDeps;
  /** The public REST API v2 (`/api/v2`). */
  v2: V2Deps;
  /** Authentication and authorization of every route but /health and the Execution API's own. */
  auth: MountAuthDeps;
  registry?: Registry;
  /** The health report; 503 when it says unhealthy. */
  health: () => Promise<HealthReport>;
  /** Host and Origin allow-lists and the body-size limit (`httpHygieneOptions(config.api)`). */
  http: HttpHygieneOptions;
  /** Where unexpected errors are logged (their 500 tells the client nothing). */
  logger?: Logger;
  /** The web UI at `/` (default: served from ui/dist); false serves no UI routes. */
  ui?: WebUiOptions | false;
}

export function createApiApp(d: ApiAppDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  if (d.requestDuration) {
    const histogram = d.requestDuration;
    app.use('*', async (c, next) => {
      const started = performance.now();
      await next();
      histogram.observe({ method: c.req.method, route: c.req.routePath, status: String(c.res.status) }, (performance.now() - started) / 1000);
    });
  }
  // Transport rules come before authentication: a refused Host, Origin or body never reaches it.
  mountHttpHygiene(app, d.http, d.logger);
  mountAuth(app, d.auth);
  app.get('/health', async (c) => {
    const report = await d.health();
    return c.json(report, report.status === 'healthy' ? 200 : 503);
  });
  app.get('/metrics', async (c) => {
    if (!d.registry) return c.text('metrics are disabled\n', 404);
    return c.text(await d.registry.metrics(), 200, { 'content-type': d.registry.contentType });
  });
  app.route('/execution/v1', executionApi(d.execution));
  // Removed: answers 410 Gone naming its v2 successor.
  app.route(V1_PREFIX, v1RemovedApi());
  app.route(V2_PREFIX, v2Api(d.v2));
  if (d.ui !== false) mountWebUi(app, d.ui ?? {});
  return app;
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Listen on host:port (port 0 picks a free one). */
export function listen<E extends ApiEnv>(app: Hono<E> | Hono, host: string, port: number): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info: AddressInfo) => {
      resolve({
        url: `http://${host.includes(':') ? `[${host}]` : host}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((res) => {
            server.close(() => res());
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
    server.once('error', reject);
  });
}

/** The scheduler's own small server: `/health` (its loop is alive) and `/metrics`. */
export function createSchedulerHealthApp(registry: Registry, health: () => Promise<Pick<HealthReport, 'status'>>): Hono {
  const app = new Hono();
  app.get('/health', async (c) => {
    const report = await health();
    return c.json(report, report.status === 'healthy' ? 200 : 503);
  });
  app.get('/metrics', async (c) => c.text(await registry.metrics(), 200, { 'content-type': registry.contentType }));
  return app;
}
