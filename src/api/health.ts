/**
 * Health report in Airflow's shape: the metadata database answers, and a scheduler heartbeat is recent.
 * `status` is `healthy` only when both are.
 */
import { isJobAlive, JobRegistry, pingDatabase, roleHealth, type MetadataDb } from '../store/index.ts';

export interface HealthReport {
  status: 'healthy' | 'unhealthy';
  metadatabase: { status: 'healthy' | 'unhealthy'; error?: string };
  scheduler: { status: 'healthy' | 'unhealthy'; latestHeartbeat: string | null };
}

export async function healthReport(m: MetadataDb, schedulerThresholdMs: number, now: number): Promise<HealthReport> {
  const { metadatabase, role } = await roleHealth(m, 'scheduler', schedulerThresholdMs, now);
  return { status: role.status, metadatabase, scheduler: { status: role.status, latestHeartbeat: role.latestHeartbeat } };
}

/** One role's heartbeat: healthy while some process of it runs with a recent heartbeat. */
export interface ComponentHealth {
  status: 'healthy' | 'unhealthy';
  /** The newest heartbeat of a running process of this role, alive or not; null when none runs. */
  latestHeartbeat: string | null;
}

/** Health of every role (Airflow 3's `/monitor/health`): the database, then each role's heartbeat. */
export interface ComponentHealthReport {
  status: 'healthy' | 'unhealthy';
  metadatabase: { status: 'healthy' | 'unhealthy' };
  scheduler: ComponentHealth;
  triggerer: ComponentHealth;
  dagProcessor: ComponentHealth;
}

/** How old each role's heartbeat may be (`scheduler.healthCheckThresholdMs`, `triggerer.healthCheckThresholdMs`; the DAG processor uses the scheduler's). */
export interface HealthThresholds {
  schedulerMs: number;
  triggererMs: number;
  dagProcessorMs: number;
}

/**
 * The database answers, and per role whether a process of it heartbeats within its threshold. `status`
 * is `healthy` when the database and the scheduler are (the triggerer and DAG processor are reported
 * but optional: a deployment may run without deferrable tasks, or parse DAGs elsewhere). A database error
 * is reported as unhealthy without its message (callers may be any signed-in user).
 */
export async function componentHealthReport(m: MetadataDb, thresholds: HealthThresholds, now: number): Promise<ComponentHealthReport> {
  const down: ComponentHealth = { status: 'unhealthy', latestHeartbeat: null };
  try {
    await pingDatabase(m);
  } catch {
    return { status: 'unhealthy', metadatabase: { status: 'unhealthy' }, scheduler: down, triggerer: down, dagProcessor: down };
  }
  const jobs = new JobRegistry(m);
  const one = async (jobType: string, thresholdMs: number): Promise<ComponentHealth> => {
    const latest = await jobs.latestRunning(jobType);
    if (latest === undefined) return down;
    return { status: isJobAlive(latest, thresholdMs, now) ? 'healthy' : 'unhealthy', latestHeartbeat: new Date(latest.latestHeartbeat).toISOString() };
  };
  const [scheduler, triggerer, dagProcessor] = await Promise.all([one('scheduler', thresholds.schedulerMs), one('triggerer', thresholds.triggererMs), one('dag_processor', thresholds.dagProcessorMs)]);
  return { status: scheduler.status, metadatabase: { status: 'healthy' }, scheduler, triggerer, dagProcessor };
}
