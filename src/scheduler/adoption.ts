/**
 * A scheduler takes over what dead schedulers left behind: tries queued or running under its executor
 * kind whose queuing scheduler is no longer alive (judged by its heartbeat). Work of live schedulers is
 * never touched, so two schedulers do not fight. The executor adopts the tries it can still see (a live
 * local process, a pod); the rest are reset — queued ones back to scheduled (they never started);
 * running ones are left to the zombie check, which fails or retries them once their heartbeat is stale.
 * Runs at start and on every housekeeping round.
 */
import type { Logger } from 'pino';
import type { Executor } from '../executors/types.ts';
import type { MetadataDb } from '../store/db.ts';
import type { JobRegistry } from '../store/jobs.ts';
import { transitionTis } from '../store/taskInstances.ts';

export async function adoptOrResetOrphans(
  m: MetadataDb,
  executor: Executor,
  jobs: JobRegistry,
  healthThresholdMs: number,
  now: number,
  logger: Logger,
): Promise<void> {
  const alive = new Set((await jobs.listAlive('scheduler', healthThresholdMs, now)).map((j) => j.id));
  const candidates = await m.db
    .selectFrom('task_instance')
    .selectAll()
    .where('state', 'in', ['queued', 'running'])
    .where('executor', '=', executor.name)
    .execute();
  const orphans = candidates.filter((t) => t.queued_by_job_id === null || !alive.has(t.queued_by_job_id));
  if (orphans.length === 0) return;
  const notAdopted = await executor.tryAdopt(orphans);
  const requeue = notAdopted.filter((t) => t.state === 'queued').map((t) => t.id);
  const reset = await transitionTis(m, requeue, 'scheduled', now, { onlyFrom: ['queued'] });
  logger.info({ orphans: orphans.length, adopted: orphans.length - notAdopted.length, requeued: reset.length }, 'took over task instances of dead schedulers');
}
