/**
 * The worker pod of one task try: pure (apart from reading a per-task template file), unit-tested by golden
 * files. Layers, lowest first (merge rules of src/kubernetes/pod/merge.ts: objects merge key by key, lists
 * replace, `null` deletes, `false`/`0`/`''` are set; containers and init containers merge by name):
 *
 * 1. the template: the task's `executorConfig.podTemplateFile`, else `kubernetesExecutor.podTemplateFile`, else
 *    a bare `base` container;
 * 2. the executor's dynamic pod: `workerContainerImage` (when set) on the `base` container;
 * 3. the task's `executorConfig.podOverride`;
 * 4. what the executor relies on, which nothing above can change: the `base` container's command
 *    (`capstan tasks run --ti-id <id> --api-url <url>`, args removed), the env `CAPSTAN_TASK_TOKEN` (the try's
 *    token), `CAPSTAN_WORKER_POD` and the executor's extra env (`CAPSTAN__KUBERNETES__POD_MUTATION_HOOK`), the name (`<dag>-<task>-<random>`, DNS-1123), the identity labels and
 *    annotations (src/kubernetes/pod/names.ts, kind `worker`), the executor-id label, the `ti-id` annotation,
 *    `restartPolicy: Never`;
 * 5. the pod mutation hook from config (it has the last word), then the pod builder's manifest checks.
 *
 * The namespace is the podOverride's, else — in multi-namespace mode only — the template's, else
 * `kubernetesExecutor.namespace` (as in Airflow, the executor's namespace wins over a template's); it must be one
 * the executor watches, or the build fails (a pod nobody watches would never end its try). The owner label
 * `capstan.dev/executor-id` is the scheduler job id made a valid label value ({@link executorIdLabel}); the
 * annotation of the same key carries the exact id.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { InvalidArgument } from '../../core/index.ts';
import type { JsonObject } from '../../core/index.ts';
import { buildPod, loadPodTemplate, mergeLayers, labelValue } from '../../kubernetes/pods.ts';
import type { Manifest, PodMutationHook } from '../../kubernetes/pods.ts';
import type { TaskWorkload } from '../types.ts';

/** Labels and annotations the executor adds besides the pod builder's identity (`capstan.dev/dag-id`, …). */
export const WORKER_LABELS = {
  /** Which executor owns the pod (its scheduler job id as a label value; exact id in the annotation of the same key); the watch and adoption select on it. */
  executorId: 'capstan.dev/executor-id',
  /** `true` on a finished pod kept for debugging; such pods leave the watch and are never adopted. */
  done: 'capstan.dev/done',
  /** Value of `capstan.dev/kind` on worker pods. */
  kindValue: 'worker',
} as const;

/**
 * The `capstan.dev/executor-id` label value of an executor: its scheduler job id as it is when that is a valid
 * label value, else cleaned and hash-suffixed (≤ 63 characters, stable; src/kubernetes/pod/names.ts). The exact id
 * is the annotation of the same key.
 */
export function executorIdLabel(executorId: string): string {
  return labelValue(executorId);
}

/** The scheduler job id owning a worker pod: the exact id from its annotation, else (older pods) its label. */
export function podOwner(pod: V1Pod): string | undefined {
  return pod.metadata?.annotations?.[WORKER_LABELS.executorId] ?? pod.metadata?.labels?.[WORKER_LABELS.executorId];
}

/** Annotation carrying the task instance id (the rest of the try key is in the identity annotations). */
export const TI_ID_ANNOTATION = 'capstan.dev/ti-id';

/** Environment variable holding the try's Execution API token (what `capstan tasks run` reads). */
export const TASK_TOKEN_ENV = 'CAPSTAN_TASK_TOKEN';

/** Set to `true` in every worker pod, so task code can tell it runs in one. */
export const WORKER_POD_ENV = 'CAPSTAN_WORKER_POD';

/** The worker command contract: what the `base` container runs. */
export function workerCommand(tiId: string, executionApiUrl: string): string[] {
  return ['capstan', 'tasks', 'run', '--ti-id', tiId, '--api-url', executionApiUrl];
}

/** Namespaces the executor watches: a set, or every namespace. */
export type WatchedNamespaces = { kind: 'all' } | { kind: 'list'; namespaces: readonly string[] };

/** Everything a worker pod is built from. */
export interface WorkerPodInput {
  workload: Pick<TaskWorkload, 'tiId' | 'tryNumber' | 'dagId' | 'runId' | 'taskId' | 'mapIndex'>;
  /** The owning executor's id (its scheduler job id). */
  executorId: string;
  executionApiUrl: string;
  /** The try's token (TaskTokenIssuer.issue). */
  token: string;
  /** `kubernetesExecutor.namespace`. */
  namespace: string;
  watched: WatchedNamespaces;
  /** `kubernetesExecutor.multiNamespaceMode`: only then may a template's namespace place the pod. Default false. */
  multiNamespaceMode?: boolean | undefined;
  /** `kubernetesExecutor.workerContainerImage`; empty or absent: the template's. */
  image?: string | undefined;
  /** The parsed `kubernetesExecutor.podTemplateFile` (loaded once at start). */
  baseTemplate?: Manifest | undefined;
  /** The task's serialized `executorConfig`. */
  executorConfig?: JsonObject | undefined;
  podMutationHook?: PodMutationHook | undefined;
  /** Extra env of the base container, over the template's (e.g. the mutation hook's CAPSTAN__ variable). */
  env?: Readonly<Record<string, string>> | undefined;
  /** Pins the name suffix (tests, dry runs). */
  randomSuffix?: (() => string) | undefined;
  readFile?: ((path: string) => string) | undefined;
}

