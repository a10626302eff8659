/**
 * The life of a task's SparkApplication: create it (or reattach to the task's existing one), watch its state
 * (`SUBMITTED → RUNNING → COMPLETED | FAILED`, as the Spark operator writes it in `status.applicationState`),
 * follow the driver pod's log into the task log, fail fast when the driver cannot start, and delete the
 * application when asked. Everything is watched, nothing polled. The Spark operator, not Capstan, creates the
 * driver and executor pods.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { errorMessage } from '../../core/index.ts';
import type { KubeClients } from '../client/clients.ts';
import { ALREADY_CHECKED_LABEL } from '../lifecycle/cleanup.ts';
import { classifyPod, toTaskOutcome } from '../lifecycle/podEnd.ts';
import { followContainerLogs } from '../lifecycle/podLogs.ts';
import { fatalWaiting } from '../lifecycle/podState.ts';
import { PodWatcher } from '../lifecycle/podWatcher.ts';
import { choosePod } from '../lifecycle/reattach.ts';
import type { Manifest } from '../pod/merge.ts';
import { ObjectWatcher } from '../watch/objectWatcher.ts';
import type { KubeObject } from '../watch/objectWatcher.ts';
import { SPARK_APPLICATION, SPARK_DRIVER_CONTAINER } from './build.ts';

/** A SparkApplication as read back (only what is used here). */
export interface SparkApplicationObject extends KubeObject {
  spec?: Record<string, unknown>;
  status?: {
    applicationState?: { state?: string; errorMessage?: string };
    driverInfo?: { podName?: string; webUIAddress?: string };
    executorState?: Record<string, string>;
    submissionAttempts?: number;
    terminationTime?: string;
  };
}

/** Terminal application states and their meaning. */
const FAILED_STATES = new Set(['FAILED', 'SUBMISSION_FAILED']);
const STARTING_STATES = new Set(['', 'NEW', 'SUBMITTED', 'PENDING_SUBMISSION']);

/** How the application ended, or why the task stopped waiting. */
export type SparkEnd =
  | { kind: 'completed' }
  | { kind: 'failed'; state: string; errorMessage: string }
  | { kind: 'driverCannotStart'; pod: string; container: string; reason: string; message: string }
  | { kind: 'startupTimeout'; timeoutSeconds: number; state: string }
  | { kind: 'deleted' }
  | { kind: 'killed'; reason: string };

/** The state written by the Spark operator ('' before it saw the application). */
export function sparkState(app: SparkApplicationObject | undefined): string {
  return app?.status?.applicationState?.state ?? '';
}

/** The end from the application's state, or undefined while it runs. Pure. */
export function sparkEnd(app: SparkApplicationObject | undefined, deleted: boolean): SparkEnd | undefined {
  const state = sparkState(app);
  if (state === 'COMPLETED') return { kind: 'completed' };
  if (FAILED_STATES.has(state)) return { kind: 'failed', state, errorMessage: app?.status?.applicationState?.errorMessage ?? '' };
  return deleted ? { kind: 'deleted' } : undefined;
}

/** The driver pod's name: the operator's report, else its naming rule `<app>-driver`. */
export function driverPodName(app: SparkApplicationObject | undefined, appName: string): string {
  return app?.status?.driverInfo?.podName ?? `${appName}-driver`;
}

/** Options of {@link runSparkApplication}. */
export interface RunSparkOptions {
  /** Label selector of the task's earlier applications; reattach when exactly one is live. */
  reattachSelector?: string | undefined;
  /** Seconds the application may stay SUBMITTED (or unseen by the Spark operator) before the task fails. Default 600. */
  startupTimeoutSeconds?: number | undefined;
  /** Delete the SparkApplication when the task is done (default true). */
  deleteOnTermination?: boolean | undefined;
  /** Stream the driver's log into the task log (default true). */
  getLogs?: boolean | undefined;
  signal?: AbortSignal | undefined;
  logIdleTimeoutMs?: number | undefined;
  logTerminatedGraceMs?: number | undefined;
  /** Follow this application, already created (a deferred task resuming): nothing is created. */
  existing?: SparkApplicationObject | undefined;
}

