/**
 * Kubernetes pods of a try — its KubernetesExecutor worker pod and the pods its KubernetesPodOperator made —
 * with container statuses (exit codes, OOMKilled, ImagePullBackOff…), their events and their logs (now, or
 * followed as Server-Sent Events). Read with the task-log permission. Without a configured cluster, for a
 * try that ran in no pod, or once its pods are deleted, the routes answer 404; a container that has not
 * started yet answers 409.
 */
import { z } from '@hono/zod-openapi';
import type { V1Pod } from '@kubernetes/client-node';
import { streamSSE } from 'hono/streaming';
import { CapstanError, NotFound } from '../../../../core/index.ts';
import type { OperatorCluster, TryPodReader } from '../../../../executors/kubernetes/workerPods.ts';
import type { TaskLogKey } from '../../../../logging/taskLogs.ts';
import { findTaskInstance, getSerializedDag, loadRenderedFields, type TaskInstanceRow } from '../../../../store/index.ts';
import { onDag } from '../access.ts';
import type { V2Deps } from '../deps.ts';
import { intQuery } from '../input.ts';
import { defineRoute } from '../route.ts';
import { DagId, pageOf, RunId, TaskId } from '../schemas/common.ts';
import { PodEventSchema, podEventView, PodSummarySchema, podSummaryView } from '../schemas/pods.ts';
import { MAX_STREAM_MS } from '../sse.ts';
import { MapIndexQuery } from './taskInstances.ts';

const TAGS = ['TaskInstance'];
const TryNumber = intQuery({ min: 1, max: 1_000_000 }).openapi({ type: 'integer', minimum: 1, description: 'try number (1 = first try)' });
const PodName = z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be a Kubernetes pod name').openapi({ description: 'a pod of this try, as listed by …/pods' });
const TryPath = { dagId: DagId, dagRunId: RunId, taskId: TaskId, tryNumber: TryNumber };
const PodPath = { ...TryPath, podName: PodName };
const ContainerQuery = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a container name').optional().openapi({ description: 'default: `base`, else the pod’s first container' });
const TailLinesQuery = intQuery({ min: 1, max: 100_000, description: 'only the last N lines' }).optional();
/** Largest log one read answers (the kubelet cuts there). */
const MAX_LOG_BYTES = 8 * 1024 * 1024;

type TryParams = { dagId: string; dagRunId: string; taskId: string; tryNumber: number };

/** Kubernetes failures as API errors: a missing object is a 404, a refusal a 409, the rest the cluster's fault. */
async function kube<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    // Only a configured cluster gets here: the client library loads with the first pod read (issue 18).
    const { KubernetesApiError } = await import('../../../../kubernetes/index.ts');
    if (!(err instanceof KubernetesApiError)) throw err;
    if (err.kind === 'not_found' || err.kind === 'gone') throw new NotFound(`${what}: the cluster has no such object any more`, 'pods are deleted once their task is done unless onFinishAction keeps them');
    if (err.kind === 'bad_request' || err.kind === 'conflict' || err.kind === 'invalid') throw new CapstanError('conflict', `${what}: ${err.message}`, { hint: 'a container that has not started has no log yet' });
    throw new CapstanError('upstream_unavailable', `${what}: the Kubernetes API failed (${err.kind})`, { ...(err.hint ? { hint: err.hint } : {}) });
  }
}

async function executorReaderOf(d: V2Deps): Promise<TryPodReader | undefined> {
  if (d.tryPods === undefined) return undefined;
  return kube('connecting to the cluster', d.tryPods).catch((err: unknown) => {
    if (err instanceof CapstanError) throw err;
    throw new CapstanError('upstream_unavailable', 'the Kubernetes cluster of this API server cannot be reached', { hint: err instanceof Error ? err.message : String(err) });
  });
}

async function tryKey(d: V2Deps, p: TryParams, mapIndex: number): Promise<{ key: TaskLogKey; ti: TaskInstanceRow }> {
  const ti = await findTaskInstance(d.db, p.dagId, p.dagRunId, p.taskId, mapIndex);
  if (p.tryNumber > Math.max(ti.try_number, 1)) throw new NotFound(`task '${p.taskId}' has had ${ti.try_number} tries, not ${p.tryNumber}`);
  return { key: { dagId: p.dagId, runId: p.dagRunId, taskId: p.taskId, mapIndex, tryNumber: p.tryNumber }, ti };
}

/**
 * The cluster a pod operator's try used when the task names its own `kubernetesConnId` (the try's
 * rendered fields first, as the operator ran them; else the DAG's); undefined for other tasks.
 */