function isObject(value: unknown): value is Manifest {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function namespaceOf(layer: unknown): string | undefined {
  if (!isObject(layer) || !isObject(layer['metadata'])) return undefined;
  const ns = layer['metadata']['namespace'];
  return typeof ns === 'string' && ns !== '' ? ns : undefined;
}

/** True when the executor watches `namespace`. */
export function isWatched(watched: WatchedNamespaces, namespace: string): boolean {
  return watched.kind === 'all' || watched.namespaces.includes(namespace);
}

/**
 * Builds the worker pod of one try.
 *
 * @example
 * const pod = buildWorkerPod({
 *   workload, executorId: jobId, executionApiUrl: 'http://capstan-api:8080', token,
 *   namespace: 'capstan', watched: { kind: 'list', namespaces: ['capstan'] }, image: 'capstan/worker:1.0',
 * });
 */
export function buildWorkerPod(input: WorkerPodInput): V1Pod {
  const { workload: w } = input;
  const config = input.executorConfig ?? {};
  const templateFile = config['podTemplateFile'];
  const template: Manifest = typeof templateFile === 'string'
    ? loadPodTemplate(templateFile, input.readFile)
    : input.baseTemplate ?? {};
  const override = config['podOverride'];
  if (override !== undefined && !isObject(override)) throw new InvalidArgument('executorConfig.podOverride: must be a Pod object');

  const dynamicBase: Manifest = { name: 'base' };
  if (input.image !== undefined && input.image !== '') dynamicBase['image'] = input.image;
  let merged: Manifest;
  try {
    merged = mergeLayers([template, { spec: { containers: [dynamicBase] } }, override]);
  } catch (err) {
    if (err instanceof TypeError) throw new InvalidArgument(`executorConfig.podOverride: ${err.message}`);
    throw err;
  }

  // Airflow's rule: the executor's namespace wins over a template's (a template is often shared between
  // installations); a podOverride is the task's explicit choice. Either way it must be watched.
  const namespace = namespaceOf(override) ?? (input.multiNamespaceMode === true ? namespaceOf(template) : undefined) ?? input.namespace;
  if (!isWatched(input.watched, namespace)) {
    const list = input.watched.kind === 'list' ? input.watched.namespaces.join(', ') : '';
    throw new InvalidArgument(
      `worker pod namespace '${namespace}' is not watched by the KubernetesExecutor (it watches: ${list})`,
      'set kubernetesExecutor.multiNamespaceMode with this namespace in multiNamespaceModeNamespaceList, or use a watched namespace',
    );
  }

  // Layer 4: the base container's command and env are the executor's.
  const spec = isObject(merged['spec']) ? merged['spec'] : {};
  const containers = Array.isArray(spec['containers']) ? (spec['containers'] as Manifest[]) : [];
  const base = containers.find((c) => c['name'] === 'base');
  if (base === undefined) throw new Error('internal: the merged worker pod lost its base container');
  base['command'] = workerCommand(w.tiId, input.executionApiUrl);
  delete base['args'];
  const extra = Object.entries(input.env ?? {}).map(([name, value]) => ({ name, value }));
  const reserved = new Set([TASK_TOKEN_ENV, WORKER_POD_ENV, ...extra.map((e) => e.name)]);
  const env = (Array.isArray(base['env']) ? (base['env'] as Manifest[]) : []).filter((e) => !reserved.has(String(e['name'])));
  base['env'] = [...env, ...extra, { name: TASK_TOKEN_ENV, value: input.token }, { name: WORKER_POD_ENV, value: 'true' }];
  if (isObject(merged['metadata'])) delete merged['metadata']['name'];

  return buildPod(
    {
      podTemplateDict: merged,
      name: `${w.dagId}-${w.taskId}`,
      namespace,
      labels: { [WORKER_LABELS.executorId]: executorIdLabel(input.executorId) },
      annotations: { [TI_ID_ANNOTATION]: w.tiId, [WORKER_LABELS.executorId]: input.executorId },
    },
    {
      identity: { dagId: w.dagId, taskId: w.taskId, runId: w.runId, tryNumber: w.tryNumber, mapIndex: w.mapIndex, kind: WORKER_LABELS.kindValue },
      podMutationHook: input.podMutationHook,
      randomSuffix: input.randomSuffix,
      readFile: input.readFile,
    },
  );
}
