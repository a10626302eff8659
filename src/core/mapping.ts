/**
 * Dynamic task mapping, the pure part shared by the scheduler (how many map indexes a task expands to)
 * and the task runtime (which arguments map index `i` receives). No I/O: callers resolve each source to
 * its JSON value (a literal as written, an upstream XCom as pushed — the ordered list of results when
 * the upstream is itself mapped) and pass it in.
 *
 * Semantics follow Airflow's: `expand` over several parameters is their cross product with the LAST
 * parameter varying fastest (as `itertools.product`); a dict source maps over its `[key, value]` pairs
 * in insertion order; `expandKwargs` maps over a list of objects, one object of arguments per index.
 */
import { CapstanError } from './errors.ts';
import type { JsonObject, JsonValue } from './serialized.ts';

/** Where the values of one mapped parameter (or the kwargs list) come from. */
export type MapSource = { kind: 'literal'; value: JsonValue } | { kind: 'xcom'; taskId: string; key: string };

/** How a mapped task expands, as stored in the serialized DAG (`SerializedTask.mapping`). */
export type SerializedMapping =
  | {
      kind: 'expand';
      /** In declaration order, which decides the order of the cross product. */
      inputs: Array<{ name: string; source: MapSource }>;
    }
  | { kind: 'expandKwargs'; source: MapSource };

/** A source value that cannot be mapped over, or a mapped argument that cannot be built. */
export class MappingError extends CapstanError {
  constructor(message: string, hint?: string) {
    super('invalid_argument', message, hint === undefined ? {} : { hint });
    this.name = 'MappingError';
  }
}

/** The sources a mapping reads, for resolving them before `expansionLength` / `mappedArguments`. */
export function mappingSources(m: SerializedMapping): Array<{ name: string; source: MapSource }> {
  return m.kind === 'expand' ? m.inputs : [{ name: 'expandKwargs', source: m.source }];
}

/** Human description of a source for error messages: `the XCom 'return_value' of task 'extract'`. */
export function describeSource(name: string, s: MapSource): string {
  return s.kind === 'literal' ? `the literal value of '${name}'` : `the XCom '${s.key}' of task '${s.taskId}' (mapped as '${name}')`;
}

/** The elements a value maps over: a list as is, a dict as its `[key, value]` pairs. */
export function mappableElements(name: string, source: MapSource, value: JsonValue | undefined): JsonValue[] {
  if (value === undefined) {
    throw new MappingError(`cannot expand over ${describeSource(name, source)}: nothing was pushed`, 'the upstream task must return (or push) a list or an object to map over');
  }
  if (Array.isArray(value)) return value;
  if (value !== null && typeof value === 'object') return Object.entries(value).map(([k, v]) => [k, v]);
  throw new MappingError(
    `cannot expand over ${describeSource(name, source)}: it is ${value === null ? 'null' : `a ${typeof value}`}, not a list or an object`,
    'map over a list (one task instance per element) or an object (one per [key, value] pair)',
  );
}

/**
 * How many task instances the mapping expands to, given each source's resolved value (in the order of
 * `mappingSources`). Throws `MappingError` on a value that is not a list/object, or an `expandKwargs`
 * element that is not an object.
 */
export function expansionLength(m: SerializedMapping, values: ReadonlyArray<JsonValue | undefined>): number {
  const sources = mappingSources(m);
  const lists = sources.map((s, i) => mappableElements(s.name, s.source, values[i]));
  if (m.kind === 'expandKwargs') {
    const list = lists[0] ?? [];
    list.forEach((el, i) => kwargsElement(el, i, m.source));
    return list.length;
  }
  return lists.reduce((n, l) => n * l.length, 1);
}

/**
 * The arguments of map index `index`: parameter name → value. For `expand`, the cross-product element;
 * for `expandKwargs`, the index-th object.
 */
export function mappedArguments(m: SerializedMapping, values: ReadonlyArray<JsonValue | undefined>, index: number): JsonObject {
  const sources = mappingSources(m);
  const lists = sources.map((s, i) => mappableElements(s.name, s.source, values[i]));
  const length = m.kind === 'expandKwargs' ? (lists[0]?.length ?? 0) : lists.reduce((n, l) => n * l.length, 1);
  if (index === -1) {
    throw new MappingError('this task is mapped: a map index (0, 1, …) names which of its task instances to run or render', 'give a map index, e.g. --map-index 0');
  }
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw new MappingError(
      `map index ${index} is out of range: the mapped input now expands to ${length} element(s)`,
      'the upstream result changed since the task was expanded; clear the mapped task to expand it again',
    );
  }
  if (m.kind === 'expandKwargs') return kwargsElement(lists[0]?.[index], index, m.source);
  const out: JsonObject = {};
  let rest = index;
  for (let i = sources.length - 1; i >= 0; i--) {
    const list = lists[i] as JsonValue[];
    out[(sources[i] as { name: string }).name] = list[rest % list.length] as JsonValue;
    rest = Math.floor(rest / list.length);
  }
  return out;
}

function kwargsElement(el: JsonValue | undefined, i: number, source: MapSource): JsonObject {
  if (el === null || typeof el !== 'object' || Array.isArray(el)) {
    throw new MappingError(`expandKwargs: element ${i} of ${describeSource('expandKwargs', source)} is not an object of arguments`, 'expandKwargs maps over a list of objects, e.g. [{ bashCommand: "echo 1" }, { bashCommand: "echo 2" }]');
  }
  return el;
}
