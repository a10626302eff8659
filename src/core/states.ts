/**
 * Task-instance and DAG-run states, and the one table of legal transitions.
 * Every state change in the store is checked against these tables, so an illegal
 * transition is a bug caught at the source rather than a corrupt row.
 */

export const TASK_INSTANCE_STATES = [
  'none',
  'scheduled',
  'queued',
  'running',
  'success',
  'failed',
  'up_for_retry',
  'up_for_reschedule',
  'upstream_failed',
  'skipped',
  'deferred',
  'removed',
] as const;

/** Lifecycle state of one task instance (one task in one DAG run, one map index). */
export type TaskInstanceState = (typeof TASK_INSTANCE_STATES)[number];

/** States a task instance never leaves on its own (only a user's clear moves it back to `none`). */
export const TERMINAL_TI_STATES: ReadonlySet<TaskInstanceState> = new Set([
  'success',
  'failed',
  'upstream_failed',
  'skipped',
  'removed',
]);

/** States in which a task occupies an executor or pool slot. */
export const SLOT_HOLDING_TI_STATES: ReadonlySet<TaskInstanceState> = new Set(['queued', 'running']);

/**
 * Legal task-instance transitions. `none` is reachable from every terminal state through a user's clear,
 * which is why it appears in their lists.
 */
const TI_TABLE = {
  none: ['scheduled', 'upstream_failed', 'skipped', 'removed', 'success', 'failed'],
  scheduled: ['queued', 'none', 'upstream_failed', 'skipped', 'removed', 'success', 'failed'],
  queued: ['running', 'scheduled', 'failed', 'up_for_retry', 'none', 'success', 'skipped', 'removed'],
  running: ['success', 'failed', 'up_for_retry', 'up_for_reschedule', 'skipped', 'deferred', 'none', 'removed'],
  deferred: ['scheduled', 'failed', 'up_for_retry', 'none', 'success', 'skipped', 'removed'],
  up_for_retry: ['scheduled', 'none', 'failed', 'success', 'skipped', 'removed'],
  up_for_reschedule: ['scheduled', 'none', 'failed', 'success', 'skipped', 'removed'],
  success: ['none', 'failed', 'removed'],
  failed: ['none', 'success', 'removed'],
  upstream_failed: ['none', 'success', 'failed', 'removed'],
  skipped: ['none', 'success', 'failed', 'removed'],
  removed: ['none'],
} as const satisfies Readonly<Record<TaskInstanceState, readonly TaskInstanceState[]>>;
export const TI_TRANSITIONS: Readonly<Record<TaskInstanceState, readonly TaskInstanceState[]>> = TI_TABLE;

/**
 * The states a task instance may enter `To` from, as a type read off {@link TI_TRANSITIONS}: a guard
 * written as `TiFrom<'running'>[]` fails to compile when it names a state the table does not allow.
 */
export type TiFrom<To extends TaskInstanceState> = {
  [S in TaskInstanceState]: To extends (typeof TI_TABLE)[S][number] ? S : never;
}[TaskInstanceState];

/** True when `to` may follow `from`. */
export function canTransition(from: TaskInstanceState, to: TaskInstanceState): boolean {
  return TI_TRANSITIONS[from].includes(to);
}

/** The states from which a task instance may enter `to`; used to build `WHERE state IN (…)` guards. */
export function statesLeadingTo<To extends TaskInstanceState>(to: To): TiFrom<To>[] {
  return TASK_INSTANCE_STATES.filter((from): from is TiFrom<To> => canTransition(from, to));
}

export function isTerminal(state: TaskInstanceState): boolean {
  return TERMINAL_TI_STATES.has(state);
}

export function isTaskInstanceState(value: string): value is TaskInstanceState {
  return (TASK_INSTANCE_STATES as readonly string[]).includes(value);
}

export const DAG_RUN_STATES = ['queued', 'running', 'success', 'failed'] as const;
/** Lifecycle state of one DAG run. */
export type DagRunState = (typeof DAG_RUN_STATES)[number];

/** Legal DAG-run transitions: a finished run goes back to `queued` when cleared, or is marked. */
const RUN_TABLE = {
  queued: ['running', 'failed', 'success'],
  running: ['success', 'failed', 'queued'],
  success: ['queued', 'running', 'failed'],
  failed: ['queued', 'running', 'success'],
} as const satisfies Readonly<Record<DagRunState, readonly DagRunState[]>>;
export const DAG_RUN_TRANSITIONS: Readonly<Record<DagRunState, readonly DagRunState[]>> = RUN_TABLE;

/** The states a DAG run may enter `To` from, read off {@link DAG_RUN_TRANSITIONS} (see {@link TiFrom}). */
export type RunFrom<To extends DagRunState> = {
  [S in DagRunState]: To extends (typeof RUN_TABLE)[S][number] ? S : never;
}[DagRunState];

/** The states from which a DAG run may enter `to`. */
export function runStatesLeadingTo<To extends DagRunState>(to: To): RunFrom<To>[] {
  return DAG_RUN_STATES.filter((from): from is RunFrom<To> => DAG_RUN_TRANSITIONS[from].includes(to));
}

export function isDagRunTerminal(state: DagRunState): boolean {
  return state === 'success' || state === 'failed';
}

export const DAG_RUN_TYPES = ['manual', 'scheduled', 'backfill'] as const;
/** Why a DAG run exists. */
export type DagRunType = (typeof DAG_RUN_TYPES)[number];
