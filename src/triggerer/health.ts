/** The triggerer's health: the metadata database answers and a triggerer heartbeat is recent. */
import { roleHealth, type MetadataDb } from '../store/index.ts';

/** Same shape as the scheduler's report, with a `triggerer` section. */
export interface TriggererHealthReport {
  status: 'healthy' | 'unhealthy';
  metadatabase: { status: 'healthy' | 'unhealthy'; error?: string };
  triggerer: { status: 'healthy' | 'unhealthy'; latestHeartbeat: string | null; alive: number };
}

/** Healthy when the DB answers and at least one triggerer heart-beat within `thresholdMs`. */
export async function triggererHealthReport(m: MetadataDb, thresholdMs: number, now: number): Promise<TriggererHealthReport> {
  const { metadatabase, role } = await roleHealth(m, 'triggerer', thresholdMs, now);
  return { status: role.status, metadatabase, triggerer: role };
}