/** What happened. */
export interface SparkRunResult {
  name: string;
  namespace: string;
  reattached: boolean;
  end: SparkEnd;
  outcome: { kind: 'success' } | { kind: 'failure'; message: string };
  application: SparkApplicationObject | undefined;
}

const api = SPARK_APPLICATION;

function customArgs(namespace: string): { group: string; version: string; namespace: string; plural: string } {
  return { group: api.group, version: api.version, namespace, plural: api.plural };
}

/** Deletes the application (404 ignored). Its pods are owned by it and go with it. */
export async function deleteSparkApplication(clients: KubeClients, namespace: string, name: string): Promise<void> {
  try {
    await clients.custom.deleteNamespacedCustomObject({ ...customArgs(namespace), name });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 404) throw error;
  }
}

/** The application, or undefined when it does not exist. */
export async function readSparkApplication(clients: KubeClients, namespace: string, name: string): Promise<SparkApplicationObject | undefined> {
  try {
    return await clients.custom.getNamespacedCustomObject({ ...customArgs(namespace), name }) as SparkApplicationObject;
  } catch (error) {
    if ((error as { code?: unknown }).code === 404) return undefined;
    throw error;
  }
}

async function markChecked(clients: KubeClients, namespace: string, name: string): Promise<void> {
  try {
    await clients.custom.patchNamespacedCustomObject({ ...customArgs(namespace), name, body: { metadata: { labels: { [ALREADY_CHECKED_LABEL]: 'true' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  } catch (error) {
    if ((error as { code?: unknown }).code !== 404) throw error;
  }
}

function describeEnd(name: string, end: SparkEnd): string {
  switch (end.kind) {
    case 'completed': return `spark application ${name} COMPLETED`;
    case 'failed': return `spark application ${name} ${end.state}${end.errorMessage ? `: ${end.errorMessage}` : ''}`;
    case 'driverCannotStart': return `spark application ${name}: driver pod ${end.pod} cannot start, container ${end.container} ${end.reason}: ${end.message}`;
    case 'startupTimeout': return `spark application ${name} did not start within ${end.timeoutSeconds}s (state '${end.state || 'unseen by the Spark operator'}'); is the Spark operator running?`;
    case 'deleted': return `spark application ${name} was deleted before it finished`;
    case 'killed': return `spark application ${name} was deleted because the task was killed: ${end.reason}`;
  }
}

/**
 * Finds the task's live application (exactly one → reattach; several → error) or creates `manifest` (its
 * `metadata.namespace`, else the client's default namespace).
 */
export async function createOrReattachSparkApplication(clients: KubeClients, manifest: Manifest, reattachSelector?: string): Promise<{ application: SparkApplicationObject; reattached: boolean }> {
  const metadata = (manifest['metadata'] ?? {}) as { name?: string; namespace?: string };
  const namespace = metadata.namespace ?? clients.defaultNamespace;
  if (reattachSelector !== undefined) {
    const found = await clients.custom.listNamespacedCustomObject({ ...customArgs(namespace), labelSelector: reattachSelector }) as { items?: SparkApplicationObject[] };
    const choice = choosePod(found.items ?? []);
    if (choice.kind === 'ambiguous') throw new Error(`found ${choice.names.length} unchecked SparkApplications of this task (${choice.names.join(', ')}); delete the stale ones`);
    if (choice.kind === 'reattach') return { application: choice.pod, reattached: true };
  }
  const application = await clients.custom.createNamespacedCustomObject({ ...customArgs(namespace), body: { ...manifest, metadata: { ...metadata, namespace } } }) as SparkApplicationObject;
  return { application, reattached: false };
}

/** A watcher of one SparkApplication (of this `uid` when given: a deleted or recreated one then reads as deleted). */
export function watchSparkApplication(clients: KubeClients, namespace: string, name: string, initial: SparkApplicationObject | undefined, log: (m: string) => void, uid?: string): ObjectWatcher<SparkApplicationObject> {
  return ObjectWatcher.start<SparkApplicationObject>({
    watch: clients.watch,
    path: `/apis/${api.group}/${api.version}/namespaces/${encodeURIComponent(namespace)}/${api.plural}`,
    name,
    initial,
    uid,
    list: async (fieldSelector) => await clients.custom.listNamespacedCustomObject({ ...customArgs(namespace), fieldSelector }) as { items: SparkApplicationObject[] },
    onRetry: (e, n) => log(`spark application watch reconnecting (attempt ${n}): ${errorMessage(e)}`),
  });
}

/** Milliseconds left of the startup allowance, measured from the server's creation time (never fresh on a retry). */
export function startupLeftMs(app: SparkApplicationObject, startupTimeoutSeconds: number, now: number): number {
  const createdAt = Date.parse(String(app.metadata?.creationTimestamp ?? ''));
  return Math.max(0, startupTimeoutSeconds * 1000 - (Number.isNaN(createdAt) ? 0 : now - createdAt));
}

/** True while the Spark operator has not started the application (the startup timeout applies). */
export function isStarting(app: SparkApplicationObject | undefined): boolean {
  return STARTING_STATES.has(sparkState(app));
}

/**
 * Runs `manifest` (a built SparkApplication) to its end (see the module doc).
 *
 * @example
 * const result = await runSparkApplication(clients, buildSparkApplication(options, { identity }), { signal }, { log });
 * if (result.outcome.kind === 'failure') throw new Error(result.outcome.message);
 */
export async function runSparkApplication(clients: KubeClients, manifest: Manifest, options: RunSparkOptions, sink: { log(message: string): void }): Promise<SparkRunResult> {
  const log = (m: string): void => sink.log(m);
  const signal = options.signal ?? new AbortController().signal;
  const metadata = (manifest['metadata'] ?? {}) as { name?: string; namespace?: string };
  const namespace = metadata.namespace ?? clients.defaultNamespace;
  const { application: created, reattached } = options.existing !== undefined
    ? { application: options.existing, reattached: true }
    : await createOrReattachSparkApplication(clients, manifest, options.reattachSelector);
  const name = created.metadata?.name ?? '';
  log(options.existing !== undefined ? `following spark application ${namespace}/${name} after the deferral`
    : reattached ? `reattached to existing spark application ${namespace}/${name}` : `created spark application ${namespace}/${name}`);

  const watcher = watchSparkApplication(clients, namespace, name, created, log);
  const stopped = new AbortController();
  const driverFatal = new AbortController();
  let fatal: SparkEnd | undefined;
  let lastState: string | undefined;
  let driver: { watcher: PodWatcher; logs: Promise<void>; stopLogs: AbortController } | undefined;
  const onSnapshot = (): undefined => {
    const app = watcher.snapshot.object;
    const state = sparkState(app);
    if (state !== lastState) {
      lastState = state;
      log(`spark application ${name} state: ${state || '(not yet seen by the Spark operator)'}`);
    }
    if (driver === undefined && app !== undefined && state !== '' && state !== 'NEW') startDriver(driverPodName(app, name));
    return undefined;
  };

  const startupMs = (options.startupTimeoutSeconds ?? 600) * 1000;
  // Measured from the API server's creation time, so a reattached task gets no fresh allowance.
  const startupTimer = new AbortController();
  const timer = setTimeout(() => {
    if (isStarting(watcher.snapshot.object)) startupTimer.abort();
  }, startupLeftMs(created, startupMs / 1000, Date.now()));

  let end: SparkEnd;
  try {
    const waited = await watcher.until((s) => { onSnapshot(); return sparkEnd(s.object, s.deleted); },
      { signal: AbortSignal.any([signal, driverFatal.signal, startupTimer.signal]) });
    if (waited !== undefined) end = waited;
    else if (signal.aborted) end = { kind: 'killed', reason: signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted') };
    else if (fatal !== undefined) end = fatal;
    else end = { kind: 'startupTimeout', timeoutSeconds: startupMs / 1000, state: sparkState(watcher.snapshot.object) };
    log(describeEnd(name, end));
    if (driver !== undefined) {
      const d = driver;
      const grace = setTimeout(() => d.stopLogs.abort(), end.kind === 'completed' || end.kind === 'failed' ? (options.logTerminatedGraceMs ?? 2000) + 5000 : 0);
      await d.logs;
      clearTimeout(grace);
    }
    await finish(end);
  } finally {
    clearTimeout(timer);
    stopped.abort();
    driver?.stopLogs.abort();
    await Promise.allSettled([watcher.stop(), driver?.watcher.stop(), driver?.logs]);
  }

  const application = watcher.snapshot.object;
  if (end.kind === 'completed') return { name, namespace, reattached, end, application, outcome: { kind: 'success' } };
  const details: string[] = [describeEnd(name, end)];
  const driverPod = driver?.watcher.snapshot.pod;
  if (driverPod !== undefined) {
    const podEnd = classifyPod(driverPod, { container: SPARK_DRIVER_CONTAINER });
    if (podEnd !== undefined && podEnd.kind !== 'succeeded') {
      const o = toTaskOutcome(podEnd, { podName: driverPod.metadata?.name ?? '' });
      if (o.kind === 'failure') details.push(o.message.replace('base container', `${SPARK_DRIVER_CONTAINER} container`));
    }
  }
  return { name, namespace, reattached, end, application, outcome: { kind: 'failure', message: details.join('\n') } };

  function startDriver(podName: string): void {
    log(`following driver pod ${podName}`);
    const podWatcher = PodWatcher.start({ core: clients.core, watch: clients.watch, namespace, name: podName,
      onRetry: (e, n) => log(`driver pod watch reconnecting (attempt ${n}): ${errorMessage(e)}`) });
    podWatcher.subscribe((s) => {
      const f = s.pod === undefined ? undefined : fatalWaiting(s.pod);
      if (f !== undefined && fatal === undefined) {
        fatal = { kind: 'driverCannotStart', pod: podName, container: f.container, reason: f.reason, message: f.message };
        driverFatal.abort();
      }
    });
    const stopLogs = new AbortController();
    const follow = (): Promise<void> => followContainerLogs({
      kubeConfig: clients.kubeConfig, namespace, pod: podName, container: SPARK_DRIVER_CONTAINER, watcher: podWatcher,
      signal: AbortSignal.any([stopLogs.signal, stopped.signal]), permit: clients.streamPermit,
      idleTimeoutMs: options.logIdleTimeoutMs, terminatedGraceMs: options.logTerminatedGraceMs,
      onReconnect: (why) => log(`[driver] ${why}; resuming`),
      onLine: (line) => log(`[driver] ${line.text}`),
    });
    // The Spark operator creates the driver pod after SUBMITTED: wait for it to exist before following.
    const exists = (): Promise<unknown> => podWatcher.until((s) => (s.pod !== undefined ? true : undefined), { signal: AbortSignal.any([stopLogs.signal, stopped.signal]) });
    const logs = options.getLogs === false ? Promise.resolve() : exists().then(async (seen) => { if (seen === true) await follow(); });
    driver = { watcher: podWatcher, logs, stopLogs };
  }

  async function finish(e: SparkEnd): Promise<void> {
    if (e.kind === 'deleted') return;
    const remove = e.kind === 'killed' || e.kind === 'driverCannotStart' || e.kind === 'startupTimeout' || options.deleteOnTermination !== false;
    try {
      if (remove) {
        await deleteSparkApplication(clients, namespace, name);
        log(`deleted spark application ${name}`);
      } else {
        await markChecked(clients, namespace, name);
        log(`kept spark application ${name}`);
      }
    } catch (error) {
      log(`could not ${remove ? 'delete' : 'label'} spark application ${namespace}/${name}: ${errorMessage(error)}`);
      await markChecked(clients, namespace, name).catch(() => undefined);
    }
  }
}
