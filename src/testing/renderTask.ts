/**
 * Rendering one task's templated fields against a run's context without executing it (`capstan tasks
 * render`, Airflow's `tasks render`). The context is the run's when `runId` names one (its dates, conf,
 * XComs and the task instance's try), otherwise a manual run at `logicalDate` as `tasks test` builds it.
 * Nothing is recorded; variables and connections are read, and their secrets masked in the result.
 */
import type { JsonObject, JsonValue } from '../core/index.ts';
import { manualRunInterval } from '../core/index.ts';
import { validateConf } from '../services/index.ts';
import { resolveParams } from '../scheduler/index.ts';
import type { Dag } from '../sdk/dag.ts';
import { SecretMasker, type SecretsLookup } from '../secrets/index.ts';
import type { DagRunRow, MetadataDb } from '../store/index.ts';
import {
  findDagRunByLogicalDate,
  findTaskInstance,
  getDagRun,
  makeRunId,
  previousSuccessfulRun,
  pullMappedXComs,
  pullXCom,
} from '../store/index.ts';
import { MappedOperator } from '../sdk/mapping.ts';
import { renderedJson, renderTemplateFields } from '../templating/index.ts';
import { createInProcessContext, MemoryXComs } from './context.ts';

export interface RenderTaskOptions {
  dag: Dag;
  taskId: string;
  fileloc: string;
  secrets: SecretsLookup;
  db?: MetadataDb;
  /** Render for this existing run. */
  runId?: string;
  /** Otherwise for a manual run at this logical date (the stored run of that date when there is one). Default now. */
  logicalDate?: number;
  conf?: JsonObject;
  mapIndex?: number;
  now?: () => number;
}

export interface RenderTaskResult {
  /** The run whose context was used, or the run id a manual run would get. */
  runId: string;
  tryNumber: number;
  renderedFields: JsonObject;
}

/** Render `taskId`'s templated fields; throws `TemplateRenderError` when a template cannot be rendered. */
export async function renderTaskInProcess(o: RenderTaskOptions): Promise<RenderTaskResult> {
  const op = o.dag.getTask(o.taskId);
  const serialized = o.dag.serialize(o.fileloc);
  const now = o.now ?? Date.now;
  const db = o.db;
  const mapIndex = o.mapIndex ?? -1;
  let run: DagRunRow | undefined;
  if (o.runId !== undefined) {
    if (!db) throw new Error('renderTaskInProcess: a runId needs the metadata DB');
    run = await getDagRun(db, o.dag.dagId, o.runId);
  } else if (db) {
    run = await findDagRunByLogicalDate(db, o.dag.dagId, o.logicalDate ?? now());
  }
  let conf: JsonObject;
  let logicalDate: number | null;
  let interval: { start: number | null; end: number | null };
  let tryNumber = 1;
  if (run) {
    conf = JSON.parse(run.conf) as JsonObject;
    logicalDate = run.logical_date;
    interval = { start: run.data_interval_start, end: run.data_interval_end };
    const ti = db ? await findTaskInstance(db, o.dag.dagId, run.run_id, o.taskId, mapIndex).catch(() => undefined) : undefined;
    tryNumber = Math.max(1, ti?.try_number ?? 1);
  } else {
    conf = o.conf ?? {};
    validateConf(serialized, conf);
    logicalDate = o.logicalDate ?? now();
    interval = manualRunInterval(serialized.timetable, logicalDate);
  }
  const prev = db && logicalDate !== null ? await previousSuccessfulRun(db, o.dag.dagId, logicalDate) : undefined;
  const stored = run;
  // As the Execution API: a mapped task's XCom without a map index is the ordered list of its values.
  const mapped = (taskId: string) => serialized.tasks.some((t) => t.taskId === taskId && t.mapping);
  const xcoms = new MemoryXComs(
    stored && db ? (taskId, key, i) => (i === -1 && mapped(taskId) ? pullMappedXComs(db, stored.id, taskId, key) : pullXCom(db, stored.id, taskId, key, i)) : undefined,
  );
  const masker = new SecretMasker();
  const runId = run?.run_id ?? makeRunId('manual', logicalDate ?? now());
  const ctx = createInProcessContext(
    {
      dagId: o.dag.dagId,
      taskId: o.taskId,
      runId,
      runType: run?.run_type ?? 'manual',
      mapIndex,
      tryNumber,
      maxTries: op.retry.retries + 1,
      logicalDate,
      dataIntervalStart: interval.start,
      dataIntervalEnd: interval.end,
      prevDataIntervalStartSuccess: prev?.data_interval_start ?? null,
      prevDataIntervalEndSuccess: prev?.data_interval_end ?? null,
      params: resolveParams(serialized, conf),
      conf,
    },
    { xcom: xcoms, secrets: o.secrets, masker, onLog: () => undefined, signal: new AbortController().signal },
  );
  // A mapped task renders as the operator of the requested map index.
  const target = op instanceof MappedOperator ? await op.unmap(ctx) : op;
  const rendered = await renderTemplateFields(target, ctx, { fileloc: o.fileloc, now });
  return { runId, tryNumber, renderedFields: JSON.parse(masker.mask(JSON.stringify(renderedJson(rendered)))) as JsonObject };
}

/** One rendered value as `tasks render` prints it: strings as they are, anything else as JSON. */
export function renderedText(value: JsonValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}
