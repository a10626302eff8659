/**
 * A DAG: tasks, their dependencies, and when and how runs are made. Built with `dag(options, build)`;
 * validated when the builder returns (cycles, schedule, params), so a bad DAG fails at parse time with
 * its id and reason.
 */
import {
  compileParamSchema,
  DagDefinitionError,
  type DurationInput,
  errorMessage,
  type InvalidArgument,
  type JsonObject,
  type JsonValue,
  PARAM_SCHEMA_KEYWORDS,
  paramSchema,
  parseDuration,
  parseSchedule,
  type ScheduleInput,
  type SecretAccess,
  SERIALIZED_DAG_VERSION,
  type SerializedDag,
  type SerializedParam,
  type Timetable,
  validateParamValue,
} from '../core/index.ts';
import { authoringDefaults, registerDefinedDag, withCurrentDag, type AuthoringDefaults } from './authoring.ts';
import type { DagRunType, TaskInstanceState } from '../core/index.ts';
import type { BaseOperator, TaskOptions } from './baseOperator.ts';

/**
 * A DAG param: a default plus its type and documentation, and optionally more JSON-schema keywords that
 * a run's conf must satisfy. A bare value is shorthand for `{ default }`; a param without a default is
 * required in the conf of every manual run.
 *
 * @example
 * params: { batchSize: { default: 100, type: 'integer', minimum: 1, maximum: 10_000 }, env: { default: 'dev', enum: ['dev', 'prod'] } }
 */
export interface ParamSpec {
  default?: JsonValue;
  /** Default: inferred from the default (`any` without one). */
  type?: SerializedParam['type'];
  description?: string;
  enum?: JsonValue[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  /** A regular expression (JSON-schema dialect) a string must match. */
  pattern?: string;
  /** A JSON-schema format such as `date-time`, `email`, `uri` is not checked; use `pattern`. */
  format?: string;
  /** Schema of each element of an array param, e.g. `{ type: 'integer', minimum: 1 }`. */
  items?: JsonObject;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  /** Schemas of an object param's properties. */
  properties?: JsonObject;
  required?: string[];
  additionalProperties?: boolean | JsonObject;
  const?: JsonValue;
}

export interface DagOptions {
  /** Unique id: letters, digits, `_`, `-`, `.`. */
  dagId: string;
  description?: string;
  /** Markdown documentation. */
  doc?: string;
  /** Cron string, preset (`@daily`, `@once`…), `{ every: '6h' }`, or null/absent for manual runs only. */
  schedule?: ScheduleInput;
  /** IANA time zone the cron schedule is read in. Default UTC. */
  timezone?: string;
  /** No scheduled interval starts before this. Required for scheduled DAGs. */
  startDate?: Date | string;
  /** No scheduled interval starts after this. */
  endDate?: Date | string;
  /** Create runs for every missed interval since startDate. Default from config (false). */
  catchup?: boolean;
  tags?: string[];
  owner?: string;
  /**
   * Custom roles that may see (`read`) or also act on (`edit`) this DAG, its runs, logs and XComs — as
   * Airflow's `access_control`. Built-in roles see every DAG. Example: `{ 'team-a': 'edit', auditors: 'read' }`.
   */
  accessControl?: Record<string, 'read' | 'edit'>;
  params?: Record<string, ParamSpec | JsonValue>;
  /** Options applied to every task that does not set them. */
  defaultArgs?: Partial<Omit<TaskOptions, 'taskId' | 'dag'>>;
  /** Default 16. */
  maxActiveRuns?: number;
  /** Running task instances across all runs of this DAG. Default 16. */
  maxActiveTasks?: number;
  /** A run lasting longer is failed. */
  dagrunTimeout?: DurationInput;
  /** New DAGs start paused. Default false. */
  isPausedUponCreation?: boolean;
  /**
   * Values and functions available at the top level of every template of this DAG (Airflow's
   * `user_defined_macros`). They live in the DAG file, which the task process imports, so they are
   * not serialized.
   */
  userDefinedMacros?: Record<string, unknown>;
  /** Nunjucks filters for this DAG's templates: `{{ ds | my_filter }}` (Airflow's `user_defined_filters`). */
  userDefinedFilters?: Record<string, (...args: never[]) => unknown>;
  /** Folders searched for template files after the DAG file's own folder (Airflow's `template_searchpath`). */
  templateSearchPath?: string | string[];
  /**
   * Runs once when a run of this DAG ends successfully, in a short-lived process the scheduler starts
   * (it imports this file). Errors are logged, never fatal.
   */
  onSuccess?: DagRunCallback;
  /** Runs once when a run of this DAG fails (including a dagrunTimeout); as `onSuccess`. */
  onFailure?: DagRunCallback;
  /**
   * The variables and connections this DAG's tasks may read, as ids or `*` globs; the Execution API refuses
   * (403) any other. A list left out leaves that kind unrestricted; without `secretAccess` every variable and
   * connection is readable. Example: `{ variables: ['report_*'], connections: ['warehouse'] }`.
   */
  secretAccess?: SecretAccess;
}

/** What a DAG-level callback receives about the run that ended. */
export interface DagRunCallbackContext {
  dagId: string;
  runId: string;
  runType: DagRunType;
  logicalDate: Date | null;
  state: 'success' | 'failed';
  /** Why the run ended as it did, e.g. the failed tasks. */
  reason: string;
  /** The final state of every task instance, by task id (`task[mapIndex]` for mapped ones). */
  taskStates: Record<string, TaskInstanceState>;
}

export type DagRunCallback = (ctx: DagRunCallbackContext) => void | Promise<void>;

/** {@link DagRunCallbackContext} with `logicalDate` as epoch ms: the form that crosses a process boundary as JSON. */
export type DagCallbackContextData = Omit<DagRunCallbackContext, 'logicalDate'> & { logicalDate: number | null };

const DAG_ID_PATTERN = /^[A-Za-z0-9_.-]{1,250}$/;

export class Dag {
  readonly dagId: string;
  readonly description: string | null;
  readonly doc: string | null;
  readonly timetable: Timetable;
  readonly scheduleText: string | null;
  readonly startDate: Date | null;
  readonly endDate: Date | null;
  readonly catchup: boolean;
  readonly tags: readonly string[];
  readonly owner: string;
  readonly accessControl: Readonly<Record<string, 'read' | 'edit'>>;
  readonly params: Readonly<Record<string, SerializedParam>>;
  readonly defaultArgs: Partial<TaskOptions>;
  readonly maxActiveRuns: number;
  readonly maxActiveTasks: number;
  readonly dagrunTimeoutMs: number | null;
  readonly isPausedUponCreation: boolean;
  readonly userDefinedMacros: Readonly<Record<string, unknown>>;
  readonly userDefinedFilters: Readonly<Record<string, (...args: never[]) => unknown>>;
  readonly templateSearchPath: readonly string[];
  readonly callbacks: Readonly<{ onSuccess?: DagRunCallback; onFailure?: DagRunCallback }>;
  readonly secretAccess: Readonly<SecretAccess> | undefined;
  /** Installation defaults in force when the DAG was defined. */
  readonly defaults: AuthoringDefaults;
  readonly #tasks = new Map<string, BaseOperator>();

