/**
 * Dynamic task mapping in the SDK: `Operator.partial({...}).expand({...})`, `.expandKwargs([...])`, and the
 * TaskFlow forms `myTask.expand(...)` / `myTask.partial({...}).expand({...})`.
 *
 * A mapped task is one node of the DAG (one task id, wired like any other) whose task instances are made
 * at run time, one per element: the scheduler decides how many (`core/mapping.ts` over the resolved
 * inputs), and the task process turns map index `i` back into an ordinary operator — the partial
 * options plus the i-th mapped arguments — which is then templated and executed as usual
 * (`MappedOperator.unmap`).
 */
import {
  CapstanError,
  DagDefinitionError,
  mappedArguments,
  mappingSources,
  type MapSource,
  type SerializedMapping,
} from '../core/index.ts';
import type { JsonObject, JsonValue, SerializedTask } from '../core/index.ts';
import {
  BaseOperator,
  constructDetached,
  registerPartialFactory,
  type ExpandInputs,
  type OperatorPartial,
  type PartialOptions,
  type TaskOptions,
} from './baseOperator.ts';
import type { Dag } from './dag.ts';
import type { TaskContext } from './taskContext.ts';
import { XComArg } from './xcomArg.ts';

/**
 * Options of BaseOperator that the scheduler reads from the serialized task (pool, retries, trigger
 * rule…) or that identify it: one value for every map index, so they may be set in `partial` only.
 */
export const UNMAPPABLE_OPTIONS: ReadonlySet<string> = new Set([
  'taskId', 'dag', 'retries', 'retryDelay', 'retryExponentialBackoff', 'maxRetryDelay', 'executionTimeout', 'triggerRule',
  'pool', 'poolSlots', 'priorityWeight', 'dependsOnPast', 'queue', 'owner', 'doc', 'onSuccess', 'onFailure', 'onRetry', 'onExecute',
]);

/** How a mapped task varies, with upstream outputs still as `XComArg`s. */
export type MappingInput =
  | { kind: 'expand'; inputs: Array<{ name: string; value: unknown }> }
  | { kind: 'expandKwargs'; value: unknown };

/** Everything a mapped task needs to become map index `i`'s operator. */
export interface MappedTaskSpec {
  /** Operator kind shown for the task, e.g. `BashOperator`. */
  operatorName: string;
  /** Fixed arguments shared by every index (JSON values or `XComArg`s); serialized as the task's fields. */
  partial: Record<string, unknown>;
  mapping: MappingInput;
  /** Build the operator of one map index from the resolved partial and mapped arguments (called detached). */
  build: (partial: Record<string, unknown>, mapped: JsonObject, dag: Dag) => BaseOperator;
}

/**
 * A task expanded at run time into one task instance per element of its mapped input. At parse time it
 * is a single node (its `serialize()` carries the mapping); in the task process, `unmap(ctx)` gives the
 * operator of `ctx.mapIndex`, which the runtime renders and executes.
 */
export class MappedOperator extends BaseOperator {
  readonly operatorName: string;
  readonly #spec: MappedTaskSpec;

  constructor(options: TaskOptions, spec: MappedTaskSpec) {
    super(options);
    this.operatorName = spec.operatorName;
    this.#spec = spec;
    const where = `mapped task '${this.taskId}' in DAG '${this.dag.dagId}'`;
    for (const v of Object.values(spec.partial)) if (v instanceof XComArg) v.operator.before(this);
    if (spec.mapping.kind === 'expand') {
      if (spec.mapping.inputs.length === 0) throw new DagDefinitionError(`${where}: expand() needs at least one input to map over`);
      for (const { name, value } of spec.mapping.inputs) {
        if (UNMAPPABLE_OPTIONS.has(name)) {
          throw new DagDefinitionError(`${where}: '${name}' cannot be mapped`, { hint: `set '${name}' in partial(...); it is the same for every map index` });
        }
        if (name in spec.partial) throw new DagDefinitionError(`${where}: '${name}' is given both to partial() and to expand()`, { hint: 'give it in one of them' });
        checkMapInput(value, `${where}: expand '${name}'`, this, false);
      }
    } else {
      checkMapInput(spec.mapping.value, `${where}: expandKwargs`, this, true);
    }
  }

  /** The mapping as the scheduler sees it (upstream outputs as XCom references). */
  get mapping(): SerializedMapping {
    const m = this.#spec.mapping;
    return m.kind === 'expand'
      ? { kind: 'expand', inputs: m.inputs.map(({ name, value }) => ({ name, source: toSource(value) })) }
      : { kind: 'expandKwargs', source: toSource(m.value) };
  }

  protected override serializeFields(): JsonObject {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(this.#spec.partial)) {
      if (UNMAPPABLE_OPTIONS.has(k) || typeof v === 'function' || v === undefined) continue;
      out[k] = v instanceof XComArg ? (v.toReference() as unknown as JsonValue) : (v as JsonValue);
    }
    return out;
  }

