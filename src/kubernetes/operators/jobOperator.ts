/**
 * KubernetesJobOperator and its companions (KubernetesDeleteJobOperator, KubernetesPatchJobOperator).
 *
 * The Job operator runs a task as a Kubernetes Job: the pure builder (`../job/build.ts`, over the pod builder,
 * so every pod parameter of the KubernetesPodOperator applies to the Job's pods) makes the manifest, and
 * `runJob` (`../job/runJob.ts`) creates it — or reattaches to the task's Job left by an earlier try —, watches
 * its conditions and every pod it starts (logs with pod-name prefixes, XCom per pod), and deletes it per the
 * finish action, or with the kill propagation policy when the task is killed.
 *
 * XComs: `return_value` (with `doXcomPush`: one value for a one-completion Job, else a list in completion-index
 * order), `job` (the Job's final status), `job_name` and `job_namespace`.
 *
 * @example
 * new KubernetesJobOperator({
 *   taskId: 'shards', image: 'python:3.13-slim', cmds: ['python', 'shard.py'],
 *   completions: 3, parallelism: 2, completionMode: 'Indexed', backoffLimit: 2,
 *   doXcomPush: true, kubernetesConnId: 'k8s_prod',
 * });
 */
import type { V1Job } from '@kubernetes/client-node';
import { CapstanError, InvalidArgument } from '../../core/index.ts';
import type { JsonObject, JsonValue } from '../../core/index.ts';
import { BaseOperator, type TaskOptions } from '../../sdk/baseOperator.ts';
import type { TaskConnection, TaskContext } from '../../sdk/taskContext.ts';
import type { JobRunResult, RunJobOptions } from '../job/runJob.ts';
import type { JobFinishAction, JobOptions, PropagationPolicy } from '../job/options.ts';
import { FAIL_METHOD } from '../../triggers/index.ts';
import { JOB_FINISH_ACTIONS, JOB_TEMPLATE_FIELDS } from '../job/options.ts';
import type { XcomSidecarOptions } from '../lifecycle/index.ts';
import type { KubernetesConnection } from '../client/connection.ts';
import type { PodIdentity } from '../pod/index.ts';
import { POD_TEMPLATE_FIELDS } from '../pod/options.ts';
import { connectCluster, dryRunNamespace, taskIdentity, TASK_OPTION_KEYS, toConnection, xcomSidecarOptions } from './podOperator.ts';

const kube = () => import('./jobRuntime.ts');

/** Everything the Job operator takes: task options, pod and Job parameters, and how the Job is run. */
export interface KubernetesJobOperatorOptions extends TaskOptions, JobOptions {
  kubernetesConnId?: string;
  /**
   * Wait for the Job to finish (default true; Airflow's default is false). With false the task creates the
   * Job, pushes `job_name` / `job_namespace` and succeeds; the finish action then does not apply.
   */
  waitUntilJobComplete?: boolean;
  /** Default `delete_job`. */
  onFinishAction?: JobFinishAction;
  /** Propagation of the finish action's deletion (default Background). */
  deletePropagationPolicy?: PropagationPolicy;
  /** Propagation when the task is killed (default Foreground, as Airflow's `on_kill_propagation_policy`). */
  onKillPropagationPolicy?: PropagationPolicy;
  /** Read each successful pod's `/airflow/xcom/return.json`. Default false. */
  doXcomPush?: boolean;
  xcomSidecar?: XcomSidecarOptions;
  /** Containers of each pod whose logs go to the task log (default the base container); false: none. */
  containerLogs?: string[] | false;
  /** Fail at once when a pod of the Job cannot start (image pull, container config). Default true. */
  failOnPodStartError?: boolean;
  /**
   * Wait for the Job in the triggerer instead of a worker (the worker slot is freed while the Job runs);
   * the task resumes on a worker to read the pods' logs and XComs. Default false.
   */
  deferrable?: boolean;
}

const RUN_OPTION_KEYS = [
  'kubernetesConnId', 'waitUntilJobComplete', 'onFinishAction', 'deletePropagationPolicy', 'onKillPropagationPolicy',
  'doXcomPush', 'xcomSidecar', 'containerLogs', 'failOnPodStartError', 'deferrable',
] as const;
type RunOptions = Pick<KubernetesJobOperatorOptions, (typeof RUN_OPTION_KEYS)[number]>;