  constructor(options: DagOptions) {
    if (!DAG_ID_PATTERN.test(options.dagId ?? '')) {
      throw new DagDefinitionError(`dagId '${options.dagId}' must be 1-250 letters, digits, '_', '-' or '.'`);
    }
    const where = `DAG '${options.dagId}'`;
    this.defaults = authoringDefaults();
    this.dagId = options.dagId;
    this.description = options.description ?? null;
    this.doc = options.doc ?? null;
    try {
      this.timetable = parseSchedule(options.schedule, options.timezone ?? 'UTC');
    } catch (err) {
      throw new DagDefinitionError(`${where}: ${(err as Error).message}`, { hint: (err as InvalidArgument).hint ?? '' });
    }
    this.scheduleText = scheduleText(options.schedule);
    this.startDate = toDate(options.startDate, `${where}: startDate`);
    this.endDate = toDate(options.endDate, `${where}: endDate`);
    if (this.timetable.kind !== 'none' && !this.startDate) {
      throw new DagDefinitionError(`${where}: a scheduled DAG needs a startDate`, { hint: "add startDate: '2026-01-01'" });
    }
    if (this.startDate && this.endDate && this.endDate < this.startDate) {
      throw new DagDefinitionError(`${where}: endDate is before startDate`);
    }
    this.catchup = options.catchup ?? this.defaults.catchup;
    this.tags = Object.freeze([...(options.tags ?? [])]);
    this.owner = options.owner ?? (typeof options.defaultArgs?.owner === 'string' ? options.defaultArgs.owner : 'capstan');
    this.accessControl = Object.freeze(normalizeAccessControl(options.accessControl ?? {}, where));
    this.params = normalizeParams(options.params ?? {}, where);
    this.defaultArgs = { ...(options.defaultArgs ?? {}) };
    this.maxActiveRuns = positive(options.maxActiveRuns ?? this.defaults.maxActiveRuns, `${where}: maxActiveRuns`);
    this.maxActiveTasks = positive(options.maxActiveTasks ?? this.defaults.maxActiveTasks, `${where}: maxActiveTasks`);
    this.dagrunTimeoutMs = options.dagrunTimeout === undefined ? null : parseDuration(options.dagrunTimeout, `${where}: dagrunTimeout`);
    this.isPausedUponCreation = options.isPausedUponCreation ?? false;
    this.userDefinedMacros = Object.freeze({ ...(options.userDefinedMacros ?? {}) });
    this.userDefinedFilters = Object.freeze({ ...(options.userDefinedFilters ?? {}) });
    const searchPath = options.templateSearchPath ?? [];
    this.templateSearchPath = Object.freeze(typeof searchPath === 'string' ? [searchPath] : [...searchPath]);
    this.callbacks = Object.freeze({
      ...(options.onSuccess ? { onSuccess: options.onSuccess } : {}),
      ...(options.onFailure ? { onFailure: options.onFailure } : {}),
    });
    this.secretAccess = normalizeSecretAccess(options.secretAccess, where);
  }

