/** Kubernetes pods of a try as the API answers them: a summary with container statuses, and its events. */
import { z } from '@hono/zod-openapi';
import type { CoreV1Event, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { POD_LABELS } from '../../../../kubernetes/pods.ts';
import { Timestamp } from './common.ts';

const isoOf = (d: Date | string | undefined | null): string | null => (d === undefined || d === null ? null : new Date(d).toISOString());

const ContainerStatusSchema = z
  .object({
    name: z.string(),
    image: z.string().nullable(),
    ready: z.boolean(),
    restartCount: z.number().int(),
    state: z.enum(['waiting', 'running', 'terminated', 'unknown']),
    reason: z.string().nullable().openapi({ description: 'e.g. ImagePullBackOff, CrashLoopBackOff (waiting), OOMKilled, Error, Completed (terminated)' }),
    message: z.string().nullable(),
    exitCode: z.number().int().nullable(),
    startedAt: Timestamp,
    finishedAt: Timestamp,
    lastTermination: z
      .object({ reason: z.string().nullable(), exitCode: z.number().int(), finishedAt: Timestamp })
      .nullable()
      .openapi({ description: 'how the previous run of a restarted container ended' }),
  })
  .openapi('PodContainerStatus');

export const PodSummarySchema = z
  .object({
    name: z.string(),
    namespace: z.string(),
    kind: z.string().nullable().openapi({ description: '`worker` (a KubernetesExecutor worker pod), `pod-operator`, `job-operator`, …' }),
    node: z.string().nullable(),
    phase: z.string().nullable().openapi({ description: 'Pending, Running, Succeeded, Failed, Unknown' }),
    reason: z.string().nullable().openapi({ description: 'e.g. Evicted' }),
    message: z.string().nullable(),
    podIp: z.string().nullable(),
    createdAt: Timestamp,
    startedAt: Timestamp,
    deleting: z.boolean().openapi({ description: 'the pod is being deleted' }),
    initContainers: z.array(ContainerStatusSchema),
    containers: z.array(ContainerStatusSchema),
  })
  .openapi('PodSummary');

export const PodEventSchema = z
  .object({
    type: z.string().nullable().openapi({ description: 'Normal or Warning' }),
    reason: z.string().nullable().openapi({ description: 'e.g. Scheduled, Pulling, Failed, BackOff, FailedScheduling, OOMKilling' }),
    message: z.string().nullable(),
    count: z.number().int(),
    source: z.string().nullable().openapi({ description: 'the component that reported it (kubelet, default-scheduler, …)' }),
    firstAt: Timestamp,
    lastAt: Timestamp,
  })
  .openapi('PodEvent');

function containerView(s: V1ContainerStatus): z.input<typeof ContainerStatusSchema> {
  const st = s.state;
  const last = s.lastState?.terminated;
  const base = { name: s.name, image: s.image ?? null, ready: s.ready, restartCount: s.restartCount, lastTermination: last ? { reason: last.reason ?? null, exitCode: last.exitCode, finishedAt: isoOf(last.finishedAt) } : null };
  if (st?.terminated) return { ...base, state: 'terminated', reason: st.terminated.reason ?? null, message: st.terminated.message ?? null, exitCode: st.terminated.exitCode, startedAt: isoOf(st.terminated.startedAt), finishedAt: isoOf(st.terminated.finishedAt) };
  if (st?.running) return { ...base, state: 'running', reason: null, message: null, exitCode: null, startedAt: isoOf(st.running.startedAt), finishedAt: null };
  if (st?.waiting) return { ...base, state: 'waiting', reason: st.waiting.reason ?? null, message: st.waiting.message ?? null, exitCode: null, startedAt: null, finishedAt: null };
  return { ...base, state: 'unknown', reason: null, message: null, exitCode: null, startedAt: null, finishedAt: null };
}

/** What the API tells about a pod (no spec, env or secrets: statuses only). */
export function podSummaryView(pod: V1Pod): z.input<typeof PodSummarySchema> {
  const m = pod.metadata;
  const s = pod.status;
  return {
    name: m?.name ?? '',
    namespace: m?.namespace ?? '',
    kind: m?.labels?.[POD_LABELS.kind] ?? null,
    node: pod.spec?.nodeName ?? null,
    phase: s?.phase ?? null,
    reason: s?.reason ?? null,
    message: s?.message ?? null,
    podIp: s?.podIP ?? null,
    createdAt: isoOf(m?.creationTimestamp),
    startedAt: isoOf(s?.startTime),
    deleting: m?.deletionTimestamp != null,
    initContainers: (s?.initContainerStatuses ?? []).map(containerView),
    containers: (s?.containerStatuses ?? []).map(containerView),
  };
}

export function podEventView(e: CoreV1Event): z.input<typeof PodEventSchema> {
  return {
    type: e.type ?? null,
    reason: e.reason ?? null,
    message: e.message ?? null,
    count: e.count ?? 1,
    source: e.source?.component ?? e.reportingComponent ?? null,
    firstAt: isoOf(e.firstTimestamp ?? e.eventTime),
    lastAt: isoOf(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp),
  };
}
