/**
 * The base of every operator: identity, retry/timeout/pool/priority options, trigger rule, callbacks and
 * dependency wiring. An operator is defined once at parse time and frozen into the serialized DAG; at run
 * time the task runtime imports the same file and calls `execute`.
 */
import type { V1Pod } from '@kubernetes/client-node';
import {
  DagDefinitionError,
  type DurationInput,
  isTriggerRule,
  parseDuration,
  TRIGGER_RULES,
  type TriggerRule,
} from '../core/index.ts';
import type { JsonObject, JsonValue, RetryPolicy, SerializedTask } from '../core/index.ts';
import { currentDag } from './authoring.ts';
import type { Dag } from './dag.ts';
import type { TaskContext } from './taskContext.ts';
import { FAIL_METHOD, TaskDeferralError, TaskDeferralTimeout, TaskDeferred } from '../triggers/index.ts';
import type { Trigger } from '../triggers/index.ts';

/** What `BaseOperator.defer()` takes. */
export interface DeferOptions {
  /** The wait to hand to the triggerer. */
  trigger: Trigger;
  /** Name of this operator's method called (on a worker) with `(ctx, event, kwargs)` when the trigger fires. */
  method: string;
  /** JSON arguments passed back to `method`. Default `{}`. */
  kwargs?: JsonObject;
  /** Fail the deferral after this long (`'30m'`, ms); bounded by the task's `executionTimeout`. Default: none. */
  timeout?: DurationInput;
}

/** Why a deferral ended without its trigger's event (the event of a resume into `__fail__`). */
export interface DeferralFailure {
  kind: 'timeout' | 'error';
  error: string;
}

/** Called with the task's context once the try ends; errors are logged, never fatal. */
export type TaskCallback = (ctx: TaskContext, outcome: { error?: unknown }) => void | Promise<void>;

/** Options every operator accepts (and that a DAG's `defaultArgs` may set). */
export interface TaskOptions {
  /** Unique within the DAG: letters, digits, `_`, `-`, `.`. */
  taskId: string;
  /** The DAG to join; defaults to the DAG whose builder is running. */
  dag?: Dag;
  /** Extra tries after the first fails. Default 0 (config `core.defaultTaskRetries`). */
  retries?: number;
  /** Wait before a retry. Default 5 minutes. */
  retryDelay?: DurationInput;
  /** Double the delay after each failed try (with jitter-free, capped growth). Default false. */
  retryExponentialBackoff?: boolean;
  /** Cap on the delay when backing off exponentially. */
  maxRetryDelay?: DurationInput;
  /** A try running longer fails (and may retry). */
  executionTimeout?: DurationInput;
  /** Default `all_success`. */
  triggerRule?: TriggerRule;
  /** Default `default_pool`. */
  pool?: string;
  /** Slots this task takes in its pool. Default 1. */
  poolSlots?: number;
  /** Higher runs first when slots are scarce. Default 1. */
  priorityWeight?: number;
  /** Run only if this task succeeded (or was skipped) in the previous run. Default false. */
  dependsOnPast?: boolean;
  /** Executor queue (`kubernetes` routes to pods under LocalKubernetesExecutor). Default `default`. */
  queue?: string;
  owner?: string;
  /** Markdown shown with the task. */
  doc?: string;
  onSuccess?: TaskCallback;
  onFailure?: TaskCallback;
  onRetry?: TaskCallback;
  /** Runs just before `execute`. */
  onExecute?: (ctx: TaskContext) => void | Promise<void>;
  /** Per-task executor settings (the worker pod of the KubernetesExecutor); ignored by the LocalExecutor. */
  executorConfig?: ExecutorConfig;
}

/**
 * Airflow's `executor_config`: how the KubernetesExecutor builds this task's worker pod.
 * Precedence (docs/kubernetes/executor.md): `podOverride` > the executor's worker pod > the template
 * (`podTemplateFile` here, else the executor's `kubernetesExecutor.podTemplateFile`).
 *
 * @example
 * new BashOperator({ taskId: 'big', bashCommand: 'make', executorConfig: {
 *   podOverride: { spec: { containers: [{ name: 'base', resources: { limits: { memory: '8Gi' } } }] } },
 * } });
 */
