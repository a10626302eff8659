/**
 * Trigger rules decide, from the states of a task's direct upstream task instances, whether it may run,
 * must wait, or ends without running. The semantics follow Airflow's (with upstream-failure flagging on).
 */
import type { TaskInstanceState } from './states.ts';

export const TRIGGER_RULES = [
  'all_success',
  'all_failed',
  'all_done',
  'all_skipped',
  'one_success',
  'one_failed',
  'one_done',
  'none_failed',
  'none_failed_min_one_success',
  'none_skipped',
  'always',
] as const;

/** When a task may run, judged by its direct upstreams. */
export type TriggerRule = (typeof TRIGGER_RULES)[number];

export function isTriggerRule(value: string): value is TriggerRule {
  return (TRIGGER_RULES as readonly string[]).includes(value);
}

/** Tally of the direct upstreams' states. */
export interface UpstreamCounts {
  total: number;
  success: number;
  skipped: number;
  failed: number;
  upstreamFailed: number;
  removed: number;
  /** success + skipped + failed + upstreamFailed + removed. */
  done: number;
}

/** What the rule says now: wait, run, or end the task without running it. */
export type TriggerDecision = { kind: 'wait' } | { kind: 'run' } | { kind: 'end'; state: 'skipped' | 'upstream_failed' };

const WAIT: TriggerDecision = { kind: 'wait' };
const RUN: TriggerDecision = { kind: 'run' };
const SKIP: TriggerDecision = { kind: 'end', state: 'skipped' };
const UPSTREAM_FAILED: TriggerDecision = { kind: 'end', state: 'upstream_failed' };

export function countUpstreams(states: Iterable<TaskInstanceState>): UpstreamCounts {
  const c: UpstreamCounts = { total: 0, success: 0, skipped: 0, failed: 0, upstreamFailed: 0, removed: 0, done: 0 };
  for (const s of states) {
    c.total++;
    if (s === 'success') c.success++;
    else if (s === 'skipped') c.skipped++;
    else if (s === 'failed') c.failed++;
    else if (s === 'upstream_failed') c.upstreamFailed++;
    else if (s === 'removed') c.removed++;
  }
  c.done = c.success + c.skipped + c.failed + c.upstreamFailed + c.removed;
  return c;
}

/** Evaluate `rule` over the upstream tally. A task without upstreams may always run. */
export function evaluateTriggerRule(rule: TriggerRule, c: UpstreamCounts): TriggerDecision {
  if (c.total === 0) return RUN;
  const allDone = c.done === c.total;
  const anyFailed = c.failed + c.upstreamFailed > 0;
  switch (rule) {
    case 'always':
      return RUN;
    case 'all_success':
      if (anyFailed) return UPSTREAM_FAILED;
      if (c.skipped > 0) return SKIP;
      return allDone ? RUN : WAIT;
    case 'all_failed':
      if (c.success + c.skipped > 0) return SKIP;
      return allDone ? RUN : WAIT;
    case 'all_done':
      return allDone ? RUN : WAIT;
    case 'all_skipped':
      if (c.success + c.failed + c.upstreamFailed > 0) return SKIP;
      return allDone ? RUN : WAIT;
    case 'one_success':
      if (c.success > 0) return RUN;
      if (!allDone) return WAIT;
      return c.skipped === c.total ? SKIP : UPSTREAM_FAILED;
    case 'one_failed':
      if (anyFailed) return RUN;
      return allDone ? SKIP : WAIT;
    case 'one_done':
      if (c.success + c.failed > 0) return RUN;
      return allDone ? SKIP : WAIT;
    case 'none_failed':
      if (anyFailed) return UPSTREAM_FAILED;
      return allDone ? RUN : WAIT;
    case 'none_failed_min_one_success':
      if (anyFailed) return UPSTREAM_FAILED;
      if (!allDone) return WAIT;
      return c.success > 0 ? RUN : SKIP;
    case 'none_skipped':
      if (c.skipped > 0) return SKIP;
      return allDone ? RUN : WAIT;
  }
}
