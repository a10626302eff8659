/**
 * KubernetesPodOperator: runs a task as a pod. The pieces are the pure pod builder (`../pod`), the client
 * layer (`../client/client.ts`, `../client/connection.ts`) and the pod lifecycle (`../lifecycle`); this class only
 * connects them to the task: it resolves the cluster from a connection, builds the manifest with the
 * task's identity labels, runs the pod with the task's abort signal (a killed task deletes its pod) and
 * maps the pod's end to the task's outcome. On a retry it reattaches to the task's still-running pod
 * instead of creating a second one. With `deferrable: true` it creates the pod, defers to
 * `KubernetesPodTrigger` (the triggerer watches the pod; the worker slot is free) and finishes in
 * `executeComplete` with the same code as sync mode (docs/kubernetes/deferrable.md).
 *
 * @example
 * new KubernetesPodOperator({
 *   taskId: 'transform',
 *   image: 'python:3.12-slim',
 *   cmds: ['python', '-c'],
 *   arguments: ['print("hello from a pod")'],
 *   kubernetesConnId: 'k8s_prod',
 *   doXcomPush: false,
 * });
 */
import type { V1Pod, V1ResourceRequirements } from '@kubernetes/client-node';
import { CapstanError, TaskFailedWith, TaskSkipped } from '../../core/index.ts';
import type { Connection, JsonObject, JsonValue } from '../../core/index.ts';
import { BaseOperator, type TaskOptions } from '../../sdk/baseOperator.ts';
import type { TaskConnection, TaskContext } from '../../sdk/taskContext.ts';
import type { KubeClients } from '../client/clients.ts';
import type { KubernetesConnection } from '../client/connection.ts';
import type { LogCursorState, OnFinishAction, PodEnd, PodLifecycleCallbacks, PodRunResult, RunPodOptions, XcomSidecarOptions } from '../lifecycle/index.ts';
import { failureOfPodTask, toTaskOutcome } from '../lifecycle/podEnd.ts'; // pure and light, unlike the lifecycle index
import { FAIL_METHOD } from '../../triggers/index.ts';
import type { PodIdentity, PodOptions } from '../pod/index.ts';
import { POD_TEMPLATE_FIELDS } from '../pod/options.ts';

/**
 * The Kubernetes client library takes ~300 ms to load; every DAG file imports `capstan`, so the operator
 * loads it only when a pod is actually built or run.
 */
const kube = () => import('./podRuntime.ts');

/** Everything the operator takes: the task options, every pod parameter, and how the pod is run. */
export interface KubernetesPodOperatorOptions extends TaskOptions, PodOptions {
  /** Connection (type `kubernetes`) naming the cluster; absent: the default kubeconfig / in-cluster account. */
  kubernetesConnId?: string;
  /** Default `delete_pod`. */
  onFinishAction?: OnFinishAction;
  /** Seconds the pod may wait to be scheduled. Default 120. */
  scheduleTimeoutSeconds?: number;
  /** Seconds the base container may take to start once scheduled. Default 120. */
  startupTimeoutSeconds?: number;
  /** Exit codes of the base container that skip the task instead of failing it; `0` included, a pod that succeeded skips (as Airflow's `skip_on_exit_code`). */
  skipOnExitCode?: number | number[];
  /** Read `/airflow/xcom/return.json` from the base container as the task's return value. Default false. */
  doXcomPush?: boolean;
  /** Image and resources of the XCom sidecar (default: the connection's, else a small busybox-like image). */
  xcomSidecar?: XcomSidecarOptions;
  /** Containers whose logs go to the task log (default the base container); false: none. */
  containerLogs?: string[] | false;
  /** Grace period when the task is killed. Default: the pod's own. */
  terminationGracePeriodOnKill?: number;
  /** Lifecycle callbacks (onPodCreation, onPodCompletion, progress, …). */
  podCallbacks?: PodLifecycleCallbacks;
  /**
   * Watch the pod from the triggerer instead of a worker: the worker creates (or reattaches to) the pod,
   * defers, and its slot is free while the pod runs; the task resumes on a worker once the base container
   * ended (or the pod cannot start / timed out) to read the log and the XCom and apply the finish action.
   * See docs/kubernetes/deferrable.md. Default false.
   */
  deferrable?: boolean;
}

