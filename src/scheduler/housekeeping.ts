/** Finding tries that must be stopped: zombies (heartbeat lost) and tries past their execution timeout. */
import type { SerializedDagCache } from '../services/index.ts';
import { runningTis, runningTisSilentSince, type MetadataDb, type TaskInstanceRow } from '../store/index.ts';

/** The worker enforces executionTimeout itself; the scheduler steps in only after this grace. */
export const TIMEOUT_BACKSTOP_GRACE_MS = 5_000;

/** Running tries whose last heartbeat is older than `timeoutMs`. */
export async function findZombies(m: MetadataDb, now: number, timeoutMs: number): Promise<TaskInstanceRow[]> {
  return runningTisSilentSince(m, now - timeoutMs);
}

/** Running tries that outlived their task's executionTimeout (plus the grace). */
export async function findTimedOutTries(m: MetadataDb, dags: SerializedDagCache, now: number): Promise<TaskInstanceRow[]> {
  const running = await runningTis(m);
  const out: TaskInstanceRow[] = [];
  for (const ti of running) {
    if (ti.start_date === null) continue;
    const dag = await dags.get(ti.dag_id).catch(() => undefined);
    const timeout = dag?.tasks.get(ti.task_id)?.executionTimeoutMs ?? null;
    if (timeout !== null && now - ti.start_date > timeout + TIMEOUT_BACKSTOP_GRACE_MS) out.push(ti);
  }
  return out;
}
