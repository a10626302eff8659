/**
 * TaskFlow: a plain (async) function becomes a task. Calling the task with values or other tasks'
 * outputs adds it to the DAG, wires the dependencies, and returns its own typed output.
 *
 * @example
 * const extract = task({ taskId: 'extract' }, () => ({ rows: 42 }));
 * const load = task({ taskId: 'load' }, (data: { rows: number }) => data.rows * 2);
 * load(extract()); // load(42) or load(someStringTask()) would not compile
 */
import { DagDefinitionError } from '../core/index.ts';
import type { JsonObject, JsonValue } from '../core/index.ts';
import { BaseOperator, type TaskOptions } from './baseOperator.ts';
import { currentDag } from './authoring.ts';
import { runWithTaskContext } from './currentContext.ts';
import type { TaskContext } from './taskContext.ts';
import { XComArg, type Resolvable } from './xcomArg.ts';
import { isJson } from './mapping.ts';
import { taskMapping, type TaskMapping } from './taskflowMapping.ts';

/** A TaskFlow task that can also be mapped (what `task()` returns). */
export type MappableTaskFunction<A extends unknown[], R> = TaskFunction<A, R> & TaskMapping<A, R>;

export type TaskFlowOptions = Omit<TaskOptions, 'taskId'> & { taskId?: string };

/** A TaskFlow task definition: call it to place a task in the current DAG. */
export type TaskFunction<A extends unknown[], R> = (...args: { [K in keyof A]: Resolvable<A[K]> }) => XComArg<R>;

/** The operator behind one call of a TaskFlow task. */
export class TaskFlowOperator extends BaseOperator {
  static override readonly templateFields: readonly string[] = ['args'];
  readonly operatorName: string = 'TaskFlow';
  readonly #fn: (...args: unknown[]) => unknown;
  /**
   * The call's arguments: JSON literals and upstream outputs (`XComArg`). Strings among the literals are
   * templates, as Airflow renders a Python task's op_args; upstream outputs are passed as produced.
   */
  readonly args: unknown[];

  constructor(options: TaskOptions, fn: (...args: unknown[]) => unknown, args: unknown[]) {
    super(options);
    this.#fn = fn;
    this.args = args;
    args.forEach((a, i) => {
      if (a instanceof XComArg) {
        a.operator.before(this);
      } else if (!isJson(a)) {
        throw new DagDefinitionError(`task '${this.taskId}' in DAG '${this.dag.dagId}': argument ${i + 1} is not JSON-serializable`, {
          hint: 'pass plain JSON values or other tasks’ outputs',
        });
      }
    });
  }

  protected override serializeFields(): JsonObject {
    return { args: this.args.map((a) => (a instanceof XComArg ? (a.toReference() as unknown as JsonValue) : (a as JsonValue))) };
  }

  override async execute(ctx: TaskContext): Promise<unknown> {
    const args = await Promise.all(
      this.args.map(async (a) => (a instanceof XComArg ? ctx.xcomPull(a.operator.taskId, a.key) : a)),
    );
    return runWithTaskContext(ctx, () => this.#fn(...args));
  }
}

/**
 * Turn a function into a TaskFlow task. Without a `taskId`, the function's name is used. The task can
 * also be mapped: `t.expand(list)`, `t.expand({ param: list })`, `t.partial({...}).expand({...})`,
 * `t.expandKwargs(list)` (see {@link TaskMapping}).
 */
export function task<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>): MappableTaskFunction<A, Awaited<R>>;
export function task<A extends unknown[], R>(options: TaskFlowOptions, fn: (...args: A) => R | Promise<R>): MappableTaskFunction<A, Awaited<R>>;
export function task<A extends unknown[], R>(
  a: TaskFlowOptions | ((...args: A) => R | Promise<R>),
  b?: (...args: A) => R | Promise<R>,
): MappableTaskFunction<A, Awaited<R>> {
  const options: TaskFlowOptions = typeof a === 'function' ? {} : a;
  const fn = (typeof a === 'function' ? a : b) as (...args: unknown[]) => unknown;
  const call = taskFunction<A, R>('task', options, fn, (o, f, args) => new TaskFlowOperator(o, f, args));
  return Object.assign(call, taskMapping<A, Awaited<R>>(options, fn));
}

/**
 * The TaskFlow wrapper behind `task()` and its variants (`branchTask`, `shortCircuitTask`): `build`
 * makes the operator for one call.
 * @internal
 */
export function taskFunction<A extends unknown[], R>(
  name: string,
  options: TaskFlowOptions,
  fn: (...args: unknown[]) => unknown,
  build: (options: TaskOptions, fn: (...args: unknown[]) => unknown, args: unknown[]) => TaskFlowOperator,
): TaskFunction<A, Awaited<R>> {
  if (typeof fn !== 'function') throw new DagDefinitionError(`${name}(): the last argument must be a function`);
  const baseId = options.taskId ?? fn.name;
  if (!baseId) throw new DagDefinitionError(`${name}(): an anonymous function needs options.taskId`);
  const call = (...args: unknown[]): XComArg<Awaited<R>> => {
    const dagOfCall = options.dag;
    const taskId = uniqueTaskId(baseId, dagOfCall);
    const op = build({ ...options, taskId }, fn, args);
    return new XComArg<Awaited<R>>(op);
  };
  return call as TaskFunction<A, Awaited<R>>;
}

/**
 * A second call of the same TaskFlow task in one DAG gets `id__1`, `id__2`, … as in Airflow.
 * @internal
 */
export function uniqueTaskId(base: string, explicitDag: TaskOptions['dag']): string {
  const d = explicitDag ?? currentDag();
  if (!d || !d.tasks.has(base)) return base;
  for (let i = 1; ; i++) if (!d.tasks.has(`${base}__${i}`)) return `${base}__${i}`;
}
