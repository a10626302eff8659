/**
 * SparkKubernetesOperator: runs a Spark application through the kubeflow Spark operator by creating a
 * `SparkApplication` (`sparkoperator.k8s.io/v1beta2`) from `applicationFile` (a YAML/JSON path, or the text
 * itself) or `templateSpec`, in Airflow's template format (`spark:` and `kubernetes:` sections; mapping in
 * ../spark/build.ts). The task follows the application's state to COMPLETED or FAILED (whose errorMessage is
 * the task's failure), streams the driver's log into the task log, fails fast when the driver cannot start,
 * reattaches to its application on a retry and deletes it when done (unless `deleteOnTermination: false`).
 *
 * @example
 * new SparkKubernetesOperator({
 *   taskId: 'pi', applicationFile: 'spark/pi.yaml', image: 'spark:3.5.3',
 *   codePath: 'local:///opt/spark/examples/src/main/python/pi.py', kubernetesConnId: 'k8s_spark',
 * });
 */
import { CapstanError } from '../../core/index.ts';
import type { JsonObject, JsonValue } from '../../core/index.ts';
import { BaseOperator, type TaskOptions } from '../../sdk/baseOperator.ts';
import type { TaskConnection, TaskContext } from '../../sdk/taskContext.ts';
import type { PodIdentity } from '../pod/index.ts';
import type { SparkApplicationOptions } from '../spark/build.ts';
import type { RunSparkOptions, SparkRunResult } from '../spark/runSpark.ts';
import { FAIL_METHOD } from '../../triggers/index.ts';
import { connectCluster, dryRunNamespace, taskIdentity } from './podOperator.ts';

const kube = () => import('./sparkRuntime.ts');

/** Options of {@link SparkKubernetesOperator}. */
export interface SparkKubernetesOperatorOptions extends TaskOptions, SparkApplicationOptions {
  kubernetesConnId?: string;
  /** Seconds the application may stay SUBMITTED before the task fails. Default 600. */
  startupTimeoutSeconds?: number;
  /** Delete the SparkApplication when the task is done. Default true. */
  deleteOnTermination?: boolean;
  /** Stream the driver's log into the task log. Default true. */
  getLogs?: boolean;
  /** Reattach to the task's existing application on a retry. Default true. */
  reattachOnRestart?: boolean;
  /**
   * Wait for the application in the triggerer instead of a worker (the worker slot is freed while Spark
   * runs); the task resumes on a worker to read the driver's log and delete the application. Default false.
   */
  deferrable?: boolean;
}

/** Runs a SparkApplication (see the module doc). Returns the application's final status. */
export class SparkKubernetesOperator extends BaseOperator {
  /** A killed task deletes its Kubernetes object: the task process lives up to this long (ms) to do it. */
  static readonly abortCleanupMs: number = 30_000;
  static override readonly templateFields: readonly string[] = ['applicationFile', 'templateSpec', 'namespace', 'name', 'image', 'codePath', 'kubernetesConnId'];
  readonly operatorName: string = 'SparkKubernetesOperator';
  applicationFile: string | undefined;
  templateSpec: Record<string, unknown> | undefined;
  namespace: string | undefined;
  name: string | undefined;
  image: string | undefined;
  codePath: string | undefined;
  kubernetesConnId: string | undefined;
  readonly options: SparkKubernetesOperatorOptions;

  constructor(options: SparkKubernetesOperatorOptions) {
    super(options);
    this.applicationFile = options.applicationFile;
    this.templateSpec = options.templateSpec;
    this.namespace = options.namespace;
    this.name = options.name;
    this.image = options.image;
    this.codePath = options.codePath;
    this.kubernetesConnId = options.kubernetesConnId;
    this.options = options;
  }

  protected override serializeFields(): JsonObject {
    const o = this.options;
    return JSON.parse(JSON.stringify({
      applicationFile: this.applicationFile, templateSpec: this.templateSpec, namespace: this.namespace, name: this.name, image: this.image,
      codePath: this.codePath, kubernetesConnId: this.kubernetesConnId, randomNameSuffix: o.randomNameSuffix,
      startupTimeoutSeconds: o.startupTimeoutSeconds, deleteOnTermination: o.deleteOnTermination, getLogs: o.getLogs, reattachOnRestart: o.reattachOnRestart,
      deferrable: o.deferrable,
    })) as JsonObject;
  }

