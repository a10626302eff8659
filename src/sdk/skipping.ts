/**
 * Operators that skip part of the DAG downstream of themselves, as Airflow's branching operators do:
 * a branch follows some direct downstream tasks and skips the others, a short-circuit skips what follows
 * when its condition is falsy, and latest-only skips what follows outside the latest schedule interval.
 *
 * The task never writes other task instances itself. Its try reports success together with the ids to
 * skip (`SkipDownstream`); the engine ends the try and skips those instances in one transaction, so the
 * scheduler never sees the branch succeed without its skips. Skipping then propagates by trigger rules
 * alone: an `all_success` task below a skipped one is skipped, a `none_failed_min_one_success` join runs.
 */
import { CapstanError, DagDefinitionError, nextInterval } from '../core/index.ts';
import type { JsonObject } from '../core/index.ts';
import { BaseOperator, type TaskOptions } from './baseOperator.ts';
import type { TaskContext } from './taskContext.ts';
import { TaskFlowOperator, taskFunction, type TaskFlowOptions, type TaskFunction } from './taskflow.ts';

/**
 * What a skipping operator's `execute` returns: its own return value (the XCom) and the downstream task
 * ids the engine must skip when the try succeeds. Only descendants of the task may be named.
 */
export class SkipDownstream {
  readonly value: unknown;
  readonly skipTaskIds: readonly string[];

  constructor(value: unknown, skipTaskIds: Iterable<string>) {
    this.value = value;
    this.skipTaskIds = [...new Set(skipTaskIds)].sort();
  }
}

/** The ids a branch may return: one task id, several, or null/undefined to follow none. */
export type BranchChoice = string | readonly string[] | null | undefined;

/** Every task below `op` (its descendants), sorted. */
export function descendantTaskIds(op: BaseOperator): string[] {
  const seen = new Set<string>();
  const stack = [...op.downstreamTaskIds];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...op.dag.getTask(id).downstreamTaskIds);
  }
  return [...seen].sort();
}

/**
 * The direct downstream tasks of `op` that a branch returning `choice` does not follow. A chosen id that
 * is not a direct downstream task is an error naming the valid ones.
 */
export function branchSkips(op: BaseOperator, choice: BranchChoice): string[] {
  const chosen = choice === null || choice === undefined ? [] : typeof choice === 'string' ? [choice] : [...choice];
  const direct = [...op.downstreamTaskIds].sort();
  for (const id of chosen) {
    if (typeof id !== 'string' || !op.downstreamTaskIds.has(id)) {
      throw new CapstanError(
        'invalid_argument',
        `branch task '${op.taskId}' chose '${String(id)}', which is not one of its direct downstream tasks (${direct.map((d) => `'${d}'`).join(', ') || 'none'})`,
        { hint: 'return the id of a task wired directly after the branch, a list of them, or null to skip all' },
      );
    }
  }
  const followed = new Set(chosen);
  return direct.filter((id) => !followed.has(id));
}

export interface BranchOperatorOptions extends TaskOptions {
  /** Returns the direct downstream task id(s) to follow; every other direct downstream task is skipped. */
  chooseBranch?: (ctx: TaskContext) => BranchChoice | Promise<BranchChoice>;
}

/**
 * Follows the direct downstream task(s) `chooseBranch` returns and skips the other direct downstream
 * tasks (Airflow's `BranchPythonOperator`). Subclasses may override `chooseBranch` instead of passing it.
 * The choice is also the task's XCom `return_value`.
 *
 * @example
 * const pick = new BranchOperator({ taskId: 'pick', chooseBranch: (ctx) => (ctx.params.full ? 'full' : 'quick') });
 * pick.before([full, quick]);
 */
export class BranchOperator extends BaseOperator {
  readonly operatorName: string = 'BranchOperator';
  readonly #choose: BranchOperatorOptions['chooseBranch'];