const PROPAGATION = new Set<string>(['Foreground', 'Background', 'Orphan']);

function checkPropagation(value: unknown, field: string): void {
  if (value !== undefined && !PROPAGATION.has(String(value))) throw new InvalidArgument(`${field}: '${String(value)}' is not one of Foreground, Background, Orphan`);
}

/** Exposes `fields` of `store` as properties of `target` (templating reads and writes an operator's own properties). */
function exposeFields(target: object, store: Record<string, unknown>, fields: readonly string[]): void {
  for (const field of fields) {
    Object.defineProperty(target, field, {
      get: () => store[field],
      set: (value: unknown) => { store[field] = value; },
      enumerable: false,
      configurable: true,
    });
  }
}

/** Runs a task as a Kubernetes Job (see the module doc). */
export class KubernetesJobOperator extends BaseOperator {
  /** A killed task deletes its Kubernetes object: the task process lives up to this long (ms) to do it. */
  static readonly abortCleanupMs: number = 30_000;
  static override readonly templateFields: readonly string[] = [...POD_TEMPLATE_FIELDS, ...JOB_TEMPLATE_FIELDS];
  readonly operatorName: string = 'KubernetesJobOperator';
  readonly jobOptions: JobOptions;
  readonly runOptions: RunOptions;

  constructor(options: KubernetesJobOperatorOptions) {
    super(options);
    const job: Record<string, unknown> = {};
    const run: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(options)) {
      if ((RUN_OPTION_KEYS as readonly string[]).includes(k)) run[k] = v;
      else if (!TASK_OPTION_KEYS.has(k)) job[k] = v;
    }
    if (run['onFinishAction'] !== undefined && !(JOB_FINISH_ACTIONS as readonly unknown[]).includes(run['onFinishAction'])) {
      throw new InvalidArgument(`onFinishAction: '${String(run['onFinishAction'])}' is not one of ${JOB_FINISH_ACTIONS.join(', ')}`);
    }
    checkPropagation(run['deletePropagationPolicy'], 'deletePropagationPolicy');
    checkPropagation(run['onKillPropagationPolicy'], 'onKillPropagationPolicy');
    this.jobOptions = job as JobOptions;
    this.runOptions = run as RunOptions;
    exposeFields(this, job, KubernetesJobOperator.templateFields);
  }

  protected override serializeFields(): JsonObject {
    return JSON.parse(JSON.stringify({ job: this.jobOptions, run: this.runOptions })) as JsonObject;
  }

  /**
   * The exact Job manifest this task would create for `identity` (dry run; no cluster is contacted): built by
   * the same code as `execute`'s, so it carries the XCom sidecar when `doXcomPush` is set.
   */
  async renderJob(identity: PodIdentity, connection?: TaskConnection): Promise<V1Job> {
    const { parseKubernetesConnection } = await kube();
    const kubeConn = connection ? parseKubernetesConnection(toConnection(connection)) : undefined;
    return this.#manifest(identity, await dryRunNamespace(this.jobOptions.namespace, connection), kubeConn, () => 'dryrun00');
  }

  /**
   * The task's Job: the Job builder's manifest, with the XCom sidecar in its pod template when `doXcomPush` is
   * set and the task waits for the Job (only then are XComs read).
   */
  async #manifest(identity: PodIdentity, defaultNamespace: string, kubeConn: KubernetesConnection | undefined, randomSuffix?: () => string): Promise<V1Job> {
    const { buildJob, withJobXcomSidecar } = await kube();
    const job = buildJob(this.jobOptions, { identity, defaultNamespace, randomSuffix });
    const r = this.runOptions;
    return r.doXcomPush === true && r.waitUntilJobComplete !== false ? withJobXcomSidecar(job, xcomSidecarOptions(r.xcomSidecar, kubeConn)) : job;
  }

  /** The manifest as YAML. */
  async dryRun(identity: PodIdentity, connection?: TaskConnection): Promise<string> {
    return (await kube()).renderPodYaml((await this.renderJob(identity, connection)) as unknown as Record<string, unknown>);
  }

  override async execute(ctx: TaskContext): Promise<JsonValue | undefined> {
    const { createOrReattachJob, identityLabels, runJob, taskPodSelector } = await kube();
    const r = this.runOptions;
    const { clients, connection } = await connectCluster(ctx, r.kubernetesConnId, this.jobOptions.namespace);
    const identity = taskIdentity(ctx);
    const manifest = await this.#manifest(identity, clients.defaultNamespace, connection);
    if (r.waitUntilJobComplete === false) {
      // A retry finds the Job an earlier try created rather than starting the workload again.
      const namespace = manifest.metadata?.namespace ?? clients.defaultNamespace;
      const { job: created, reattached } = await createOrReattachJob(clients, namespace, manifest, taskPodSelector(identityLabels(identity)));
      ctx.log.info(`${reattached ? 'found existing' : 'created'} job ${created.metadata?.namespace}/${created.metadata?.name} (not waiting for it)`);
      await ctx.xcomPush('job_name', created.metadata?.name ?? null);
      await ctx.xcomPush('job_namespace', created.metadata?.namespace ?? null);
      return undefined;
    }
    const sidecar = xcomSidecarOptions(r.xcomSidecar, connection);
    // The XCom sidecar is a native sidecar: on a cluster older than 1.29 the Job's pods would never start.
    if (r.doXcomPush === true) await (await kube()).requireNativeSidecars(clients);
    if (r.deferrable === true) {
      const { createOrReattachJob, KubernetesJobTrigger, selectorString } = await kube();
      const namespace = manifest.metadata?.namespace ?? clients.defaultNamespace;
      const { job, reattached } = await createOrReattachJob(clients, namespace, { ...manifest, metadata: { ...manifest.metadata, namespace } }, taskPodSelector(identityLabels(identity)));
      const name = job.metadata?.name ?? '';
      ctx.log.info(`${reattached ? 'reattached to existing' : 'created'} job ${namespace}/${name}; deferring to the triggerer until it ends`);
      this.defer({
        trigger: new KubernetesJobTrigger({
          kubernetesConnId: r.kubernetesConnId ?? null, namespace, name, uid: job.metadata?.uid ?? '',
          podSelector: selectorString(job.spec?.selector), failOnPodStartError: r.failOnPodStartError !== false,
          onKillPropagationPolicy: r.onKillPropagationPolicy ?? 'Foreground',
        }),
        method: 'executeComplete',
        kwargs: { name, namespace },
      });
    }
    const result = await runJob(clients, manifest, this.#runJobOptions(ctx, sidecar, taskPodSelector(identityLabels(identity))), { log: (m) => ctx.log.info(m) });
    return this.#report(ctx, result);
  }

  #runJobOptions(ctx: TaskContext, sidecar: XcomSidecarOptions | undefined, reattachSelector: string | undefined): RunJobOptions {
    const r = this.runOptions;
    return {
      reattachSelector,
      signal: ctx.signal,
      onFinishAction: r.onFinishAction,
      deletePropagationPolicy: r.deletePropagationPolicy,
      onKillPropagationPolicy: r.onKillPropagationPolicy,
      doXcomPush: r.doXcomPush,
      xcom: sidecar,
      logContainers: r.containerLogs,
      failOnPodStartError: r.failOnPodStartError,
    };
  }

  /**
   * Resumes a deferred task once its trigger reported the Job's end: follows the ended Job like the sync path
   * does after its end (every pod's log, the XComs, the `job` XCom, the finish action) and succeeds or fails.
   */
  async executeComplete(ctx: TaskContext, _event: JsonValue, kwargs: JsonObject): Promise<JsonValue | undefined> {
    const { runJob } = await kube();
    const name = String(kwargs['name']);
    const namespace = String(kwargs['namespace']);
    const { clients, connection } = await connectCluster(ctx, this.runOptions.kubernetesConnId, namespace);
    let job: V1Job;
    try {
      job = await clients.batch.readNamespacedJob({ namespace, name });
    } catch (error) {
      if ((error as { code?: unknown }).code === 404) throw new CapstanError('task_failed', `job ${namespace}/${name} was deleted while the task was deferred`);
      throw error;
    }
    const sidecar = xcomSidecarOptions(this.runOptions.xcomSidecar, connection);
    const result = await runJob(clients, job, { ...this.#runJobOptions(ctx, sidecar, undefined), existing: job }, { log: (m) => ctx.log.info(m) });
    return this.#report(ctx, result);
  }

  /** A deferral that timed out or whose trigger failed deletes the Job (as a killed task does), then fails. */
  override async resumeExecution(ctx: TaskContext, method: string, event: JsonValue, kwargs: JsonObject): Promise<unknown> {
    if (method === FAIL_METHOD && typeof kwargs['name'] === 'string' && typeof kwargs['namespace'] === 'string') {
      const { deleteJob } = await kube();
      const { clients } = await connectCluster(ctx, this.runOptions.kubernetesConnId, kwargs['namespace']);
      const policy = this.runOptions.onKillPropagationPolicy ?? 'Foreground';
      ctx.log.info(`deferral ended without the Job's end: deleting job ${kwargs['namespace']}/${kwargs['name']} (propagation ${policy})`);
      await deleteJob(clients, kwargs['namespace'], kwargs['name'], policy).catch((e: unknown) => ctx.log.warn(`could not delete the job: ${String(e)}`));
    }
    return super.resumeExecution(ctx, method, event, kwargs);
  }

  async #report(ctx: TaskContext, result: JobRunResult): Promise<JsonValue | undefined> {
    const { jobStatusValue } = await kube();
    const r = this.runOptions;
    await ctx.xcomPush('job_name', result.name);
    await ctx.xcomPush('job_namespace', result.namespace);
    await ctx.xcomPush('job', jobStatusValue(result.job) as JsonValue);
    if (result.outcome.kind === 'failure') throw new CapstanError('task_failed', result.outcome.message);
    return r.doXcomPush === true ? ((result.xcom ?? null) as JsonValue) : undefined;
  }
}

