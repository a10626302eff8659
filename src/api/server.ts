/**
 * The API server: `/health`, `/metrics`, the Execution API for task processes and the public REST API,
 * on one Hono app served by Node's HTTP server.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { executionApi, type ExecutionApiDeps } from './executionApi.ts';
import { publicApi, type PublicApiDeps } from './publicApi.ts';

export interface ApiAppDeps {
  execution: ExecutionApiDeps;
  public: PublicApiDeps;
  registry?: Registry;
  /** Extra health facts (e.g. the scheduler's last heartbeat). */
  health?: () => Promise<Record<string, unknown>>;
}

export function createApiApp(d: ApiAppDeps): Hono {
  const app = new Hono();
  app.get('/health', async (c) => {
    const extra = d.health ? await d.health() : {};
    return c.json({ status: 'healthy', ...extra });
  });
  app.get('/metrics', async (c) => {
    if (!d.registry) return c.text('metrics are disabled\n', 404);
    return c.text(await d.registry.metrics(), 200, { 'content-type': d.registry.contentType });
  });
  app.route('/execution/v1', executionApi(d.execution));
  app.route('/api/v1', publicApi(d.public));
  return app;
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Listen on host:port (port 0 picks a free one). */
export function listen(app: Hono, host: string, port: number): Promise<RunningServer> {
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
