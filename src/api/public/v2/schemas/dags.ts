/** Schemas and JSON views of DAGs (Airflow 3's DAGResponse in camelCase). */
import { z } from '@hono/zod-openapi';
import { DAG_RUN_STATES } from '../../../../core/index.ts';
import type { DagRow, DagWithLastRun } from '../../../../store/index.ts';
import { Timestamp } from './common.ts';

export const DagRunStateSchema = z.enum(DAG_RUN_STATES).openapi('DagRunState');

export const DagSchema = z
  .object({
    dagId: z.string(),
    description: z.string().nullable(),
    fileloc: z.string(),
    isPaused: z.boolean(),
    isActive: z.boolean(),
    owners: z.array(z.string()),
    tags: z.array(z.string()),
    timetableSummary: z.string().nullable().openapi({ description: 'the schedule as written (cron, preset, null for none)' }),
    maxActiveRuns: z.number().int(),
    maxActiveTasks: z.number().int(),
    nextDagrunDataIntervalStart: Timestamp,
    nextDagrunDataIntervalEnd: Timestamp,
    lastParsedTime: Timestamp,
  })
  .openapi('Dag');

export const DagWithLatestRunSchema = DagSchema.extend({
  latestDagRun: z
    .object({ runId: z.string(), state: DagRunStateSchema, startDate: Timestamp })
    .nullable()
    .openapi({ description: 'the newest run, null when the DAG never ran' }),
}).openapi('DagListEntry');

export const iso = (v: number | null): string | null => (v === null ? null : new Date(v).toISOString());

export function dagView(d: DagRow): z.input<typeof DagSchema> {
  return {
    dagId: d.dag_id,
    description: d.description,
    fileloc: d.fileloc,
    isPaused: d.is_paused === 1,
    isActive: d.is_active === 1,
    owners: [d.owner],
    tags: JSON.parse(d.tags) as string[],
    timetableSummary: d.schedule_text,
    maxActiveRuns: d.max_active_runs,
    maxActiveTasks: d.max_active_tasks,
    nextDagrunDataIntervalStart: iso(d.next_interval_start),
    nextDagrunDataIntervalEnd: iso(d.next_interval_end),
    lastParsedTime: iso(d.last_parsed_at),
  };
}

export function dagListView(d: DagWithLastRun): z.input<typeof DagWithLatestRunSchema> {
  return {
    ...dagView(d),
    latestDagRun: d.last_run_id === null || d.last_run_state === null ? null : { runId: d.last_run_id, state: d.last_run_state, startDate: iso(d.last_run_start_date === null ? null : Number(d.last_run_start_date)) },
  };
}