/** Options of {@link KubernetesDeleteJobOperator}. */
export interface KubernetesDeleteJobOperatorOptions extends TaskOptions {
  /** The Job's name (templated). */
  name: string;
  /** Default: connection → in-cluster namespace → `default` (templated). */
  namespace?: string;
  kubernetesConnId?: string;
  /** Delete only a Job with this condition; otherwise log why and leave it. Default: any state. */
  deleteOnStatus?: 'Complete' | 'Failed';
  /** Wait for the Job to finish (Complete or Failed) before deciding. Default false. */
  waitForCompletion?: boolean;
  /** Default Background. */
  propagationPolicy?: PropagationPolicy;
  /** Wait until the Job object is gone (with Foreground: after its pods). Default true. */
  waitForDeletion?: boolean;
}

/** Deletes a Job, optionally only in a given state, optionally waiting for it to finish and to be gone. Returns whether it deleted. */
export class KubernetesDeleteJobOperator extends BaseOperator {
  static override readonly templateFields: readonly string[] = ['name', 'namespace'];
  readonly operatorName: string = 'KubernetesDeleteJobOperator';
  name: string;
  namespace: string | undefined;
  readonly options: KubernetesDeleteJobOperatorOptions;

  constructor(options: KubernetesDeleteJobOperatorOptions) {
    super(options);
    if (options.deleteOnStatus !== undefined && options.deleteOnStatus !== 'Complete' && options.deleteOnStatus !== 'Failed') {
      throw new InvalidArgument(`deleteOnStatus: '${String(options.deleteOnStatus)}' is not one of Complete, Failed`);
    }
    checkPropagation(options.propagationPolicy, 'propagationPolicy');
    this.name = options.name;
    this.namespace = options.namespace;
    this.options = options;
  }