  constructor(options: BranchOperatorOptions) {
    const { chooseBranch, ...rest } = options;
    super(rest);
    this.#choose = chooseBranch;
  }

  /** The task id(s) to follow. */
  chooseBranch(ctx: TaskContext): BranchChoice | Promise<BranchChoice> {
    if (!this.#choose) throw new DagDefinitionError(`branch task '${this.taskId}' has no chooseBranch`);
    return this.#choose(ctx);
  }

  override async execute(ctx: TaskContext): Promise<SkipDownstream> {
    const choice = await this.chooseBranch(ctx);
    const skip = branchSkips(this, choice);
    ctx.log.info(`following ${JSON.stringify(choice ?? null)}; skipping ${skip.length > 0 ? skip.join(', ') : 'nothing'}`);
    return new SkipDownstream(choice ?? null, skip);
  }
}

/** The operator behind a `branchTask` call. */
class BranchTaskFlowOperator extends TaskFlowOperator {
  override readonly operatorName: string = 'BranchTaskFlow';

  override async execute(ctx: TaskContext): Promise<SkipDownstream> {
    const choice = (await super.execute(ctx)) as BranchChoice;
    const skip = branchSkips(this, choice);
    ctx.log.info(`following ${JSON.stringify(choice ?? null)}; skipping ${skip.length > 0 ? skip.join(', ') : 'nothing'}`);
    return new SkipDownstream(choice ?? null, skip);
  }
}

/**
 * A TaskFlow branch (Airflow's `@task.branch`): the function returns the direct downstream task id(s)
 * to follow, or null to follow none; the other direct downstream tasks are skipped.
 *
 * @example
 * const pick = branchTask({ taskId: 'pick' }, (n: number) => (n > 10 ? 'big' : 'small'));
 * pick(count()).before([big, small]);
 */
export function branchTask<A extends unknown[], R extends BranchChoice>(options: TaskFlowOptions, fn: (...args: A) => R | Promise<R>): TaskFunction<A, Awaited<R>> {
  return taskFunction<A, R>('branchTask', options, fn as (...args: unknown[]) => unknown, (o, f, args) => new BranchTaskFlowOperator(o, f, args));
}

export interface ShortCircuitOptions {
  /**
   * When true (the default, as in Airflow), a falsy condition skips every task downstream, whatever its
   * trigger rule. When false, only the direct downstream tasks are skipped and the trigger rules of the
   * tasks below them decide (an `all_done` task still runs).
   */
  ignoreDownstreamTriggerRules?: boolean;
}

/** The skips of a short-circuit whose condition evaluated to `value`. */
function shortCircuitSkips(op: BaseOperator, value: unknown, ignoreDownstreamTriggerRules: boolean, ctx: TaskContext): SkipDownstream {
  if (value) {
    ctx.log.info('condition is truthy: downstream tasks proceed');
    return new SkipDownstream(value, []);
  }
  const skip = ignoreDownstreamTriggerRules ? descendantTaskIds(op) : [...op.downstreamTaskIds];
  ctx.log.info(`condition is falsy: skipping ${skip.length > 0 ? skip.join(', ') : 'nothing'}`);
  return new SkipDownstream(value, skip);
}

export interface ShortCircuitOperatorOptions extends TaskOptions, ShortCircuitOptions {
  condition: (ctx: TaskContext) => unknown;
}

/**
 * Skips what follows when `condition` returns a falsy value (Airflow's `ShortCircuitOperator`); the
 * condition's value is the XCom `return_value`.
 */
export class ShortCircuitOperator extends BaseOperator {
  readonly operatorName = 'ShortCircuitOperator';
  readonly ignoreDownstreamTriggerRules: boolean;
  readonly #condition: (ctx: TaskContext) => unknown;

  constructor(options: ShortCircuitOperatorOptions) {
    const { condition, ignoreDownstreamTriggerRules, ...rest } = options;
    super(rest);
    this.#condition = condition;
    this.ignoreDownstreamTriggerRules = ignoreDownstreamTriggerRules ?? true;
  }

