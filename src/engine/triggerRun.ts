/** Manual runs: used by `capstan dags trigger`, the REST API and `dags test`. */
import { InvalidArgument } from '../core/errors.ts';
import { manualRunInterval } from '../core/schedule.ts';
import type { JsonObject, JsonValue, SerializedDag } from '../core/serialized.ts';
import type { MetadataDb } from '../store/db.ts';
import { getSerializedDag } from '../store/dags.ts';
import { createDagRun, makeRunId } from '../store/dagRuns.ts';
import type { DagRunRow } from '../store/schema.ts';

export interface TriggerRequest {
  dagId: string;
  runId?: string;
  conf?: JsonValue;
  logicalDate?: number;
  note?: string;
}

/**
 * Create a queued manual run after checking the conf against the DAG's params. The DAG's structure is
 * read from the store unless `dag` is given (`dags test` runs the structure it just imported).
 */
export async function triggerDagRun(m: MetadataDb, req: TriggerRequest, now: number, dag?: SerializedDag): Promise<DagRunRow> {
  dag ??= await getSerializedDag(m, req.dagId);
  const conf = req.conf ?? {};
  if (typeof conf !== 'object' || conf === null || Array.isArray(conf)) {
    throw new InvalidArgument('conf must be a JSON object', `e.g. --conf '{"key": "value"}'`);
  }
  for (const [name, p] of Object.entries(dag.params)) {
    if (p.required && !(name in conf)) throw new InvalidArgument(`conf.${name} is required by DAG '${dag.dagId}' (the param has no default)`);
  }
  const at = req.logicalDate ?? now;
  const interval = manualRunInterval(dag.timetable, at);
  return createDagRun(
    m,
    {
      dagId: dag.dagId,
      runId: req.runId ?? makeRunId('manual', at),
      runType: 'manual',
      logicalDate: at,
      dataIntervalStart: interval.start,
      dataIntervalEnd: interval.end,
      conf: conf as JsonObject,
      note: req.note ?? null,
    },
    dag,
    now,
  );
}