  #applicationOptions(): SparkApplicationOptions {
    return { applicationFile: this.applicationFile, templateSpec: this.templateSpec, image: this.image, codePath: this.codePath,
      name: this.name, namespace: this.namespace, randomNameSuffix: this.options.randomNameSuffix };
  }

  /** The SparkApplication this task would create, as YAML (dry run; no cluster is contacted). */
  async dryRun(identity: PodIdentity, connection?: TaskConnection): Promise<string> {
    const { buildSparkApplication, renderPodYaml } = await kube();
    return renderPodYaml(buildSparkApplication(this.#applicationOptions(), {
      identity, defaultNamespace: await dryRunNamespace(this.namespace, connection), randomSuffix: () => 'dryrun00',
    }));
  }

  override async execute(ctx: TaskContext): Promise<JsonValue> {
    const { buildSparkApplication, identityLabels, runSparkApplication, taskPodSelector } = await kube();
    const { clients } = await connectCluster(ctx, this.kubernetesConnId, this.namespace);
    const identity = taskIdentity(ctx);
    const manifest = buildSparkApplication(this.#applicationOptions(), { identity, defaultNamespace: clients.defaultNamespace });
    const o = this.options;
    const reattachSelector = o.reattachOnRestart === false ? undefined : taskPodSelector(identityLabels(identity));
    if (o.deferrable === true) {
      const { createOrReattachSparkApplication, SparkApplicationTrigger } = await kube();
      const { application, reattached } = await createOrReattachSparkApplication(clients, manifest, reattachSelector);
      const name = application.metadata?.name ?? '';
      const namespace = application.metadata?.namespace ?? clients.defaultNamespace;
      ctx.log.info(`${reattached ? 'reattached to existing' : 'created'} spark application ${namespace}/${name}; deferring to the triggerer until it ends`);
      this.defer({
        trigger: new SparkApplicationTrigger({ kubernetesConnId: this.kubernetesConnId ?? null, namespace, name, uid: application.metadata?.uid ?? '',
          startupTimeoutSeconds: o.startupTimeoutSeconds ?? 600 }),
        method: 'executeComplete',
        kwargs: { name, namespace },
      });
    }
    const result = await runSparkApplication(clients, manifest, { ...this.#runOptions(ctx), reattachSelector }, { log: (m) => ctx.log.info(m) });
    return report(result);
  }

  #runOptions(ctx: TaskContext): RunSparkOptions {
    const o = this.options;
    return { startupTimeoutSeconds: o.startupTimeoutSeconds, deleteOnTermination: o.deleteOnTermination, getLogs: o.getLogs, signal: ctx.signal };
  }

  /** Resumes a deferred task once its trigger reported the end: the driver's log, the deletion, success or failure. */
  async executeComplete(ctx: TaskContext, _event: JsonValue, kwargs: JsonObject): Promise<JsonValue> {
    const { readSparkApplication, runSparkApplication } = await kube();
    const name = String(kwargs['name']);
    const namespace = String(kwargs['namespace']);
    const { clients } = await connectCluster(ctx, this.kubernetesConnId, namespace);
    const application = await readSparkApplication(clients, namespace, name);
    if (application === undefined) throw new CapstanError('task_failed', `spark application ${namespace}/${name} was deleted while the task was deferred`);
    const result = await runSparkApplication(clients, application as Record<string, unknown>, { ...this.#runOptions(ctx), existing: application }, { log: (m) => ctx.log.info(m) });
    return report(result);
  }

  /** A deferral that timed out or whose trigger failed deletes the application, then fails. */
  override async resumeExecution(ctx: TaskContext, method: string, event: JsonValue, kwargs: JsonObject): Promise<unknown> {
    if (method === FAIL_METHOD && typeof kwargs['name'] === 'string' && typeof kwargs['namespace'] === 'string') {
      const { deleteSparkApplication } = await kube();
      const { clients } = await connectCluster(ctx, this.kubernetesConnId, kwargs['namespace']);
      ctx.log.info(`deferral ended without the application's end: deleting spark application ${kwargs['namespace']}/${kwargs['name']}`);
      await deleteSparkApplication(clients, kwargs['namespace'], kwargs['name']).catch((e: unknown) => ctx.log.warn(`could not delete the application: ${String(e)}`));
    }
    return super.resumeExecution(ctx, method, event, kwargs);
  }
}

function report(result: SparkRunResult): JsonValue {
  if (result.outcome.kind === 'failure') throw new CapstanError('task_failed', result.outcome.message);
  return JSON.parse(JSON.stringify({ name: result.name, namespace: result.namespace, status: result.application?.status ?? null })) as JsonValue;
}
