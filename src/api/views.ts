/** JSON views of rows for the CLI's `--output json` (`src/cli/views.ts` maps `/api/v2` answers to the same shapes). */
import type { JsonObject } from '../core/index.ts';
import type { DagRow, DagRunRow, TaskInstanceRow } from '../store/index.ts';

const iso = (v: number | null) => (v === null ? null : new Date(v).toISOString());

export function dagJson(d: DagRow) {
  return {
    dagId: d.dag_id,
    fileloc: d.fileloc,
    isPaused: d.is_paused === 1,
    isActive: d.is_active === 1,
    owner: d.owner,
    tags: JSON.parse(d.tags) as string[],
    schedule: d.schedule_text,
    description: d.description,
    nextDataIntervalStart: iso(d.next_interval_start),
    nextDataIntervalEnd: iso(d.next_interval_end),
  };
}

export function runJson(r: DagRunRow) {
  return {
    dagId: r.dag_id,
    runId: r.run_id,
    runType: r.run_type,
    state: r.state,
    logicalDate: iso(r.logical_date),
    dataIntervalStart: iso(r.data_interval_start),
    dataIntervalEnd: iso(r.data_interval_end),
    conf: JSON.parse(r.conf) as unknown,
    startDate: iso(r.start_date),
    endDate: iso(r.end_date),
    note: r.note,
  };
}

export function tiJson(t: TaskInstanceRow) {
  return {
    taskId: t.task_id,
    mapIndex: t.map_index,
    state: t.state,
    tryNumber: t.try_number,
    maxTries: t.max_tries + 1,
    operator: t.operator,
    pool: t.pool,
    queuedAt: iso(t.queued_at),
    startDate: iso(t.start_date),
    endDate: iso(t.end_date),
    durationMs: t.duration_ms,
    hostname: t.hostname,
    pid: t.pid,
    exitCode: t.exit_code,
    failureReason: t.failure_reason,
    /** A user's note on the instance, kept across its tries. */
    note: t.note,
    /** The latest try's rendered template fields (secrets masked), null before it rendered. */
    renderedFields: t.rendered_fields === null ? null : (JSON.parse(t.rendered_fields) as JsonObject),
  };
}