  protected override serializeFields(): JsonObject {
    const { name: _n, namespace: _ns, ...rest } = this.options;
    return JSON.parse(JSON.stringify({ ...pick(rest, ['kubernetesConnId', 'deleteOnStatus', 'waitForCompletion', 'propagationPolicy', 'waitForDeletion']), name: this.name, namespace: this.namespace ?? null })) as JsonObject;
  }

  override async execute(ctx: TaskContext): Promise<JsonValue> {
    const { deleteJob, jobEnd, watchJob } = await kube();
    const { clients } = await connectCluster(ctx, this.options.kubernetesConnId, this.namespace);
    const namespace = clients.defaultNamespace;
    const log = (m: string): void => ctx.log.info(m);
    const job = await clients.batch.readNamespacedJob({ namespace, name: this.name });
    const watcher = watchJob(clients, namespace, this.name, job, log);
    try {
      let end = jobEnd(watcher.snapshot.object, watcher.snapshot.deleted);
      if (end === undefined && this.options.waitForCompletion === true) {
        log(`waiting for job ${namespace}/${this.name} to finish`);
        end = await watcher.until((s) => jobEnd(s.object, s.deleted), { signal: ctx.signal });
        if (end === undefined) throw new CapstanError('task_failed', `task killed while waiting for job ${this.name}`);
      }
      const want = this.options.deleteOnStatus;
      const state = end?.kind === 'complete' ? 'Complete' : end?.kind === 'failed' ? 'Failed' : end?.kind === 'deleted' ? 'deleted' : 'running';
      if (state === 'deleted') {
        log(`job ${namespace}/${this.name} is already gone`);
        return false;
      }
      if (want !== undefined && state !== want) {
        log(`job ${namespace}/${this.name} is ${state}, not ${want}: not deleted (deleteOnStatus)`);
        return false;
      }
      await deleteJob(clients, namespace, this.name, this.options.propagationPolicy ?? 'Background');
      log(`deleting job ${namespace}/${this.name} (${state})`);
      if (this.options.waitForDeletion !== false) {
        const gone = await watcher.until((s) => (s.deleted ? true : undefined), { signal: ctx.signal });
        if (gone === undefined) throw new CapstanError('task_failed', `task killed while waiting for job ${this.name} to be deleted`);
        log(`job ${namespace}/${this.name} deleted`);
      }
      return true;
    } finally {
      await watcher.stop();
    }
  }
}