  override serialize(): SerializedTask {
    return { ...super.serialize(), mapping: this.mapping };
  }

  /**
   * The operator of map index `ctx.mapIndex`: upstream outputs are pulled through `ctx` (a mapped
   * upstream gives the ordered list of its results), the index's arguments picked, and the operator
   * built under this task's id without joining the DAG.
   */
  async unmap(ctx: TaskContext): Promise<BaseOperator> {
    const values = await Promise.all(mappingSources(this.mapping).map(({ source }) => resolveSource(source, ctx)));
    const mapped = mappedArguments(this.mapping, values, ctx.mapIndex);
    const partial: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.#spec.partial)) partial[k] = v instanceof XComArg ? await ctx.xcomPull(v.operator.taskId, v.key) : v;
    return constructDetached(() => this.#spec.build(partial, mapped, this.dag));
  }

  /** A mapped task runs per map index: the runtime executes the operator `unmap` returns. */
  override execute(): never {
    throw new CapstanError('invalid_argument', `mapped task '${this.taskId}' cannot be executed as a whole`, { hint: 'execute the operator returned by unmap(ctx) for one map index' });
  }
}

async function resolveSource(source: MapSource, ctx: TaskContext): Promise<JsonValue | undefined> {
  if (source.kind === 'literal') return source.value;
  const v = await ctx.xcomPull(source.taskId, source.key);
  return v === null ? undefined : v;
}

function toSource(value: unknown): MapSource {
  return value instanceof XComArg ? { kind: 'xcom', taskId: value.operator.taskId, key: value.key } : { kind: 'literal', value: value as JsonValue };
}

function checkMapInput(value: unknown, field: string, down: BaseOperator, kwargs: boolean): void {
  if (value instanceof XComArg) {
    value.operator.before(down);
    return;
  }
  const ok = kwargs ? Array.isArray(value) : Array.isArray(value) || (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype);
  if (!ok) {
    throw new DagDefinitionError(`${field}: expected ${kwargs ? 'a list of option objects' : 'a list or an object'} or an upstream task's output, got ${describe(value)}`, {
      hint: kwargs ? 'expandKwargs([{ ... }, { ... }]) or expandKwargs(upstream())' : "expand({ field: ['a', 'b'] }) or expand({ field: upstream() })",
    });
  }
  if (!isJson(value)) throw new DagDefinitionError(`${field}: literal inputs must be JSON values`, { hint: "use an upstream task's output for computed values" });
  if (kwargs) {
    (value as unknown[]).forEach((el, i) => {
      if (el === null || typeof el !== 'object' || Array.isArray(el)) throw new DagDefinitionError(`${field}: element ${i} is not an object of options`);
      for (const k of Object.keys(el)) {
        if (UNMAPPABLE_OPTIONS.has(k)) throw new DagDefinitionError(`${field}: element ${i} sets '${k}', which cannot be mapped`, { hint: `set '${k}' in partial(...)` });
      }
    });
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  return typeof v === 'object' ? (v.constructor?.name ?? 'object') : `a ${typeof v}`;
}

/** True for plain JSON data (no functions, class instances or non-finite numbers). */
export function isJson(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(isJson);
  if (typeof v === 'object') return Object.getPrototypeOf(v) === Object.prototype && Object.values(v as object).every(isJson);
  return false;
}

/** `Operator.partial(options)` for a classic operator class. */
class ClassicPartial implements OperatorPartial<TaskOptions> {
  readonly #cls: new (options: TaskOptions) => BaseOperator;
  readonly #options: PartialOptions<TaskOptions>;

  constructor(cls: new (options: TaskOptions) => BaseOperator, options: PartialOptions<TaskOptions>) {
    if (typeof options?.taskId !== 'string') throw new DagDefinitionError(`${cls.name}.partial(): options.taskId is required`);
    this.#cls = cls;
    this.#options = options;
  }

  expand(inputs: ExpandInputs<TaskOptions>): BaseOperator {
    if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) {
      throw new DagDefinitionError(`task '${this.#options.taskId}': expand() takes an object of option → values to map over`);
    }
    return this.#make({ kind: 'expand', inputs: Object.entries(inputs).map(([name, value]) => ({ name, value })) });
  }

  expandKwargs(kwargs: unknown): BaseOperator {
    return this.#make({ kind: 'expandKwargs', value: kwargs });
  }

  #make(mapping: MappingInput): BaseOperator {
    const cls = this.#cls;
    const { dag: _dag, ...partial } = this.#options;
    return new MappedOperator(this.#options as TaskOptions, {
      operatorName: cls.name,
      partial,
      mapping,
      build: (resolved, mapped, dag) => new cls({ ...resolved, ...mapped, taskId: this.#options.taskId, dag } as TaskOptions),
    });
  }
}

registerPartialFactory((cls, options) => new ClassicPartial(cls, options));
