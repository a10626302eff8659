/** Manual runs: used by `capstan dags trigger`, the REST API and `dags test`. */
import { InvalidArgument } from '../core/errors.ts';
import { validateParamValue } from '../core/params.ts';
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
 * Check a run's conf against the DAG's params: every param without a default is present, and every
 * declared param's value satisfies its schema (type, enum, minimum, pattern…). Keys the DAG does not
 * declare pass through, as in Airflow. Throws `InvalidArgument` listing each bad value's path.
 */
export function validateConf(dag: SerializedDag, conf: JsonObject): void {
  const problems: string[] = [];
  for (const [name, p] of Object.entries(dag.params)) {
    const value = conf[name];
    if (value === undefined) {
      if (p.required) problems.push(`conf.${name}: is required by DAG '${dag.dagId}' (the param has no default)`);
      continue;
    }
    problems.push(...validateParamValue(`conf.${name}`, value, p));
  }
  if (problems.length > 0) {
    throw new InvalidArgument(problems.join('; '), `the DAG's params: ${Object.entries(dag.params).map(([n, p]) => `${n} (${p.type}${p.required ? ', required' : ''})`).join(', ')}`);
  }
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
  validateConf(dag, conf as JsonObject);
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