const RUN_OPTION_KEYS = [
  'kubernetesConnId',
  'onFinishAction',
  'scheduleTimeoutSeconds',
  'startupTimeoutSeconds',
  'skipOnExitCode',
  'doXcomPush',
  'xcomSidecar',
  'containerLogs',
  'terminationGracePeriodOnKill',
  'podCallbacks',
  'deferrable',
] as const;

/** The options every operator takes (`TaskOptions`); the Kubernetes operators pass the rest to their builders. */
export const TASK_OPTION_KEYS: ReadonlySet<string> = new Set<string>([
  'taskId', 'dag', 'retries', 'retryDelay', 'retryExponentialBackoff', 'maxRetryDelay', 'executionTimeout', 'triggerRule', 'pool', 'poolSlots',
  'priorityWeight', 'dependsOnPast', 'queue', 'owner', 'doc', 'onSuccess', 'onFailure', 'onRetry', 'onExecute', 'executorConfig',
]);

export class KubernetesPodOperator extends BaseOperator {
  /** A killed task deletes its Kubernetes object: the task process lives up to this long (ms) to do it. */
  static readonly abortCleanupMs: number = 30_000;
  static override readonly templateFields: readonly string[] = POD_TEMPLATE_FIELDS;
  readonly operatorName: string = 'KubernetesPodOperator';
  readonly podOptions: PodOptions;
  readonly runOptions: Pick<KubernetesPodOperatorOptions, (typeof RUN_OPTION_KEYS)[number]>;

