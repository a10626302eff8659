/** The context a DAG-level callback receives, built from the ended run and its task instances. */
import type { DagCallbackContextData } from '../sdk/dag.ts';
import type { DagRunRow, TaskInstanceRow } from '../store/index.ts';

export type { DagCallbackContextData } from '../sdk/dag.ts';

export function dagCallbackContext(run: DagRunRow, tis: TaskInstanceRow[]): DagCallbackContextData {
  const failed = tis.filter((t) => t.state === 'failed' || t.state === 'upstream_failed').map((t) => t.task_id);
  const timedOut = tis.some((t) => (t.failure_reason ?? '').includes('dagrunTimeout'));
  const success = run.state === 'success';
  const reason = success ? 'all leaf tasks succeeded or were skipped' : timedOut ? 'the run timed out (dagrunTimeout)' : failed.length > 0 ? `task(s) failed: ${failed.join(', ')}` : 'the run failed';
  return {
    dagId: run.dag_id,
    runId: run.run_id,
    runType: run.run_type,
    logicalDate: run.logical_date,
    state: success ? 'success' : 'failed',
    reason,
    taskStates: Object.fromEntries(tis.map((t) => [t.map_index < 0 ? t.task_id : `${t.task_id}[${t.map_index}]`, t.state])),
  };
}

/** The callback kind for a run that ended in `state`. */
export function dagCallbackKind(state: string): 'onSuccess' | 'onFailure' {
  return state === 'success' ? 'onSuccess' : 'onFailure';
}
