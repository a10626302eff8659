/** The triggerer's health: the metadata database answers and a triggerer heartbeat is recent. */
import { JobRegistry, pingDatabase, type MetadataDb } from '../store/index.ts';

/** Same shape as the scheduler's report, with a `triggerer` section. */
export interface TriggererHealthReport {
  status: 'healthy' | 'unhealthy';
  metadatabase: { status: 'healthy' | 'unhealthy'; error?: string };
  triggerer: { status: 'healthy' | 'unhealthy'; latestHeartbeat: string | null; alive: number };
}

/** Healthy when the DB answers and at least one triggerer heart-beat within `thresholdMs`. */
export async function triggererHealthReport(m: MetadataDb, thresholdMs: number, now: number): Promise<TriggererHealthReport> {
  try {
    await pingDatabase(m);
  } catch (err) {
    return {
      status: 'unhealthy',
      metadatabase: { status: 'unhealthy', error: err instanceof Error ? err.message : String(err) },
      triggerer: { status: 'unhealthy', latestHeartbeat: null, alive: 0 },
    };
  }
  const alive = await new JobRegistry(m).listAlive('triggerer', thresholdMs, now);
  const latest = alive[0]?.latestHeartbeat ?? null;
  const ok = alive.length > 0;
  return {
    status: ok ? 'healthy' : 'unhealthy',
    metadatabase: { status: 'healthy' },
    triggerer: { status: ok ? 'healthy' : 'unhealthy', latestHeartbeat: latest === null ? null : new Date(latest).toISOString(), alive: alive.length },
  };
}