export interface ExecutorConfig {
  /** A partial Pod merged over the worker pod (containers by name; the task's container is `base`). */
  podOverride?: V1Pod;
  /** A pod template YAML replacing the executor's base template for this task (path as the scheduler sees it). */
  podTemplateFile?: string;
}

const EXECUTOR_CONFIG_KEYS = new Set(['podOverride', 'podTemplateFile']);

/** Checks `executorConfig` and returns its JSON form (undefined when unset). */
function checkExecutorConfig(value: unknown, where: string): JsonObject | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DagDefinitionError(`${where}: executorConfig must be an object like { podOverride: {...} }`);
  }
  for (const key of Object.keys(value)) {
    if (!EXECUTOR_CONFIG_KEYS.has(key)) {
      throw new DagDefinitionError(`${where}: executorConfig.${key} is not a known setting`, { hint: 'use podOverride (a partial V1Pod) or podTemplateFile (a path)' });
    }
  }
  const c = value as Record<string, unknown>;
  const override = c['podOverride'];
  if (override !== undefined && (typeof override !== 'object' || override === null || Array.isArray(override))) {
    throw new DagDefinitionError(`${where}: executorConfig.podOverride must be a Pod object ({ metadata?, spec? })`);
  }
  const file = c['podTemplateFile'];
  if (file !== undefined && (typeof file !== 'string' || file.trim() === '')) {
    throw new DagDefinitionError(`${where}: executorConfig.podTemplateFile must be a non-empty path`);
  }
  try {
    return JSON.parse(JSON.stringify(value)) as JsonObject;
  } catch (err) {
    throw new DagDefinitionError(`${where}: executorConfig must be plain JSON data: ${(err as Error).message}`);
  }
}

/** Something that can be wired as a dependency: an operator, or the output of a TaskFlow task. */
export interface DependencyNode {
  readonly operator: BaseOperator;
}

export type DependencyTarget = DependencyNode | BaseOperator | ReadonlyArray<DependencyNode | BaseOperator>;

const TASK_ID_PATTERN = /^[A-Za-z0-9_.-]{1,250}$/;

export function toOperators(target: DependencyTarget): BaseOperator[] {
  const list = Array.isArray(target) ? target : [target];
  return list.map((t: DependencyNode | BaseOperator) => (t instanceof BaseOperator ? t : t.operator));
}

export abstract class BaseOperator implements DependencyNode {
  /**
   * Fields rendered as templates before `execute` (Airflow's `template_fields`): strings, and strings
   * inside arrays and plain objects. Subclasses list their own.
   */
  static readonly templateFields: readonly string[] = [];
  /** A templated string ending with one of these names a template file next to the DAG file (Airflow's `template_ext`). */
  static readonly templateExt: readonly string[] = [];
  /** Operator kind shown in the UI and stored with the task, e.g. `BashOperator`. */
  abstract readonly operatorName: string;
  readonly taskId: string;
  readonly dag: Dag;
  readonly triggerRule: TriggerRule;
  readonly retry: RetryPolicy;
  readonly executionTimeoutMs: number | null;
  readonly pool: string;
  readonly poolSlots: number;
  readonly priorityWeight: number;
  readonly dependsOnPast: boolean;
  readonly queue: string;
  readonly owner: string;
  readonly doc: string | null;
  readonly callbacks: Pick<TaskOptions, 'onSuccess' | 'onFailure' | 'onRetry' | 'onExecute'>;
  /** The checked `executorConfig` as JSON; undefined when the task has none. */
  readonly executorConfig: JsonObject | undefined;
  readonly #upstream = new Set<string>();
  readonly #downstream = new Set<string>();