/** Options of {@link KubernetesPatchJobOperator}. */
export interface KubernetesPatchJobOperatorOptions extends TaskOptions {
  name: string;
  namespace?: string;
  kubernetesConnId?: string;
  /** A JSON merge patch, e.g. `{ spec: { suspend: false } }` to resume a suspended Job (templated). */
  body: Record<string, unknown>;
}

/** Patches a Job (JSON merge patch), e.g. to suspend or resume it. Returns the patched Job's status. */
export class KubernetesPatchJobOperator extends BaseOperator {
  static override readonly templateFields: readonly string[] = ['name', 'namespace', 'body'];
  readonly operatorName: string = 'KubernetesPatchJobOperator';
  name: string;
  namespace: string | undefined;
  body: Record<string, unknown>;
  readonly kubernetesConnId: string | undefined;

  constructor(options: KubernetesPatchJobOperatorOptions) {
    super(options);
    if (typeof options.body !== 'object' || options.body === null || Array.isArray(options.body)) {
      throw new InvalidArgument('body: must be an object (a JSON merge patch such as { spec: { suspend: true } })');
    }
    this.name = options.name;
    this.namespace = options.namespace;
    this.body = options.body;
    this.kubernetesConnId = options.kubernetesConnId;
  }

  protected override serializeFields(): JsonObject {
    return JSON.parse(JSON.stringify({ name: this.name, namespace: this.namespace ?? null, body: this.body, kubernetesConnId: this.kubernetesConnId ?? null })) as JsonObject;
  }

  override async execute(ctx: TaskContext): Promise<JsonValue> {
    const { jobStatusValue } = await kube();
    const { PatchStrategy, setHeaderOptions } = await import('@kubernetes/client-node');
    const { clients } = await connectCluster(ctx, this.kubernetesConnId, this.namespace);
    const namespace = clients.defaultNamespace;
    const patched = await clients.batch.patchNamespacedJob({ namespace, name: this.name, body: this.body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    ctx.log.info(`patched job ${namespace}/${this.name}: ${JSON.stringify(this.body)}`);
    return jobStatusValue(patched) as JsonValue;
  }
}

function pick<T extends object>(value: T, keys: readonly string[]): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([k]) => keys.includes(k))) as Partial<T>;
}
