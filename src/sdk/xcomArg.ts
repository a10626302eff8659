/**
 * The typed output of a task. Passing it to a TaskFlow task wires the dependency and, at run time, the
 * value; its type parameter makes a mismatched consumer a compile error in the DAG file.
 */
import type { JsonValue } from '../core/index.ts';
import { toOperators, type BaseOperator, type DependencyNode, type DependencyTarget } from './baseOperator.ts';

export class XComArg<T> implements DependencyNode {
  readonly operator: BaseOperator;
  readonly key: string;
  /** Phantom: carries the value type for the compiler only. */
  declare readonly __valueType?: T;

  constructor(operator: BaseOperator, key = 'return_value') {
    this.operator = operator;
    this.key = key;
  }

  /** `out.before(b)`: b runs after the task that produces `out`. */
  before<U extends DependencyTarget>(target: U): U {
    return this.operator.before(target);
  }

  after<U extends DependencyTarget>(target: U): U {
    return this.operator.after(target);
  }

  /** Another key pushed by the same task (type is what you declare). */
  pull<U extends JsonValue = JsonValue>(key: string): XComArg<U> {
    return new XComArg<U>(this.operator, key);
  }

  /** JSON reference stored in the serialized DAG. */
  toReference(): XComReference {
    return { __xcomArg: { taskId: this.operator.taskId, key: this.key } };
  }
}

/** How an XComArg appears inside serialized fields. */
export interface XComReference {
  __xcomArg: { taskId: string; key: string };
}

export function isXComReference(v: unknown): v is XComReference {
  return typeof v === 'object' && v !== null && '__xcomArg' in v;
}

/** A value or the output of another task that produces it. */
export type Resolvable<T> = T | XComArg<T>;

export { toOperators };