  constructor(options: TaskOptions) {
    const dag = options.dag ?? currentDag();
    if (!dag) {
      throw new DagDefinitionError(`task '${options.taskId}' is not in a DAG`, {
        hint: 'create it inside dag({...}, () => { ... }) or pass the dag option',
      });
    }
    const o: TaskOptions = { ...dag.defaultArgs, ...stripUndefined(options), taskId: options.taskId };
    const where = `task '${o.taskId}' in DAG '${dag.dagId}'`;
    if (!TASK_ID_PATTERN.test(o.taskId)) {
      throw new DagDefinitionError(`${where}: taskId must be 1-250 letters, digits, '_', '-' or '.'`);
    }
    const triggerRule = o.triggerRule ?? 'all_success';
    if (!isTriggerRule(triggerRule)) {
      throw new DagDefinitionError(`${where}: unknown triggerRule '${String(triggerRule)}'`, {
        hint: `use one of ${TRIGGER_RULES.join(', ')}`,
      });
    }
    this.taskId = o.taskId;
    this.dag = dag;
    this.triggerRule = triggerRule;
    this.retry = {
      retries: nonNegativeInt(o.retries ?? dag.defaults.retries, `${where}: retries`),
      retryDelayMs: parseDuration(o.retryDelay ?? dag.defaults.retryDelayMs, `${where}: retryDelay`),
      retryExponentialBackoff: o.retryExponentialBackoff ?? false,
      maxRetryDelayMs: o.maxRetryDelay === undefined ? null : parseDuration(o.maxRetryDelay, `${where}: maxRetryDelay`),
    };
    this.executionTimeoutMs = o.executionTimeout === undefined ? null : parseDuration(o.executionTimeout, `${where}: executionTimeout`);
    this.pool = o.pool ?? 'default_pool';
    this.poolSlots = positiveInt(o.poolSlots ?? 1, `${where}: poolSlots`);
    this.priorityWeight = Math.trunc(o.priorityWeight ?? 1);
    this.dependsOnPast = o.dependsOnPast ?? false;
    this.queue = o.queue ?? 'default';
    this.owner = o.owner ?? dag.owner;
    this.doc = o.doc ?? null;
    this.callbacks = { onSuccess: o.onSuccess, onFailure: o.onFailure, onRetry: o.onRetry, onExecute: o.onExecute };
    this.executorConfig = checkExecutorConfig(o.executorConfig, where);
    // A mapped task's per-index operator is built at run time under the mapped task's id: it joins no DAG.
    if (detachedConstructions === 0) dag.addTask(this);
  }

  /**
   * Start a mapped task (Airflow's `Operator.partial(...)`): fix the arguments every map index shares,
   * then `.expand({ field: [...] })` or `.expandKwargs([...])` for the ones that vary. One task instance
   * runs per element, with `map_index` 0..n-1 (see docs/dynamic-task-mapping.md).
   *
   * @example
   * BashOperator.partial({ taskId: 'greet', env: { LANG: 'C' } }).expand({ bashCommand: ['echo a', 'echo b'] });
   */
  static partial<O extends TaskOptions, T extends BaseOperator>(this: new (options: O) => T, options: PartialOptions<O>): OperatorPartial<O> {
    if (!partialFactory) throw new DagDefinitionError('dynamic task mapping is not loaded', { hint: "import operators from 'capstan'" });
    return partialFactory(this as unknown as new (options: TaskOptions) => BaseOperator, options as unknown as PartialOptions<TaskOptions>) as unknown as OperatorPartial<O>;
  }

  /** Itself, so operators and TaskFlow outputs are interchangeable in dependency calls. */
  get operator(): BaseOperator {
    return this;
  }

  get upstreamTaskIds(): ReadonlySet<string> {
    return this.#upstream;
  }

  get downstreamTaskIds(): ReadonlySet<string> {
    return this.#downstream;
  }

  /** `a.before(b)`: b runs after a. Returns `b` so calls chain: `a.before(b).before(c)`. */
  before<T extends DependencyTarget>(target: T): T {
    for (const op of toOperators(target)) link(this, op);
    return target;
  }

