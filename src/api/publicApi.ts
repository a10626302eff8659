/**
 * The public REST API (`/api/v1`): DAGs, runs and task instances. Routes call stores and engine
 * services; they hold no SQL.
 */
import { Hono } from 'hono';
import type { JsonValue } from '../core/serialized.ts';
import { triggerDagRun } from '../engine/triggerRun.ts';
import type { MetadataDb } from '../store/db.ts';
import { getDag, listDags, setPaused } from '../store/dags.ts';
import { getDagRun, listDagRuns } from '../store/dagRuns.ts';
import { listTaskInstances } from '../store/taskInstances.ts';
import { AuditLog } from '../store/auditLog.ts';
import { errorResponse } from './errors.ts';
import { dagJson, runJson, tiJson } from './views.ts';

export interface PublicApiDeps {
  db: MetadataDb;
  now: () => number;
  /** Called after a run is triggered, e.g. to wake a scheduler in the same process. */
  onTriggered?: () => void;
}

export function publicApi(d: PublicApiDeps): Hono {
  const app = new Hono();
  const audit = new AuditLog(d.db);
  app.onError((err, c) => errorResponse(c, err));

  app.get('/dags', async (c) => c.json({ dags: (await listDags(d.db)).map(dagJson) }));
  app.get('/dags/:dagId', async (c) => c.json(dagJson(await getDag(d.db, c.req.param('dagId')))));
  app.patch('/dags/:dagId', async (c) => {
    const body = await c.req.json<{ isPaused?: boolean }>();
    if (typeof body.isPaused === 'boolean') {
      await setPaused(d.db, c.req.param('dagId'), body.isPaused);
      await audit.append({ actor: 'api', event: body.isPaused ? 'dag.pause' : 'dag.unpause', dagId: c.req.param('dagId') });
    }
    return c.json(dagJson(await getDag(d.db, c.req.param('dagId'))));
  });
  app.get('/dags/:dagId/dagRuns', async (c) => c.json({ dagRuns: (await listDagRuns(d.db, { dagId: c.req.param('dagId') })).map(runJson) }));
  app.post('/dags/:dagId/dagRuns', async (c) => {
    const body = await c.req.json<{ runId?: string; conf?: JsonValue; logicalDate?: string; note?: string }>().catch(() => ({}));
    const run = await triggerDagRun(
      d.db,
      {
        dagId: c.req.param('dagId'),
        ...('runId' in body && body.runId ? { runId: body.runId } : {}),
        ...('conf' in body && body.conf !== undefined ? { conf: body.conf } : {}),
        ...('logicalDate' in body && body.logicalDate ? { logicalDate: Date.parse(body.logicalDate) } : {}),
        ...('note' in body && body.note ? { note: body.note } : {}),
      },
      d.now(),
    );
    await audit.append({ actor: 'api', event: 'dag.trigger', dagId: run.dag_id, runId: run.run_id });
    d.onTriggered?.();
    return c.json(runJson(run), 201);
  });
  app.get('/dags/:dagId/dagRuns/:runId', async (c) => c.json(runJson(await getDagRun(d.db, c.req.param('dagId'), c.req.param('runId')))));
  app.get('/dags/:dagId/dagRuns/:runId/taskInstances', async (c) =>
    c.json({ taskInstances: (await listTaskInstances(d.db, { dagId: c.req.param('dagId'), runId: c.req.param('runId') })).map(tiJson) }),
  );
  return app;
}
