/**
 * Creating scheduled DAG runs: for each active, unpaused DAG, every data interval that has ended gets a
 * run (all of them with catchup, only the latest without), within startDate/endDate and maxActiveRuns.
 */
import type { Logger } from 'pino';
import { type DataInterval, firstInterval, latestCompleteInterval, nextInterval } from '../core/index.ts';
import type { SerializedDag } from '../core/index.ts';
import { countRunsByDag, createDagRun, latestScheduledRun, makeRunId, schedulableDags, setNextInterval, type MetadataDb } from '../store/index.ts';

/** The interval the next scheduled run of `dag` should cover, or null when none is due ever. */
export async function nextDueInterval(m: MetadataDb, dag: SerializedDag, now: number): Promise<DataInterval | null> {
  const t = dag.timetable;
  if (t.kind === 'none' || dag.startDate === null) return null;
  const last = await latestScheduledRun(m, dag.dagId);
  let next: DataInterval | null;
  if (last && last.data_interval_start !== null && last.data_interval_end !== null) {
    next = nextInterval(t, { start: last.data_interval_start, end: last.data_interval_end });
  } else {
    next = firstInterval(t, dag.startDate);
  }
  if (next && !dag.catchup) {
    const latest = latestCompleteInterval(t, dag.startDate, now);
    if (latest && latest.start > next.start) next = latest;
  }
  if (!next || (dag.endDate !== null && next.start > dag.endDate)) return null;
  return next;
}

/** Create every due run; returns how many were created. */
export async function createDueRuns(m: MetadataDb, now: number, logger: Logger): Promise<number> {
  const dags = await schedulableDags(m);
  if (dags.length === 0) return 0;
  // Backfill runs count against their backfill's own limit, not the DAG's.
  const active = await countRunsByDag(m, ['queued', 'running'], { excludeRunType: 'backfill' });
  let created = 0;
  for (const { serialized: dag } of dags) {
    let activeRuns = active.get(dag.dagId) ?? 0;
    let next = await nextDueInterval(m, dag, now);
    while (next && next.end <= now && activeRuns < dag.maxActiveRuns) {
      const runId = makeRunId('scheduled', next.start);
      try {
        await createDagRun(
          m,
          { dagId: dag.dagId, runId, runType: 'scheduled', logicalDate: next.start, dataIntervalStart: next.start, dataIntervalEnd: next.end, conf: {} },
          dag,
          now,
        );
        created++;
        activeRuns++;
        logger.info({ dagId: dag.dagId, runId }, 'created scheduled run');
      } catch (err) {
        // Another scheduler created the same run first; the unique key makes this safe.
        logger.debug({ dagId: dag.dagId, runId, err }, 'run already exists');
      }
      next = dag.timetable.kind === 'once' ? null : nextInterval(dag.timetable, next);
      if (next && dag.endDate !== null && next.start > dag.endDate) next = null;
    }
    await setNextInterval(m, dag.dagId, next);
  }
  return created;
}