  /** `b.after(a)`: b runs after a. Returns `a`. */
  after<T extends DependencyTarget>(target: T): T {
    for (const op of toOperators(target)) link(op, this);
    return target;
  }

  /** Do the work. The returned JSON value (if not undefined) becomes the XCom `return_value`. */
  abstract execute(ctx: TaskContext): Promise<unknown> | unknown;

  /**
   * Hand the rest of this try to a trigger and free the worker slot (Airflow's `self.defer`). Ends the
   * current `execute` (it throws); the task instance becomes `deferred`, the triggerer runs `trigger`, and
   * when it fires the same try resumes on a worker by calling `this[method](ctx, event, kwargs)`.
   *
   * @example
   * execute(ctx) { this.defer({ trigger: new TimeDeltaTrigger({ delta: '1h' }), method: 'afterWait', timeout: '2h' }); }
   * afterWait(ctx, event) { return event; }
   */
  defer(options: DeferOptions): never {
    const where = `task '${this.taskId}': defer()`;
    const method = (this as unknown as Record<string, unknown>)[options.method];
    if (typeof method !== 'function') throw new DagDefinitionError(`${where}: method '${options.method}' is not a method of ${this.operatorName}`, { hint: 'name the method that continues the task when the trigger fires' });
    const timeoutMs = options.timeout === undefined ? null : parseDuration(options.timeout, `${where}: timeout`);
    throw new TaskDeferred({ trigger: options.trigger.serialize(), method: options.method, kwargs: options.kwargs ?? {}, timeoutMs });
  }

  /**
   * Continue a deferred try: called on a worker instead of `execute` when the trigger fired (`method` as
   * given to `defer()`), or with `__fail__` when the deferral timed out or its trigger failed — which
   * throws `TaskDeferralTimeout` / `TaskDeferralError` unless a subclass handles it (sensors turn a
   * timeout into their own timeout or soft-fail).
   */
  async resumeExecution(ctx: TaskContext, method: string, event: JsonValue, kwargs: JsonObject): Promise<unknown> {
    if (method === FAIL_METHOD) {
      const failure = event as unknown as DeferralFailure;
      if (failure.kind === 'timeout') throw new TaskDeferralTimeout(failure.error);
      throw new TaskDeferralError(failure.error);
    }
    const fn = (this as unknown as Record<string, unknown>)[method];
    if (typeof fn !== 'function') throw new TaskDeferralError(`cannot resume: ${this.operatorName} '${this.taskId}' has no method '${method}'`);
    return (fn as (ctx: TaskContext, event: JsonValue, kwargs: JsonObject) => unknown).call(this, ctx, event, kwargs);
  }

  /** Operator-specific fields for the serialized DAG (JSON only). */
  protected serializeFields(): JsonObject {
    return {};
  }

