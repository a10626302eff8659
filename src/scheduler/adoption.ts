/**
 * A scheduler takes over what dead schedulers left behind: tries queued or running under its executor
 * kind whose queuing scheduler is no longer alive (judged by its heartbeat). Work of live schedulers is
 * never touched, and each orphan is taken over (its owner set to the adopter) by one scheduler only, so
 * two schedulers do not fight. The executor adopts the tries it can still see (a live local process, a
 * pod); the rest are reset — queued ones back to scheduled without costing a retry (no process claimed
 * them, so they never ran; see `requeueUnclaimedTry`); running ones are left to the zombie check, which
 * fails or retries them once their heartbeat is stale. Runs at start and on every housekeeping round.
 */
import type { Logger } from 'pino';
import type { Executor } from '../executors/index.ts';
import {
  activeTisOfExecutor,
  inTransaction,
  requeueUnclaimedTry,
  takeOverTry,
  updateTryRow,
  type JobRegistry,
  type MetadataDb,
  type TaskInstanceRow,
} from '../store/index.ts';

export async function adoptOrResetOrphans(
  m: MetadataDb,
  executor: Executor,
  jobs: JobRegistry,
  healthThresholdMs: number,
  now: number,
  logger: Logger,
  /** The adopting scheduler's job: it becomes the owner of what it takes over, so no other scheduler does. */
  adopterJobId?: string,
): Promise<void> {
  // Candidates before the live list, never after: a scheduler's job row is written before it queues
  // anything, so every owner seen in the candidates is in the later list if it is alive. Read the other
  // way round, a scheduler that started in between would look dead and lose its fresh work.
  const candidates = await activeTisOfExecutor(m, executor.name);
  const alive = new Set((await jobs.listAlive('scheduler', healthThresholdMs, now)).map((j) => j.id));
  const found = candidates.filter((t) => t.queued_by_job_id === null || !alive.has(t.queued_by_job_id));
  const orphans: TaskInstanceRow[] = [];
  for (const t of found) if (adopterJobId === undefined || (await takeOverTry(m, t, adopterJobId))) orphans.push(t);
  if (orphans.length === 0) return;
  const notAdopted = await executor.tryAdopt(orphans);
  let requeued = 0;
  for (const t of notAdopted.filter((x) => x.state === 'queued')) {
    const reason = `not started: scheduler ${t.queued_by_job_id ?? '(unknown)'} died before a task process claimed the try`;
    if (await requeueTry(m, t.id, t.try_number, now, reason)) requeued++;
  }
  logger.info({ orphans: orphans.length, adopted: orphans.length - notAdopted.length, requeued }, 'took over task instances of dead schedulers');
}

/** Put an unclaimed queued try back to `scheduled` and close its try row as `removed` with `reason`. */
async function requeueTry(m: MetadataDb, tiId: string, tryNumber: number, now: number, reason: string): Promise<boolean> {
  return inTransaction(m, async (tx) => {
    const r = await requeueUnclaimedTry(tx.db, { tiId, tryNumber }, reason, { actor: 'scheduler' }, now);
    if (r.kind !== 'moved') return false;
    await updateTryRow(tx.db, tiId, tryNumber, { state: 'removed', end_date: now, failure_reason: reason });
    return true;
  });
}