async function operatorClusterOf(d: V2Deps, ti: TaskInstanceRow, tryNumber: number): Promise<OperatorCluster | undefined> {
  const rendered = (await loadRenderedFields(d.db, ti.id, tryNumber))?.rendered;
  const task = (await getSerializedDag(d.db, ti.dag_id).catch(() => undefined))?.tasks.find((t) => t.taskId === ti.task_id);
  // Operators keep their options flat (Spark, resources) or grouped (the pod operator's `pod`/`run`, the Job's `job`/`run`).
  const groups = [rendered, task?.fields, ...['pod', 'job', 'run'].map((g) => task?.fields[g])];
  const field = (name: string): string | undefined => {
    for (const g of groups) {
      const v = g !== null && typeof g === 'object' && !Array.isArray(g) ? g[name] : undefined;
      if (typeof v === 'string' && v !== '') return v;
    }
    return undefined;
  };
  const kubernetesConnId = field('kubernetesConnId');
  return kubernetesConnId === undefined ? undefined : { kubernetesConnId, namespace: field('namespace') };
}

async function operatorReaderOf(d: V2Deps, target: OperatorCluster): Promise<TryPodReader | undefined> {
  if (d.operatorTryPods === undefined) return undefined;
  const conn = target.kubernetesConnId;
  return d.operatorTryPods(target).catch((err: unknown) => {
    // The connection is the deployment's, not the caller's: its problems are named, never its contents.
    if (err instanceof CapstanError && err.code === 'not_found') throw new NotFound(`the task's Kubernetes connection '${conn}' is not defined`, 'its pods were made in the cluster it named; add the connection again to read them');
    const why = err instanceof CapstanError ? err.message : 'it could not be read';
    throw new CapstanError('conflict', `the task's Kubernetes connection '${conn}' cannot be used: ${why}`, { hint: `fix the connection (capstan connections get ${conn})` });
  });
}

type TryPod = { reader: TryPodReader; pod: V1Pod };

/**
 * The try's pods: its worker pod in the executor's cluster, and its operator pods in the cluster of the
 * task's own Kubernetes connection when it names one (the executor's otherwise), oldest first.
 */
async function podsOfTry(d: V2Deps, p: TryParams, mapIndex: number): Promise<TryPod[]> {
  const { key, ti } = await tryKey(d, p, mapIndex);
  const target = await operatorClusterOf(d, ti, p.tryNumber);
  const readers = [await executorReaderOf(d), target === undefined ? undefined : await operatorReaderOf(d, target)].filter((r) => r !== undefined);
  if (readers.length === 0) throw new NotFound('this API server reads no Kubernetes cluster', 'set core.executor to KubernetesExecutor, or kubernetesExecutor.kubernetesConnId, to read the pods of tries');
  const found = new Map<string, TryPod>();
  for (const reader of readers) {
    // Both readers may reach one cluster: a pod is listed once (by uid).
    for (const pod of await kube('listing the pods of the try', () => reader.pods(key))) found.set(pod.metadata?.uid ?? `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`, { reader, pod });
  }
  const pods = [...found.values()].sort((a, b) => new Date(a.pod.metadata?.creationTimestamp ?? 0).getTime() - new Date(b.pod.metadata?.creationTimestamp ?? 0).getTime());
  if (pods.length === 0) throw new NotFound(`try ${p.tryNumber} of task '${p.taskId}' in run '${p.dagRunId}' has no pod in the cluster`, 'it ran in no pod (another executor, not a pod operator), its pods are not started yet, or they were deleted when the task finished');
  return pods;
}

async function podOfTry(d: V2Deps, p: TryParams & { podName: string }, mapIndex: number): Promise<TryPod> {
  const pods = await podsOfTry(d, p, mapIndex);
  const found = pods.find((x) => x.pod.metadata?.name === p.podName);
  if (found === undefined) throw new NotFound(`pod '${p.podName}' is not a pod of try ${p.tryNumber} of task '${p.taskId}'`, `its pods: ${pods.map((x) => x.pod.metadata?.name).join(', ')}`);
  return found;
}

function containerOf(pod: V1Pod, asked: string | undefined): string {
  const names = (pod.spec?.containers ?? []).map((c) => c.name);
  if (asked === undefined) return names.includes('base') ? 'base' : (names[0] ?? 'base');
  if (!names.includes(asked) && !(pod.spec?.initContainers ?? []).some((c) => c.name === asked)) {
    throw new NotFound(`pod '${pod.metadata?.name ?? ''}' has no container '${asked}'`, `its containers: ${names.join(', ')}`);
  }
  return asked;
}

