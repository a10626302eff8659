/**
 * Mapping a TaskFlow task. A TaskFlow function maps either over its single argument
 * (`double.expand([1, 2, 3])`, `double.expand(numbers())`), or — when it takes one object of named
 * parameters — over some of those parameters, the others fixed (`add.partial({ y: 10 }).expand({ x: [1, 2] })`,
 * `add.expandKwargs([{ x: 1, y: 2 }])`), which is Airflow's keyword-argument mapping. The result is the
 * typed output of the mapped task: downstream tasks receive the array of its results in map-index order.
 *
 * @example
 * const double = task({ taskId: 'double' }, (n: number) => n * 2);
 * const total = task({ taskId: 'total' }, (xs: number[]) => xs.reduce((a, b) => a + b, 0));
 * total(double.expand(numbers())); // total receives [double(n0), double(n1), …]
 */
import { DagDefinitionError } from '../core/index.ts';
import type { TaskOptions, MapInput, MappedValueRef } from './baseOperator.ts';
import { MappedOperator, type MappingInput } from './mapping.ts';
import { TaskFlowOperator, uniqueTaskId, type TaskFlowOptions } from './taskflow.ts';
import { XComArg, type Resolvable } from './xcomArg.ts';

/** Name of the single mapped input when a task maps over its (only) positional argument. */
export const POSITIONAL_INPUT = 'args[0]';

/** The named parameters of a TaskFlow function that takes one object, each mapped over a list. */
export type TaskExpandInputs<P> = P extends object ? { [K in keyof P]?: MapInput<P[K]> } : never;

/** The named parameters fixed for every map index (values or upstream outputs). */
export type TaskPartialInputs<P> = P extends object ? { [K in keyof P]?: Resolvable<P[K]> } : never;

/** A list of whole argument objects, or an upstream output that is one. */
export type TaskKwargsInput<P> = ReadonlyArray<Partial<P>> | MappedValueRef<ReadonlyArray<Partial<P>>> | MappedValueRef<Array<Partial<P>>> | MappedValueRef<P[]>;

/** The mapping methods of a TaskFlow task. `R` is one index's result; the mapped output is `R[]`. */
export interface TaskMapping<A extends unknown[], R> {
  /** Map over the single argument: one task instance per element of the list (or upstream list). */
  expand(values: MapInput<A[0]>): XComArg<R[]>;
  /** Map over named parameters of a one-object function (cross product when several). */
  expand(inputs: TaskExpandInputs<A[0]>): XComArg<R[]>;
  /** Fix some named parameters; map the rest with `.expand` or `.expandKwargs`. */
  partial(fixed: TaskPartialInputs<A[0]>): {
    expand(inputs: TaskExpandInputs<A[0]>): XComArg<R[]>;
    expandKwargs(kwargs: TaskKwargsInput<A[0]>): XComArg<R[]>;
  };
  /** Map over a list of argument objects: one task instance per object. */
  expandKwargs(kwargs: TaskKwargsInput<A[0]>): XComArg<R[]>;
}

/** The mapping methods attached to the task function `fn` defined with `options`. @internal */
export function taskMapping<A extends unknown[], R>(options: TaskFlowOptions, fn: (...args: unknown[]) => unknown): TaskMapping<A, R> {
  const baseId = options.taskId ?? fn.name;
  const make = (partial: Record<string, unknown>, mapping: MappingInput, positional: boolean): XComArg<R[]> => {
    const taskId = uniqueTaskId(baseId, options.dag);
    const taskOptions: TaskOptions = { ...options, taskId };
    const op = new MappedOperator(taskOptions, {
      operatorName: 'TaskFlow',
      partial,
      mapping,
      build: (resolved, mapped, dag) => {
        const args = positional ? [mapped[POSITIONAL_INPUT]] : [{ ...resolved, ...mapped }];
        return new TaskFlowOperator({ ...options, taskId, dag }, fn, args);
      },
    });
    return new XComArg<R[]>(op);
  };
  const named = (partial: Record<string, unknown>, inputs: unknown): XComArg<R[]> => {
    if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs) || inputs instanceof XComArg) {
      throw new DagDefinitionError(`task '${baseId}': partial(...).expand() takes an object of parameter → values to map over`);
    }
    return make(partial, { kind: 'expand', inputs: Object.entries(inputs).map(([name, value]) => ({ name, value })) }, false);
  };
  const fixed = (partial: unknown): Record<string, unknown> => {
    if (partial === null || typeof partial !== 'object' || Array.isArray(partial) || partial instanceof XComArg) {
      throw new DagDefinitionError(`task '${baseId}': partial() takes an object of named parameters`, { hint: 'map a one-object function: task((p: { x: number; y: number }) => ...)' });
    }
    return { ...(partial as Record<string, unknown>) };
  };
  return {
    expand(inputs: unknown): XComArg<R[]> {
      if (Array.isArray(inputs) || inputs instanceof XComArg) return make({}, { kind: 'expand', inputs: [{ name: POSITIONAL_INPUT, value: inputs }] }, true);
      return named({}, inputs);
    },
    partial(p: unknown) {
      const partial = fixed(p);
      return {
        expand: (inputs: unknown) => named(partial, inputs),
        expandKwargs: (kwargs: unknown) => make(partial, { kind: 'expandKwargs', value: kwargs }, false),
      };
    },
    expandKwargs(kwargs: unknown): XComArg<R[]> {
      return make({}, { kind: 'expandKwargs', value: kwargs }, false);
    },
  } as TaskMapping<A, R>;
}