  constructor(options: KubernetesPodOperatorOptions) {
    super(options);
    const pod: Record<string, unknown> = {};
    const run: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(options)) {
      if ((RUN_OPTION_KEYS as readonly string[]).includes(k)) run[k] = v;
      else if (!TASK_OPTION_KEYS.has(k)) pod[k] = v;
    }
    this.podOptions = pod as PodOptions;
    // Templating reads and writes an operator's templated fields as its own properties; these live in
    // podOptions, so each is exposed as a property backed by it.
    for (const field of POD_TEMPLATE_FIELDS) {
      Object.defineProperty(this, field, {
        get: () => pod[field],
        set: (value: unknown) => {
          pod[field] = value;
        },
        enumerable: false,
        configurable: true,
      });
    }
    this.runOptions = run as Pick<KubernetesPodOperatorOptions, (typeof RUN_OPTION_KEYS)[number]>;
  }

  protected override serializeFields(): JsonObject {
    const { podCallbacks: _callbacks, ...run } = this.runOptions;
    return JSON.parse(JSON.stringify({ pod: this.podOptions, run })) as JsonObject;
  }

  /**
   * The exact manifest this task would create for `identity` (dry run; no cluster is contacted): built by the
   * same code as `execute`'s, so it carries the XCom sidecar and volume when `doXcomPush` is set.
   */
  async renderPod(identity: PodIdentity, connection?: TaskConnection): Promise<V1Pod> {
    const { parseKubernetesConnection, resolveNamespace } = await kube();
    const kubeConn = connection ? parseKubernetesConnection(toConnection(connection)) : undefined;
    const defaultNamespace = resolveNamespace({ operatorNamespace: this.podOptions.namespace, connection: kubeConn });
    return this.#manifest(identity, defaultNamespace, kubeConn, () => 'dryrun00');
  }

  /** The task's pod: the pod builder's manifest (mutation hook included), then the XCom sidecar for `doXcomPush`. */
  async #manifest(identity: PodIdentity, defaultNamespace: string, kubeConn: KubernetesConnection | undefined, randomSuffix?: () => string): Promise<V1Pod> {
    const { buildPod, podMutationHookFromEnvironment, withXcomSidecar } = await kube();
    // kubernetes.podMutationHook reaches task processes through its CAPSTAN__… variable (set by the executors).
    const pod = buildPod(this.podOptions, { identity, defaultNamespace, podMutationHook: await podMutationHookFromEnvironment(), randomSuffix });
    return this.runOptions.doXcomPush === true ? withXcomSidecar(pod, xcomSidecarOptions(this.runOptions.xcomSidecar, kubeConn)) : pod;
  }

  /** The manifest as YAML, as `capstan tasks render-pod` prints it. */
  async dryRun(identity: PodIdentity, connection?: TaskConnection): Promise<string> {
    return (await kube()).renderPodYaml(await this.renderPod(identity, connection));
  }

  override async execute(ctx: TaskContext): Promise<JsonValue | undefined> {
    const { runPod, startPod } = await kube();
    const r = this.runOptions;
    const { clients, connection: kubeConn } = await connectCluster(ctx, r.kubernetesConnId, this.podOptions.namespace);
    const manifest = await this.#manifest(taskIdentity(ctx), clients.defaultNamespace, kubeConn);
    const options = await this.#runPodOptions(ctx, kubeConn);
    const sink = { log: (m: string) => ctx.log.info(m) };
    if (r.deferrable !== true) return this.#report(await runPod(clients, manifest, options, sink));

    const { KubernetesPodTrigger } = await kube();
    const started = await startPod(clients, manifest, options, sink);
    const uid = started.pod.metadata?.uid ?? '';
    ctx.log.info(`deferring: the triggerer watches pod ${started.namespace}/${started.name} until its base container ends; this worker slot is free meanwhile`);
    this.defer({
      trigger: new KubernetesPodTrigger({
        kubernetesConnId: r.kubernetesConnId ?? null,
        namespace: started.namespace,
        name: started.name,
        uid,
        scheduleTimeoutSeconds: r.scheduleTimeoutSeconds ?? 120,
        startupTimeoutSeconds: r.startupTimeoutSeconds ?? 120,
        deleteGracePeriodSeconds: r.terminationGracePeriodOnKill ?? null,
        watchTimeoutSeconds: 300,
        tryKey: `${ctx.dagId}/${ctx.runId}/${ctx.taskId}${ctx.mapIndex >= 0 ? `[${ctx.mapIndex}]` : ''} try ${ctx.tryNumber}`,
        logContainers: r.containerLogs === false ? [] : [...(r.containerLogs ?? ['base'])],
      }),
      method: 'executeComplete',
      kwargs: { name: started.name, namespace: started.namespace, uid },
    });
  }

  /**
   * Resumes a deferrable task once the trigger reported the pod's end (`event.end`): the rest of the followed
   * containers' logs (after what the trigger streamed while deferred, `event.logs`) into the task log, `onOperatorResuming`, `onPodCompletion`, the XCom, `onPodTeardown`,
   * the finish action and `onPodCleanup`, and the outcome judged by the same code as sync mode.
   */
  async executeComplete(ctx: TaskContext, event: JsonValue, kwargs: JsonObject): Promise<JsonValue | undefined> {
    const { followPod, invokeCallback } = await kube();
    const name = String(kwargs['name']);
    const namespace = String(kwargs['namespace']);
    const end = (event as { end?: PodEnd } | null)?.end;
    if (end === undefined) throw new CapstanError('task_failed', `pod ${namespace}/${name}: the trigger's event carries no pod end: ${JSON.stringify(event)}`);
    const { clients, connection } = await connectCluster(ctx, this.runOptions.kubernetesConnId, namespace);
    let pod: V1Pod;
    try {
      pod = await clients.core.readNamespacedPod({ namespace, name });
    } catch (error) {
      if ((error as { code?: unknown }).code !== 404) throw error;
      const outcome = toTaskOutcome(end.kind === 'succeeded' ? { kind: 'deleted' } : end, { podName: name });
      throw new CapstanError('task_failed', `pod ${namespace}/${name} is gone (its logs and XCom with it): ${outcome.kind === 'failure' ? outcome.message : end.kind}`);
    }
    if (pod.metadata?.uid !== kwargs['uid']) throw new CapstanError('task_failed', `pod ${namespace}/${name} was replaced while the task was deferred (uid ${String(pod.metadata?.uid)}, expected ${String(kwargs['uid'])})`);
    const options = await this.#runPodOptions(ctx, connection);
    const log = (m: string): void => ctx.log.info(m);
    log(`resumed: pod ${namespace}/${name} ended (${end.kind}) while the task was deferred`);
    await invokeCallback(options.callbacks, 'onOperatorResuming', { pod, client: clients.core, mode: 'deferred', event: event as Record<string, unknown> }, log);
    // The trigger streamed the logs into the task log while deferred: read on from where it stopped.
    const streamed = event as { logs?: Record<string, LogCursorState>; logTail?: string[] };
    const logs = { ...(streamed.logs === undefined ? {} : { logCursors: streamed.logs }), ...(Array.isArray(streamed.logTail) ? { logTail: streamed.logTail } : {}) };
    return this.#report(await followPod(clients, { pod, name, namespace, reattached: true }, { ...options, knownEnd: end, ...logs }, { log }));
  }

  /** A deferral that timed out or whose trigger failed deletes the pod (as a killed task does), then fails. */
  override async resumeExecution(ctx: TaskContext, method: string, event: JsonValue, kwargs: JsonObject): Promise<unknown> {
    if (method === FAIL_METHOD && typeof kwargs['name'] === 'string' && typeof kwargs['namespace'] === 'string') {
      const { deletePod } = await kube();
      const { clients } = await connectCluster(ctx, this.runOptions.kubernetesConnId, kwargs['namespace']);
      ctx.log.info(`the deferral ended without the pod's end: deleting pod ${kwargs['namespace']}/${kwargs['name']}`);
      await deletePod(clients.core, kwargs['namespace'], kwargs['name'], this.runOptions.terminationGracePeriodOnKill)
        .catch((e: unknown) => ctx.log.warn(`could not delete the pod (delete it by hand): ${e instanceof Error ? e.message : String(e)}`));
    }
    return super.resumeExecution(ctx, method, event, kwargs);
  }

  async #runPodOptions(ctx: TaskContext, kubeConn: KubernetesConnection | undefined): Promise<RunPodOptions> {
    const { identityLabels, taskPodSelector } = await kube();
    const r = this.runOptions;
    const skip = this.#skipCodes();
    const sidecar = xcomSidecarOptions(r.xcomSidecar, kubeConn);
    return {
      reattachSelector: taskPodSelector(identityLabels(taskIdentity(ctx))),
      signal: ctx.signal,
      mode: r.deferrable === true ? 'deferred' : 'sync',
      ...(r.onFinishAction ? { onFinishAction: r.onFinishAction } : {}),
      ...(r.scheduleTimeoutSeconds === undefined ? {} : { scheduleTimeoutSeconds: r.scheduleTimeoutSeconds }),
      ...(r.startupTimeoutSeconds === undefined ? {} : { startupTimeoutSeconds: r.startupTimeoutSeconds }),
      ...(skip ? { skipOnExitCode: skip } : {}),
      ...(r.doXcomPush ? { doXcomPush: true } : {}),
      ...(sidecar ? { xcom: sidecar } : {}),
      ...(r.containerLogs === undefined ? {} : { logContainers: r.containerLogs }),
      ...(r.terminationGracePeriodOnKill === undefined ? {} : { deleteGracePeriodSeconds: r.terminationGracePeriodOnKill }),
      ...(r.podCallbacks ? { callbacks: r.podCallbacks } : {}),
    };
  }

  #skipCodes(): number[] | undefined {
    const codes = this.runOptions.skipOnExitCode;
    return codes === undefined ? undefined : Array.isArray(codes) ? codes : [codes];
  }

  /**
   * How this task ends when its pod `namespace/podName` ended as `end` (`xcom`: what its sidecar returned): the
   * task's return value, or a thrown `TaskSkipped` / `TaskFailedWith` — the judgement `execute` applies.
   * `simulatePodOutcome` in capstan/testing runs it without a cluster.
   */
  judgePodEnd(end: PodEnd, pod: { name: string; namespace: string }, xcom?: unknown): JsonValue | undefined {
    const skip = this.#skipCodes();
    const outcome = toTaskOutcome(end, { podName: pod.name, ...(skip ? { skipOnExitCode: skip } : {}) });
    return this.#report({ name: pod.name, namespace: pod.namespace, reattached: false, end, outcome, xcom, pod: undefined });
  }

  /** The task's outcome from the pod's: the same in sync mode and on resume. */
  #report(result: PodRunResult): JsonValue | undefined {
    const outcome = result.outcome;
    switch (outcome.kind) {
      case 'success':
        return this.runOptions.doXcomPush === true ? ((result.xcom ?? null) as JsonValue) : undefined;
      case 'skip':
        throw new TaskSkipped(outcome.message);
      case 'failure':
        // The pod end decides the try's failure kind: an OOM-killed or evicted pod is the platform's failure.
        throw new TaskFailedWith(failureOfPodTask(result.end, outcome, `pod ${result.namespace}/${result.name}: ${outcome.message}`));
    }
  }
}

