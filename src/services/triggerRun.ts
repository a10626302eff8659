/** Manual runs: used by `capstan dags trigger`, the REST API and `dags test`. */
import { InvalidArgument, manualRunInterval, validateParamValue } from '../core/index.ts';
import type { JsonObject, JsonValue, SerializedDag } from '../core/index.ts';
import { createDagRun, getSerializedDag, makeRunId, type DagRunRow, type MetadataDb } from '../store/index.ts';
import { DEFAULT_RUN_ID_PATTERN } from '../config/index.ts';

export interface TriggerRequest {
  dagId: string;
  /** Default `manual__<logical date, milliseconds>+00:00`; checked by {@link checkRunId}. */
  runId?: string;
  conf?: JsonValue;
  logicalDate?: number;
  note?: string;
  /** Pattern `runId` must match (`core.allowedRunIdPattern`). Default {@link DEFAULT_RUN_ID_PATTERN}. */
  runIdPattern?: string;
}

/** Longest run id (the column holds 250). */
export const MAX_RUN_ID_LENGTH = 250;

/**
 * Refuse a run id that is not a string, is empty or longer than {@link MAX_RUN_ID_LENGTH}, holds a control
 * character, or does not match `pattern` (Airflow's `allowed_run_id_pattern`). Run ids end up in log paths,
 * URLs, pod labels and terminals; the message never repeats the id.
 *
 * @example
 * checkRunId('nightly_2026-01-01'); // ok
 * checkRunId('r$(id)');              // InvalidArgument: runId must match ^[A-Za-z0-9_.~:+-]+$
 */
export function checkRunId(runId: unknown, pattern: string = DEFAULT_RUN_ID_PATTERN): string {
  if (typeof runId !== 'string') throw new InvalidArgument(`runId must be a string, got ${runId === null ? 'null' : typeof runId}`);
  if (runId.length === 0 || runId.length > MAX_RUN_ID_LENGTH) throw new InvalidArgument(`runId must be 1-${MAX_RUN_ID_LENGTH} characters, got ${runId.length}`);
  // The pattern is the operator's; control characters never pass, whatever it allows.
  if (/\p{Cc}/u.test(runId) || !new RegExp(pattern, 'u').test(runId)) {
    throw new InvalidArgument(`runId must match ${pattern}`, 'core.allowedRunIdPattern sets the pattern');
  }
  return runId;
}

/**
 * Check a run's conf against the DAG's params: every param without a default is present, and every
 * declared param's value satisfies its schema (type, enum, minimum, pattern…). Keys the DAG does not
 * declare pass through, as in Airflow. Throws `InvalidArgument` listing each bad value's path.
 */
export function validateConf(dag: SerializedDag, conf: JsonObject): void {
  const problems = confProblems(dag, conf);
  if (problems.length > 0) {
    throw new InvalidArgument(problems.join('; '), `the DAG's params: ${Object.entries(dag.params).map(([n, p]) => `${n} (${p.type}${p.required ? ', required' : ''})`).join(', ')}`);
  }
}

/** What is wrong with `conf` for `dag`'s params, one `conf.<path>: <problem>` line each (empty when it fits). */
export function confProblems(dag: SerializedDag, conf: JsonObject): string[] {
  const problems: string[] = [];
  for (const [name, p] of Object.entries(dag.params)) {
    const value = conf[name];
    if (value === undefined) {
      if (p.required) problems.push(`conf.${name}: is required by DAG '${dag.dagId}' (the param has no default)`);
      continue;
    }
    problems.push(...validateParamValue(`conf.${name}`, value, p));
  }
  return problems;
}

/**
 * Create a queued manual run after checking the conf against the DAG's params. The DAG's structure is
 * read from the store unless `dag` is given (`dags test` runs the structure it just imported).
 */
export async function triggerDagRun(m: MetadataDb, req: TriggerRequest, now: number, dag?: SerializedDag): Promise<DagRunRow> {
  if (req.runId !== undefined) checkRunId(req.runId, req.runIdPattern);
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
      // Milliseconds: two triggers in the same second get two runs, not a conflict.
      runId: req.runId ?? makeRunId('manual', at, { millis: true }),
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
