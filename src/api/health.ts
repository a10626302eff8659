/**
 * Health report in Airflow's shape: the metadata database answers, and a scheduler heartbeat is recent.
 * `status` is `healthy` only when both are.
 */
import { sql } from 'kysely';
import type { MetadataDb } from '../store/db.ts';
import { JobRegistry } from '../store/jobs.ts';

export interface HealthReport {
  status: 'healthy' | 'unhealthy';
  metadatabase: { status: 'healthy' | 'unhealthy'; error?: string };
  scheduler: { status: 'healthy' | 'unhealthy'; latestHeartbeat: string | null };
}

export async function healthReport(m: MetadataDb, schedulerThresholdMs: number, now: number): Promise<HealthReport> {
  try {
    await sql`select 1`.execute(m.db);
  } catch (err) {
    return {
      status: 'unhealthy',
      metadatabase: { status: 'unhealthy', error: err instanceof Error ? err.message : String(err) },
      scheduler: { status: 'unhealthy', latestHeartbeat: null },
    };
  }
  const alive = await new JobRegistry(m).listAlive('scheduler', schedulerThresholdMs, now);
  const latest = alive[0]?.latestHeartbeat ?? null;
  const schedulerOk = alive.length > 0;
  return {
    status: schedulerOk ? 'healthy' : 'unhealthy',
    metadatabase: { status: 'healthy' },
    scheduler: { status: schedulerOk ? 'healthy' : 'unhealthy', latestHeartbeat: latest === null ? null : new Date(latest).toISOString() },
  };
}