/** The task-facing connection shape as the store's `Connection`. */
export function toConnection(c: TaskConnection): Connection {
  return { ...c, description: null, extra: c.extra as Connection['extra'] };
}

/**
 * The XCom sidecar of a task: the operator's `xcomSidecar`, else the connection's image and resources
 * (`xcomSidecarImage`, `xcomSidecarResources`), else the defaults of `withXcomSidecar`.
 */
export function xcomSidecarOptions(own: XcomSidecarOptions | undefined, connection: KubernetesConnection | undefined): XcomSidecarOptions | undefined {
  if (own !== undefined) return own;
  const fromConnection: XcomSidecarOptions = {
    ...(connection?.xcomSidecarImage ? { image: connection.xcomSidecarImage } : {}),
    ...(connection?.xcomSidecarResources ? { resources: connection.xcomSidecarResources as V1ResourceRequirements } : {}),
  };
  return Object.keys(fromConnection).length > 0 ? fromConnection : undefined;
}

/** The identity a task's Kubernetes objects are labelled with. */
export function taskIdentity(ctx: TaskContext): PodIdentity {
  return { dagId: ctx.dagId, taskId: ctx.taskId, runId: ctx.runId, tryNumber: ctx.tryNumber, mapIndex: ctx.mapIndex };
}

