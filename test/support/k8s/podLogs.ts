// Container logs for simulated pods. kwok serves the kubelet's containerLogs
// endpoint from files named by Logs objects (kwok.x-k8s.io/v1alpha1), so the
// API server's real pods/log endpoint returns them. This module writes those
// files in the CRI log format a kubelet reads and creates the Logs objects,
// either on request (setPodLogs) or from a pod's own annotations (the feeder).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, makeInformer } from '@kubernetes/client-node';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';

/** Log text for every container, or per container name. */
export type PodLogs = string | Readonly<Record<string, string>>;

/** Pod annotation whose value becomes the log of every container without its own. */
export const LOGS_ANNOTATION = 'capstan.test/logs';
/** Prefix of the per-container log annotation: `capstan.test/logs.<container>`. */
export const CONTAINER_LOGS_ANNOTATION_PREFIX = 'capstan.test/logs.';

/** Renders `text` as CRI log lines ("<RFC3339Nano> stdout F <line>"), one per line. */
export function toCriLog(text: string, at: Date = new Date()): string {
  if (text === '') return '';
  const stamp = at.toISOString().replace('Z', '000000Z');
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  return lines.map((line) => `${stamp} stdout F ${line}\n`).join('');
}

/**
 * Writes the log files for `pod` under `logsDir` and creates or replaces its Logs object.
 */
export async function writePodLogs(
  custom: CustomObjectsApi,
  logsDir: string,
  namespace: string,
  pod: string,
  logs: PodLogs,
): Promise<void> {
  const podDir = join(logsDir, namespace, pod);
  await mkdir(podDir, { recursive: true });
  const entries: { containers?: string[]; logsFile: string }[] = [];
  if (typeof logs === 'string') {
    const file = join(podDir, '_all.log');
    await writeFile(file, toCriLog(logs));
    entries.push({ logsFile: file });
  } else {
    for (const [container, text] of Object.entries(logs)) {
      const file = join(podDir, `${container}.log`);
      await writeFile(file, toCriLog(text));
      entries.push(container === '*' ? { logsFile: file } : { containers: [container], logsFile: file });
    }
  }
  const body = {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Logs',
    metadata: { name: pod, namespace },
    spec: { logs: entries },
  };
  const target = { group: 'kwok.x-k8s.io', version: 'v1alpha1', namespace, plural: 'logs' };
  try {
    await custom.createNamespacedCustomObject({ ...target, body });
  } catch (err) {
    if (!isConflict(err)) throw err;
    await custom.replaceNamespacedCustomObject({ ...target, name: pod, body: await withVersion(custom, target, pod, body) });
  }
}

async function withVersion(
  custom: CustomObjectsApi,
  target: { group: string; version: string; namespace: string; plural: string },
  name: string,
  body: { metadata: Record<string, unknown> },
): Promise<object> {
  const current = (await custom.getNamespacedCustomObject({ ...target, name })) as {
    metadata?: { resourceVersion?: string };
  };
  return { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion } };
}

function isConflict(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err as { code: unknown }).code === 409;
}

/** Logs requested by a pod's annotations, or undefined when it asks for none. */
export function logsFromAnnotations(pod: V1Pod): PodLogs | undefined {
  const annotations = pod.metadata?.annotations ?? {};
  const perContainer: Record<string, string> = {};
  for (const [key, value] of Object.entries(annotations)) {
    if (key.startsWith(CONTAINER_LOGS_ANNOTATION_PREFIX)) {
      perContainer[key.slice(CONTAINER_LOGS_ANNOTATION_PREFIX.length)] = value;
    }
  }
  const all = annotations[LOGS_ANNOTATION];
  if (all !== undefined) perContainer['*'] = all;
  return Object.keys(perContainer).length === 0 ? undefined : perContainer;
}

/** Handle of the feeder started by {@link startLogFeeder}. */
export interface LogFeeder {
  stop(): void;
}

/**
 * Watches all pods and, for each one carrying `capstan.test/logs` or
 * `capstan.test/logs.<container>` annotations, provides those logs. This is
 * what lets code under test create its own pods and still read logs back.
 */
export function startLogFeeder(kc: KubeConfig, logsDir: string): LogFeeder {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const fed = new Set<string>();
  const informer = makeInformer(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
  let stopped = false;
  const feed = (pod: V1Pod): void => {
    const namespace = pod.metadata?.namespace;
    const name = pod.metadata?.name;
    const uid = pod.metadata?.uid;
    if (namespace === undefined || name === undefined || uid === undefined || fed.has(uid)) return;
    const logs = logsFromAnnotations(pod);
    if (logs === undefined) return;
    fed.add(uid);
    writePodLogs(custom, logsDir, namespace, name, logs).catch((err: unknown) => {
      // A namespace deleted meanwhile is not an error worth failing a run for.
      fed.delete(uid);
      if (!stopped) process.emitWarning(`capstan test log feeder: ${String(err)}`);
    });
  };
  informer.on('add', feed);
  informer.on('update', feed);
  informer.on('error', () => {
    // The informer stops on error; restart it unless the cluster is stopping.
    if (!stopped) setTimeout(() => void informer.start().catch(() => {}), 500);
  });
  void informer.start().catch(() => {});
  return {
    stop() {
      stopped = true;
      void informer.stop();
    },
  };
}
