/**
 * KubernetesPodOperator: runs a task as a pod. The pieces are the pure pod builder (`../pod`), the client
 * layer (`../client.ts`, `../connection.ts`) and the pod lifecycle (`../lifecycle`); this class only
 * connects them to the task: it resolves the cluster from a connection, builds the manifest with the
 * task's identity labels, runs the pod with the task's abort signal (a killed task deletes its pod) and
 * maps the pod's end to the task's outcome. On a retry it reattaches to the task's still-running pod
 * instead of creating a second one.
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
import type { V1Pod } from '@kubernetes/client-node';
import { CapstanError, TaskSkipped } from '../../core/errors.ts';
import type { JsonObject, JsonValue } from '../../core/serialized.ts';
import { BaseOperator, type TaskOptions } from '../../sdk/baseOperator.ts';
import type { TaskConnection, TaskContext } from '../../sdk/taskContext.ts';
import type { Connection } from '../../store/connections.ts';
import type { KubeClients } from '../clients.ts';
import type { KubernetesConnection } from '../connection.ts';
import type { OnFinishAction, PodLifecycleCallbacks, XcomSidecarOptions } from '../lifecycle/index.ts';
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
  /** Exit codes of the base container that skip the task instead of failing it. */
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

  /** The exact manifest this task would create for `identity` (dry run; no cluster is contacted). */
  async renderPod(identity: PodIdentity, connection?: TaskConnection): Promise<V1Pod> {
    const { buildPod, parseKubernetesConnection, podMutationHookFromEnvironment, resolveNamespace } = await kube();
    const kubeConn = connection ? parseKubernetesConnection(toConnection(connection)) : undefined;
    return buildPod(this.podOptions, {
      identity,
      podMutationHook: await podMutationHookFromEnvironment(),
      defaultNamespace: resolveNamespace({ operatorNamespace: this.podOptions.namespace, connection: kubeConn }),
      randomSuffix: () => 'dryrun00',
    });
  }

  /** The manifest as YAML, as `capstan tasks render-pod` prints it. */
  async dryRun(identity: PodIdentity, connection?: TaskConnection): Promise<string> {
    return (await kube()).renderPodYaml(await this.renderPod(identity, connection));
  }

  override async execute(ctx: TaskContext): Promise<JsonValue | undefined> {
    const { buildPod, identityLabels, podMutationHookFromEnvironment, runPod, taskPodSelector } = await kube();
    const r = this.runOptions;
    const { clients, connection: kubeConn } = await connectCluster(ctx, r.kubernetesConnId, this.podOptions.namespace);
    const identity = taskIdentity(ctx);
    // kubernetes.podMutationHook reaches task processes through its CAPSTAN__… variable (set by the executors).
    const manifest = buildPod(this.podOptions, { identity, defaultNamespace: clients.defaultNamespace, podMutationHook: await podMutationHookFromEnvironment() });
    const skip = r.skipOnExitCode === undefined ? undefined : Array.isArray(r.skipOnExitCode) ? r.skipOnExitCode : [r.skipOnExitCode];
    const sidecar = r.xcomSidecar ?? (kubeConn?.xcomSidecarImage ? { image: kubeConn.xcomSidecarImage } : undefined);
    const result = await runPod(
      clients,
      manifest,
      {
        reattachSelector: taskPodSelector(identityLabels(identity)),
        signal: ctx.signal,
        ...(r.onFinishAction ? { onFinishAction: r.onFinishAction } : {}),
        ...(r.scheduleTimeoutSeconds === undefined ? {} : { scheduleTimeoutSeconds: r.scheduleTimeoutSeconds }),
        ...(r.startupTimeoutSeconds === undefined ? {} : { startupTimeoutSeconds: r.startupTimeoutSeconds }),
        ...(skip ? { skipOnExitCode: skip } : {}),
        ...(r.doXcomPush ? { doXcomPush: true } : {}),
        ...(sidecar ? { xcom: sidecar } : {}),
        ...(r.containerLogs === undefined ? {} : { logContainers: r.containerLogs }),
        ...(r.terminationGracePeriodOnKill === undefined ? {} : { deleteGracePeriodSeconds: r.terminationGracePeriodOnKill }),
        ...(r.podCallbacks ? { callbacks: r.podCallbacks } : {}),
      },
      { log: (m) => ctx.log.info(m) },
    );
    const outcome = result.outcome;
    switch (outcome.kind) {
      case 'success':
        return r.doXcomPush ? ((result.xcom ?? null) as JsonValue) : undefined;
      case 'skip':
        throw new TaskSkipped(outcome.message);
      case 'failure':
        throw new CapstanError('task_failed', `pod ${result.namespace}/${result.name}: ${outcome.message}`);
    }
  }
}

/** The task-facing connection shape as the store's `Connection`. */
export function toConnection(c: TaskConnection): Connection {
  return { ...c, description: null, extra: c.extra as Connection['extra'] };
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