/**
 * The cluster of a Kubernetes operator's task: the connection `connId` (type `kubernetes`; absent: the default
 * kubeconfig / in-cluster account), its client tuning, and the namespace (operator → connection → in-cluster
 * file → `default`). Shared by every Kubernetes operator, so they all reach clusters the same way.
 */
export async function connectCluster(ctx: TaskContext, connId: string | undefined, operatorNamespace: string | undefined): Promise<{ clients: KubeClients; connection: KubernetesConnection | undefined }> {
  const { createKubeClients, parseKubernetesConnection, resolveKubeConfig, resolveNamespace } = await kube();
  const connection = connId === undefined ? undefined : parseKubernetesConnection(toConnection(await ctx.getConnection(connId)));
  const clients = createKubeClients(resolveKubeConfig(connection), {
    ...(connection?.qps === undefined ? {} : { qps: connection.qps }),
    ...(connection?.burst === undefined ? {} : { burst: connection.burst }),
    ...(connection?.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: connection.requestTimeoutMs }),
    defaultNamespace: resolveNamespace({ operatorNamespace, connection }),
  });
  return { clients, connection };
}

/** The namespace a dry run names: operator → connection → in-cluster file → `default` (no cluster contacted). */
export async function dryRunNamespace(operatorNamespace: string | undefined, connection: TaskConnection | undefined): Promise<string> {
  const { parseKubernetesConnection, resolveNamespace } = await kube();
  const kubeConn = connection ? parseKubernetesConnection(toConnection(connection)) : undefined;
  return resolveNamespace({ operatorNamespace, connection: kubeConn });
}
