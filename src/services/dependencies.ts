/**
 * "Why is this task instance not running?": one line per unmet condition, in the order the scheduler
 * checks them — the DAG and run, upstream states against the trigger rule, dependsOnPast, retry delay,
 * deferral, then the limits that keep a scheduled task waiting (pool slots, the DAG's maxActiveTasks,
 * `core.parallelism` executor slots) and, once queued, the executor. Pure over the facts the store reads
 * (`tiDependencyFacts`), so each line is tested on its own.
 *
 * @example
 * explainTaskInstance(ti, task, facts, { now, parallelism: 32 })
 * // [{ code: 'upstream', message: "upstream 'extract' is running; trigger rule all_success needs every upstream succeeded" }]
 */
import type { SerializedTask } from '../core/index.ts';
import { countUpstreams, evaluateTriggerRule, isTerminal, type TaskInstanceState } from '../core/index.ts';
import type { TaskInstanceRow, TiDependencyFacts } from '../store/index.ts';

/** Kinds of unmet condition. */
export type DependencyCode =
  | 'finished'
  | 'running'
  | 'dag_missing'
  | 'dag_paused'
  | 'run_not_running'
  | 'upstream'
  | 'trigger_rule'
  | 'depends_on_past'
  | 'retry_delay'
  | 'rescheduled'
  | 'deferred'
  | 'pool_missing'
  | 'pool_full'
  | 'dag_concurrency'
  | 'executor_slots'
  | 'queued_on_executor'
  | 'task_missing';

export interface UnmetDependency {
  code: DependencyCode;
  message: string;
}

export interface ExplainOptions {
  now: number;
  /** `core.parallelism`: task instances queued or running at once across the installation. */
  parallelism: number;
}

/** The unmet conditions of `ti` (empty when nothing holds it back: it is about to be queued). */
export function explainTaskInstance(ti: TaskInstanceRow, task: SerializedTask | undefined, f: TiDependencyFacts, o: ExplainOptions): UnmetDependency[] {
  const out: UnmetDependency[] = [];
  const add = (code: DependencyCode, message: string) => out.push({ code, message });
  if (ti.state === 'running') return [{ code: 'running', message: `it is running (try ${ti.try_number}${ti.hostname ? ` on ${ti.hostname}` : ''})` }];
  if (isTerminal(ti.state)) return [{ code: 'finished', message: `it finished as ${ti.state}; clear it to run it again` }];
  if (!f.dag || f.dag.is_active !== 1) add('dag_missing', 'its DAG is no longer in the DAGs folder (inactive)');
  else if (f.dag.is_paused === 1) add('dag_paused', 'its DAG is paused; unpause it to let the scheduler run tasks');
  if (f.run && f.run.state !== 'running') {
    add('run_not_running', f.run.state === 'queued' ? `its run is queued: the DAG has ${f.dagRunningRuns} running run(s) of at most ${f.dag?.max_active_runs ?? '?'} (maxActiveRuns)` : `its run is ${f.run.state}`);
  }
  if (!task) {
    add('task_missing', `the DAG no longer defines task '${ti.task_id}'`);
    return out;
  }
  if (ti.state === 'none') {
    const states = task.upstream.flatMap((u) => f.runStates.get(u) ?? ['none' as TaskInstanceState]);
    const decision = evaluateTriggerRule(task.triggerRule, countUpstreams(states));
    if (decision.kind !== 'run') {
      for (const u of task.upstream) {
        const s = f.runStates.get(u) ?? ['none'];
        const unfinished = s.filter((x) => !isTerminal(x));
        if (unfinished.length > 0) add('upstream', `upstream '${u}' is ${summarize(s)}; trigger rule ${task.triggerRule} waits for it`);
      }
      if (decision.kind === 'end') add('trigger_rule', `trigger rule ${task.triggerRule} will end it as ${decision.state} (upstreams: ${summarize(states)})`);
      else if (!out.some((d) => d.code === 'upstream')) add('trigger_rule', `trigger rule ${task.triggerRule} is not met yet (upstreams: ${summarize(states)})`);
    } else if (task.dependsOnPast && f.previousRunState !== null && f.previousRunState !== 'success' && f.previousRunState !== 'skipped') {
      add('depends_on_past', `dependsOnPast: the previous run's '${ti.task_id}' is ${f.previousRunState}, not success`);
    }
  }
  if (ti.state === 'up_for_retry') {
    add('retry_delay', ti.next_retry_at !== null && ti.next_retry_at > o.now ? `waiting for its retry delay: try ${ti.try_number + 1} may start at ${new Date(ti.next_retry_at).toISOString()}` : 'its retry delay is over; the scheduler retries it at its next loop');
  }
  if (ti.state === 'up_for_reschedule') add('rescheduled', `a sensor rescheduled itself${ti.next_retry_at !== null ? ` until ${new Date(ti.next_retry_at).toISOString()}` : ''}`);
  if (ti.state === 'deferred') add('deferred', `deferred: waiting for its trigger to fire${ti.trigger_timeout_at !== null ? ` (times out at ${new Date(ti.trigger_timeout_at).toISOString()})` : ''}`);
  if (ti.state === 'scheduled' || (ti.state === 'none' && out.length === 0)) {
    if (!f.pool) add('pool_missing', `pool '${ti.pool}' does not exist; create it (capstan pools set ${ti.pool} <slots>)`);
    else if (f.pool.slots - f.poolUsed < ti.pool_slots) add('pool_full', `pool '${ti.pool}' has ${Math.max(0, f.pool.slots - f.poolUsed)} of ${f.pool.slots} slots open; this task needs ${ti.pool_slots}`);
    if (f.dag && f.dagActiveTasks >= f.dag.max_active_tasks) add('dag_concurrency', `the DAG has ${f.dagActiveTasks} task instances queued or running, its maxActiveTasks is ${f.dag.max_active_tasks}`);
    if (f.activeTasks >= o.parallelism) add('executor_slots', `waiting for an executor slot: ${f.activeTasks} task instances are queued or running, core.parallelism is ${o.parallelism}`);
  }
  if (ti.state === 'queued') add('queued_on_executor', `queued${ti.executor ? ` on ${ti.executor}` : ''}${ti.queued_at !== null ? ` since ${new Date(ti.queued_at).toISOString()}` : ''}: waiting for the executor to start it`);
  return out;
}

/** `running`, or `2 success, 1 running` for a mapped task's indexes. */
function summarize(states: readonly TaskInstanceState[]): string {
  if (states.length === 1) return states[0] as string;
  const counts = new Map<string, number>();
  for (const s of states) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
}