export const listTryPods = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries/{tryNumber}/pods',
  operationId: 'getTryPods',
  tags: TAGS,
  summary: 'Kubernetes pods of a try',
  description: 'The worker pod and the operator pods of the try, oldest first: node, phase, and each container’s state with its exit code and reason (OOMKilled, ImagePullBackOff, …). 404 without a configured cluster or when the try has no pod in the cluster.',
  access: onDag('task_log', 'read'),
  params: TryPath,
  query: { mapIndex: MapIndexQuery },
  response: { schema: pageOf('pods', PodSummarySchema) },
  handler: async (_c, { params, query }, d) => {
    const pods = (await podsOfTry(d, params, query.mapIndex)).map((x) => x.pod);
    return { pods: pods.map(podSummaryView), totalEntries: pods.length };
  },
});

export const listTryPodEvents = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries/{tryNumber}/pods/{podName}/events',
  operationId: 'getTryPodEvents',
  tags: TAGS,
  summary: 'Kubernetes events of a pod of a try',
  description: 'Scheduling, image pulls, kills, back-offs…, oldest first (the cluster keeps events about an hour).',
  access: onDag('task_log', 'read'),
  params: PodPath,
  query: { mapIndex: MapIndexQuery },
  response: { schema: pageOf('events', PodEventSchema) },
  handler: async (_c, { params, query }, d) => {
    const { reader, pod } = await podOfTry(d, params, query.mapIndex);
    const events = await kube(`reading the events of pod '${params.podName}'`, () => reader.events(pod));
    return { events: events.map(podEventView), totalEntries: events.length };
  },
});

const PodLogSchema = z
  .object({
    podName: z.string(),
    namespace: z.string(),
    container: z.string(),
    content: z.string().openapi({ description: 'the container’s log as the kubelet has it now (at most 8 MiB)' }),
  })
  .openapi('PodLog');

export const getTryPodLog = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries/{tryNumber}/pods/{podName}/log',
  operationId: 'getTryPodLog',
  tags: TAGS,
  summary: "A pod's container log",
  description: 'The container’s stdout and stderr from the kubelet (not the task log store): what the pod printed, including what happened before the task process started. 409 while the container has not started.',
  access: onDag('task_log', 'read'),
  params: PodPath,
  query: { mapIndex: MapIndexQuery, container: ContainerQuery, tailLines: TailLinesQuery },
  response: { schema: PodLogSchema },
  handler: async (_c, { params, query: q }, d) => {
    const { reader, pod } = await podOfTry(d, params, q.mapIndex);
    const container = containerOf(pod, q.container);
    const content = await kube(`reading the log of container '${container}' of pod '${params.podName}'`, () => reader.log(pod, { container, tailLines: q.tailLines, limitBytes: MAX_LOG_BYTES }));
    return { podName: params.podName, namespace: pod.metadata?.namespace ?? '', container, content };
  },
});

export const followTryPodLog = defineRoute({
  method: 'get',
  path: '/dags/{dagId}/dagRuns/{dagRunId}/taskInstances/{taskId}/tries/{tryNumber}/pods/{podName}/log/stream',
  operationId: 'followTryPodLog',
  tags: TAGS,
  summary: "Follow a pod's container log live (Server-Sent Events)",
  description: 'Events: `log` with `{ content }` as the container writes, `end` with `{ reason }` when the container ends (`end`), the stream was cut (`cut`, `idle`) or the kubelet refused (`status`, with `message`).',
  access: onDag('task_log', 'read'),
  params: PodPath,
  query: { mapIndex: MapIndexQuery, container: ContainerQuery, tailLines: TailLinesQuery },
  response: { mediaType: 'text/event-stream', description: 'an event stream' },
  handler: async (c, { params, query: q }, d) => {
    const { reader, pod } = await podOfTry(d, params, q.mapIndex);
    const container = containerOf(pod, q.container);
    c.header('cache-control', 'no-store');
    c.header('x-accel-buffering', 'no');
    return streamSSE(c, async (stream) => {
      const controller = new AbortController();
      stream.onAbort(() => controller.abort());
      const timer = setTimeout(() => controller.abort(), MAX_STREAM_MS).unref();
      const decoder = new TextDecoder();
      let writes = Promise.resolve();
      const send = (text: string) => {
        if (text !== '') writes = writes.then(() => stream.writeSSE({ event: 'log', data: JSON.stringify({ content: text }) }));
      };
      try {
        const end = await reader.follow(pod, { container, tailLines: q.tailLines }, (chunk) => send(decoder.decode(chunk, { stream: true })), controller.signal);
        send(decoder.decode());
        await writes;
        if (!stream.aborted) await stream.writeSSE({ event: 'end', data: JSON.stringify({ reason: end.kind, ...(end.kind === 'status' ? { message: end.message } : {}) }) });
      } finally {
        clearTimeout(timer);
      }
    });
  },
});

export const tryPodRoutes = [listTryPods, listTryPodEvents, getTryPodLog, followTryPodLog];