  /** The frozen, JSON form stored by the DAG processor. */
  serialize(): SerializedTask {
    const callbacks = (['onSuccess', 'onFailure', 'onRetry', 'onExecute'] as const).filter((k) => this.callbacks[k] !== undefined);
    return {
      taskId: this.taskId,
      operator: this.operatorName,
      upstream: [...this.#upstream].sort(),
      downstream: [...this.#downstream].sort(),
      triggerRule: this.triggerRule,
      retry: this.retry,
      executionTimeoutMs: this.executionTimeoutMs,
      pool: this.pool,
      poolSlots: this.poolSlots,
      priorityWeight: this.priorityWeight,
      dependsOnPast: this.dependsOnPast,
      queue: this.queue,
      owner: this.owner,
      doc: this.doc,
      fields: this.serializeFields(),
      callbacks,
      ...(this.executorConfig === undefined ? {} : { executorConfig: this.executorConfig }),
    };
  }

  /** @internal used by `link` */
  addUpstreamId(id: string): void {
    this.#upstream.add(id);
  }

  /** @internal used by `link` */
  addDownstreamId(id: string): void {
    this.#downstream.add(id);
  }
}

let detachedConstructions = 0;

/**
 * Build an operator that joins no DAG: a mapped task's operator for one map index, made in the task
 * process under the mapped task's own id.
 * @internal
 */
export function constructDetached<T>(build: () => T): T {
  detachedConstructions++;
  try {
    return build();
  } finally {
    detachedConstructions--;
  }
}

/** The options fixed by `Operator.partial(...)`: any of the operator's options (an upstream output too), with the task id. */
export type PartialOptions<O> = { taskId: string } & { [K in Exclude<keyof O, 'taskId'>]?: O[K] | MappedValueRef<O[K]> };

/** A reference to an upstream task's output (an `XComArg`), seen structurally to avoid an import cycle. */
export interface MappedValueRef<T> {
  readonly operator: BaseOperator;
  readonly key: string;
  readonly __valueType?: T;
}

/** What `Operator.partial(...)` returns; see `sdk/mapping.ts`. */
export interface OperatorPartial<O> {
  /** Map over each listed option (cross product when several). Each value is a list, an object (its [key, value] pairs) or an upstream output. */
  expand(inputs: ExpandInputs<O>): BaseOperator;
  /** Map over a list of option objects (or an upstream output that is one): one task instance per object. */
  expandKwargs(kwargs: ReadonlyArray<Partial<O>> | MappedValueRef<ReadonlyArray<Partial<O>>> | MappedValueRef<Array<Partial<O>>>): BaseOperator;
}

/** The values `expand` maps an option over. */
export type ExpandInputs<O> = { [K in Exclude<keyof O, 'taskId' | 'dag'>]?: MapInput<O[K]> };

/** A list of values, an object mapped as its `[key, value]` pairs, or an upstream output that is one. */
export type MapInput<V> =
  | ReadonlyArray<V>
  | MappedValueRef<ReadonlyArray<V>>
  | MappedValueRef<V[]>
  | (V extends readonly [string, infer X] ? Record<string, X> | MappedValueRef<Record<string, X>> : never);

type PartialFactory = (cls: new (options: TaskOptions) => BaseOperator, options: PartialOptions<TaskOptions>) => OperatorPartial<TaskOptions>;
let partialFactory: PartialFactory | undefined;

/**
 * Installed by `sdk/mapping.ts` (which extends BaseOperator, so this module cannot import it).
 * @internal
 */
export function registerPartialFactory(f: PartialFactory): void {
  partialFactory = f;
}

function link(up: BaseOperator, down: BaseOperator): void {
  if (up.dag !== down.dag) {
    throw new DagDefinitionError(`cannot link '${up.taskId}' (DAG '${up.dag.dagId}') to '${down.taskId}' (DAG '${down.dag.dagId}'): tasks are in different DAGs`);
  }
  if (up === down) throw new DagDefinitionError(`task '${up.taskId}' in DAG '${up.dag.dagId}' cannot depend on itself`);
  up.addDownstreamId(down.taskId);
  down.addUpstreamId(up.taskId);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function nonNegativeInt(n: number, field: string): number {
  if (!Number.isInteger(n) || n < 0) throw new DagDefinitionError(`${field} must be a whole number ≥ 0, got ${n}`);
  return n;
}

function positiveInt(n: number, field: string): number {
  if (!Number.isInteger(n) || n < 1) throw new DagDefinitionError(`${field} must be a whole number ≥ 1, got ${n}`);
  return n;
}

/**
 * Wire dependencies in sequence; an array fans out/in: `chain(a, [b, c], d)` is a→b, a→c, b→d, c→d.
 */
export function chain(...steps: DependencyTarget[]): void {
  for (let i = 0; i + 1 < steps.length; i++) {
    const ups = toOperators(steps[i] as DependencyTarget);
    const downs = toOperators(steps[i + 1] as DependencyTarget);
    for (const u of ups) for (const d of downs) link(u, d);
  }
}