  get tasks(): ReadonlyMap<string, BaseOperator> {
    return this.#tasks;
  }

  /** The task with this id; throws when absent. */
  getTask(taskId: string): BaseOperator {
    const t = this.#tasks.get(taskId);
    if (!t) throw new DagDefinitionError(`DAG '${this.dagId}' has no task '${taskId}'`);
    return t;
  }

  /** @internal called by BaseOperator's constructor */
  addTask(task: BaseOperator): void {
    if (this.#tasks.has(task.taskId)) {
      throw new DagDefinitionError(`DAG '${this.dagId}': duplicate taskId '${task.taskId}'`, { hint: 'task ids must be unique within a DAG' });
    }
    this.#tasks.set(task.taskId, task);
  }

  /**
   * Throw if the dependencies form a cycle, naming the tasks on it. Iterative (Kahn's algorithm), so a
   * chain of tens of thousands of tasks does not exhaust the call stack.
   */
  validate(): void {
    const indegree = new Map<string, number>();
    for (const [id, t] of this.#tasks) indegree.set(id, t.upstreamTaskIds.size);
    const ready = [...indegree].filter(([, n]) => n === 0).map(([id]) => id);
    let sorted = 0;
    while (ready.length > 0) {
      const id = ready.pop() as string;
      sorted++;
      for (const d of this.getTask(id).downstreamTaskIds) {
        const n = (indegree.get(d) ?? 0) - 1;
        indegree.set(d, n);
        if (n === 0) ready.push(d);
      }
    }
    if (sorted === this.#tasks.size) return;
    // Every task left has an upstream that is also left: walk upstream until a task repeats.
    const left = new Set([...indegree].filter(([, n]) => n > 0).map(([id]) => id));
    const path: string[] = [];
    const onPath = new Map<string, number>();
    let current = left.values().next().value as string;
    while (!onPath.has(current)) {
      onPath.set(current, path.length);
      path.push(current);
      current = [...this.getTask(current).upstreamTaskIds].find((u) => left.has(u)) as string;
    }
    const cycle = [...path.slice(onPath.get(current)), current].reverse().join(' → ');
    throw new DagDefinitionError(`DAG '${this.dagId}' has a cycle: ${cycle}`);
  }

  /** The JSON form stored by the DAG processor and read by the scheduler. */
  serialize(fileloc: string): SerializedDag {
    return {
      version: SERIALIZED_DAG_VERSION,
      dagId: this.dagId,
      fileloc,
      description: this.description,
      doc: this.doc,
      timetable: this.timetable,
      scheduleText: this.scheduleText,
      startDate: this.startDate?.getTime() ?? null,
      endDate: this.endDate?.getTime() ?? null,
      catchup: this.catchup,
      tags: [...this.tags],
      owner: this.owner,
      params: { ...this.params },
      maxActiveRuns: this.maxActiveRuns,
      maxActiveTasks: this.maxActiveTasks,
      dagrunTimeoutMs: this.dagrunTimeoutMs,
      isPausedUponCreation: this.isPausedUponCreation,
      tasks: [...this.#tasks.values()].map((t) => t.serialize()),
      ...(Object.keys(this.callbacks).length > 0 ? { callbacks: (['onSuccess', 'onFailure'] as const).filter((k) => this.callbacks[k] !== undefined) } : {}),
      ...(this.secretAccess === undefined ? {} : { secretAccess: { ...this.secretAccess } }),
      ...(Object.keys(this.accessControl).length > 0 ? { accessControl: { ...this.accessControl } } : {}),
    };
  }
}

function normalizeAccessControl(ac: Record<string, unknown>, where: string): Record<string, 'read' | 'edit'> {
  if (typeof ac !== 'object' || ac === null || Array.isArray(ac)) throw new DagDefinitionError(`${where}: accessControl must be an object of role name → 'read' | 'edit'`);
  const out: Record<string, 'read' | 'edit'> = {};
  for (const [role, level] of Object.entries(ac)) {
    if (level !== 'read' && level !== 'edit') {
      throw new DagDefinitionError(`${where}: accessControl.${role} must be 'read' or 'edit', got ${JSON.stringify(level)}`, { hint: "e.g. accessControl: { 'team-a': 'edit' }" });
    }
    out[role] = level;
  }
  return out;
}

function normalizeSecretAccess(access: unknown, where: string): Readonly<SecretAccess> | undefined {
  if (access === undefined) return undefined;
  const fail = (field: string) => new DagDefinitionError(`${where}: secretAccess${field} must be a list of ids or globs`, { hint: "e.g. secretAccess: { variables: ['report_*'], connections: ['warehouse'] }" });
  if (typeof access !== 'object' || access === null || Array.isArray(access)) throw fail('');
  const out: SecretAccess = {};
  for (const kind of ['variables', 'connections'] as const) {
    const list: unknown = (access as Record<string, unknown>)[kind];
    if (list === undefined) continue;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && x !== '')) throw fail(`.${kind}`);
    out[kind] = Object.freeze([...(list as string[])]) as string[];
  }
  return Object.freeze(out);
}

/**
 * Define a DAG. Operators created inside `build` join it.
 *
 * @example
 * export default dag({ dagId: 'hello', schedule: '@daily', startDate: '2026-01-01' }, () => {
 *   const a = new BashOperator({ taskId: 'a', bashCommand: 'echo hi' });
 *   a.before(new BashOperator({ taskId: 'b', bashCommand: 'echo bye' }));
 * });
 */
export function dag(options: DagOptions, build?: (d: Dag) => void): Dag {
  const d = new Dag(options);
  if (build) withCurrentDag(d, () => build(d));
  d.validate();
  registerDefinedDag(d);
  return d;
}

function scheduleText(s: ScheduleInput | undefined): string | null {
  if (s === null || s === undefined) return null;
  return typeof s === 'string' ? s : `every ${String(s.every)}`;
}

function toDate(v: Date | string | undefined, field: string): Date | null {
  if (v === undefined) return null;
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) throw new DagDefinitionError(`${field}: '${String(v)}' is not a date`, { hint: "use an ISO date such as '2026-01-01'" });
  return d;
}

function positive(n: number, field: string): number {
  if (!Number.isInteger(n) || n < 1) throw new DagDefinitionError(`${field} must be a whole number ≥ 1, got ${n}`);
  return n;
}

function isParamSpec(v: ParamSpec | JsonValue): v is ParamSpec {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && ('default' in v || 'type' in v || 'enum' in v);
}

function inferType(v: JsonValue | undefined): SerializedParam['type'] {
  if (v === undefined) return 'any';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as 'string' | 'boolean' | 'object';
}

function normalizeParams(raw: Record<string, ParamSpec | JsonValue>, where: string): Record<string, SerializedParam> {
  const out: Record<string, SerializedParam> = {};
  for (const [name, v] of Object.entries(raw)) {
    const spec: ParamSpec = isParamSpec(v) ? v : { default: v };
    const type = spec.type ?? inferType(spec.default);
    if (spec.enum && spec.default !== undefined && !spec.enum.some((e) => JSON.stringify(e) === JSON.stringify(spec.default))) {
      throw new DagDefinitionError(`${where}: param '${name}' default is not one of its enum values`);
    }
    const keywords = Object.fromEntries(PARAM_SCHEMA_KEYWORDS.filter((k) => spec[k] !== undefined).map((k) => [k, spec[k] as JsonValue])) as JsonObject;
    const param: SerializedParam = {
      default: spec.default ?? null,
      type,
      description: spec.description ?? null,
      required: spec.default === undefined,
      enum: spec.enum ?? null,
      ...(Object.keys(keywords).length > 0 ? { schema: keywords } : {}),
    };
    try {
      compileParamSchema(paramSchema(param));
    } catch (err) {
      throw new DagDefinitionError(`${where}: param '${name}' has an invalid schema: ${errorMessage(err)}`);
    }
    if (spec.default !== undefined) {
      const problems = validateParamValue(`params.${name}`, spec.default, param);
      if (problems.length > 0) throw new DagDefinitionError(`${where}: the default of param '${name}' violates its own schema: ${problems.join('; ')}`);
    }
    out[name] = param;
  }
  return out;
}