  protected override serializeFields(): JsonObject {
    return { ignoreDownstreamTriggerRules: this.ignoreDownstreamTriggerRules };
  }

  override async execute(ctx: TaskContext): Promise<SkipDownstream> {
    return shortCircuitSkips(this, await this.#condition(ctx), this.ignoreDownstreamTriggerRules, ctx);
  }
}

class ShortCircuitTaskFlowOperator extends TaskFlowOperator {
  override readonly operatorName: string = 'ShortCircuitTaskFlow';
  readonly ignoreDownstreamTriggerRules: boolean;

  constructor(options: TaskOptions & ShortCircuitOptions, fn: (...args: unknown[]) => unknown, args: unknown[]) {
    const { ignoreDownstreamTriggerRules, ...rest } = options;
    super(rest, fn, args);
    this.ignoreDownstreamTriggerRules = ignoreDownstreamTriggerRules ?? true;
  }

  protected override serializeFields(): JsonObject {
    return { ...super.serializeFields(), ignoreDownstreamTriggerRules: this.ignoreDownstreamTriggerRules };
  }

  override async execute(ctx: TaskContext): Promise<SkipDownstream> {
    return shortCircuitSkips(this, await super.execute(ctx), this.ignoreDownstreamTriggerRules, ctx);
  }
}

/**
 * A TaskFlow short-circuit (Airflow's `@task.short_circuit`): a falsy return value skips what follows.
 *
 * @example
 * const hasRows = shortCircuitTask({ taskId: 'has_rows' }, (n: number) => n > 0);
 * hasRows(count()).before(load);
 */
export function shortCircuitTask<A extends unknown[], R>(options: TaskFlowOptions & ShortCircuitOptions, fn: (...args: A) => R | Promise<R>): TaskFunction<A, Awaited<R>> {
  return taskFunction<A, R>('shortCircuitTask', options, fn as (...args: unknown[]) => unknown, (o, f, args) => new ShortCircuitTaskFlowOperator(o, f, args));
}

export interface LatestOnlyOperatorOptions extends TaskOptions {
  /** The clock; default `Date.now`. */
  now?: () => number;
}

/**
 * Skips its direct downstream tasks unless the run covers the latest schedule interval, i.e. unless now
 * falls within the interval that follows the run's (Airflow's `LatestOnlyOperator`). Manual runs are
 * never skipped; neither is a run whose schedule has no next interval (`@once`, past endDate is not
 * considered). Catch-up and backfill runs of older intervals are skipped.
 */
export class LatestOnlyOperator extends BaseOperator {
  readonly operatorName = 'LatestOnlyOperator';
  readonly #now: () => number;

  constructor(options: LatestOnlyOperatorOptions) {
    const { now, ...rest } = options;
    super(rest);
    this.#now = now ?? Date.now;
  }

  override execute(ctx: TaskContext): SkipDownstream {
    if (ctx.runType === 'manual') {
      ctx.log.info('manually triggered run: downstream tasks proceed');
      return new SkipDownstream(undefined, []);
    }
    const start = ctx.dataIntervalStart?.getTime();
    const end = ctx.dataIntervalEnd?.getTime();
    const next = start === undefined || end === undefined ? null : nextInterval(this.dag.timetable, { start, end });
    if (!next) {
      ctx.log.info('no later schedule interval: downstream tasks proceed');
      return new SkipDownstream(undefined, []);
    }
    const now = this.#now();
    if (next.start < now && now <= next.end) {
      ctx.log.info('latest interval: downstream tasks proceed');
      return new SkipDownstream(undefined, []);
    }
    const skip = [...this.downstreamTaskIds].sort();
    ctx.log.info(`not the latest interval (the next one is ${new Date(next.start).toISOString()}–${new Date(next.end).toISOString()}): skipping ${skip.join(', ') || 'nothing'}`);
    return new SkipDownstream(undefined, skip);
  }
}
