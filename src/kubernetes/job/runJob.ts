/**
 * The whole life of a task's Job, in one call: create (or reattach to the task's existing Job) → watch the
 * Job's conditions and follow every pod of it (logs, XCom) → classify → finish action. Returns what happened
 * as data. Only the Job controller creates pods: this never creates a bare pod (Airflow's duplicate-pod bug).
 * Aborting the signal (task killed: timeout, mark-failed, clear) deletes the Job with the kill propagation
 * policy; a worker that dies without aborting leaves the Job for the next try to reattach to.
 */
import type { V1Job } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { errorMessage } from '../../core/index.ts';
import type { KubeClients } from '../client/clients.ts';
import { ALREADY_CHECKED_LABEL } from '../lifecycle/cleanup.ts';
import { formatPodEvent, streamPodEvents } from '../lifecycle/podEvents.ts';
import { choosePod } from '../lifecycle/reattach.ts';
import { withXcomSidecar } from '../lifecycle/xcom.ts';
import type { XcomSidecarOptions } from '../lifecycle/xcom.ts';
import { ObjectWatcher } from '../watch/objectWatcher.ts';
import { JobPodTracker } from './jobPods.ts';
import type { FailedPod } from './jobPods.ts';
import { collectXcom, describeJobEnd, jobEnd, selectorString } from './jobState.ts';
import type { JobEnd } from './jobState.ts';
import type { JobFinishAction, PropagationPolicy } from './options.ts';

/** Options of {@link runJob}; every field is optional. */
export interface RunJobOptions {
  /** Label selector of the task's earlier Jobs (`taskPodSelector(identityLabels(identity))`); reattach when one is found. */
  reattachSelector?: string | undefined;
  onFinishAction?: JobFinishAction | undefined;
  /** Propagation of the finish action's deletion (default Background). */
  deletePropagationPolicy?: PropagationPolicy | undefined;
  /** Propagation when the task is killed (default Foreground: the pods are gone when the deletion completes). */
  onKillPropagationPolicy?: PropagationPolicy | undefined;
  /** Read each successful pod's `/airflow/xcom/return.json` through the native sidecar. */
  doXcomPush?: boolean | undefined;
  xcom?: (XcomSidecarOptions & { timeoutSeconds?: number | undefined }) | undefined;
  /** Containers whose logs reach the task log, per pod (default `['base']`); `false`: none. */
  logContainers?: readonly string[] | false | undefined;
  /** Fail at once when a pod of the Job cannot start (image pull, container config). Default true. */
  failOnPodStartError?: boolean | undefined;
  /** Aborting kills the task: the Job is deleted. */
  signal?: AbortSignal | undefined;
  /**
   * Follow this Job, already created (a deferred task resuming after its trigger fired): nothing is created,
   * the pods' logs and XComs are read and the finish action applied.
   */
  existing?: V1Job | undefined;
  logIdleTimeoutMs?: number | undefined;
  logTerminatedGraceMs?: number | undefined;
}

/** The task outcome. */
export type JobTaskOutcome =
  | { kind: 'success' }
  | { kind: 'failure'; reason: JobEnd['kind'] | 'xcomFailed'; message: string };

/** What happened. `xcom` is set on success with doXcomPush. */
export interface JobRunResult {
  name: string;
  namespace: string;
  reattached: boolean;
  end: JobEnd;
  outcome: JobTaskOutcome;
  xcom?: unknown;
  /** The Job as last seen (its status is the `job` XCom). */
  job: V1Job | undefined;
  failedPods: FailedPod[];
}

/** The Job to follow and how it was obtained. */
export interface CreatedJob {
  job: V1Job;
  reattached: boolean;
}

/**
 * Finds the task's live Job (exactly one → reattach; several → error) or creates `job`. A create whose
 * connection broke after sending is looked up by name before failing.
 */
export async function createOrReattachJob(clients: KubeClients, namespace: string, job: V1Job, reattachSelector?: string): Promise<CreatedJob> {
  const { batch } = clients;
  if (reattachSelector !== undefined) {
    const found = await batch.listNamespacedJob({ namespace, labelSelector: reattachSelector });
    const choice = choosePod(found.items);
    if (choice.kind === 'reattach') return { job: choice.pod, reattached: true };
    if (choice.kind === 'ambiguous') {
      throw new Error(`found ${choice.names.length} unchecked Jobs of this task (${choice.names.join(', ')}); ` +
        `delete the stale ones or label them ${ALREADY_CHECKED_LABEL}=true`);
    }
  }
  const name = job.metadata?.name ?? '';
  try {
    return { job: await batch.createNamespacedJob({ namespace, body: job }), reattached: false };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 409) {
      throw new Error(`a Job named ${name} already exists in ${namespace} and is not this task's live Job; delete it, or let the name get a random suffix`, { cause: error });
    }
    const made = name === '' ? undefined : await batch.readNamespacedJob({ namespace, name }).catch(() => undefined);
    if (made !== undefined && made.metadata?.labels?.['capstan.dev/run-id'] === job.metadata?.labels?.['capstan.dev/run-id']) return { job: made, reattached: false };
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 404;
}

/** Deletes a Job (404 ignored). */
export async function deleteJob(clients: KubeClients, namespace: string, name: string, propagationPolicy: PropagationPolicy): Promise<void> {
  try {
    await clients.batch.deleteNamespacedJob({ namespace, name, propagationPolicy });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** Labels a Job `capstan.dev/already-checked=true`, so no later try reattaches to it (404 ignored). */
export async function markJobChecked(clients: KubeClients, namespace: string, name: string): Promise<void> {
  try {
    await clients.batch.patchNamespacedJob(
      { namespace, name, body: { metadata: { labels: { [ALREADY_CHECKED_LABEL]: 'true' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** A watcher of one Job (of this `uid` when given: then a Job that is gone, or recreated, reads as deleted). */
export function watchJob(clients: KubeClients, namespace: string, name: string, initial: V1Job | undefined, log: (m: string) => void, uid?: string): ObjectWatcher<V1Job> {
  return ObjectWatcher.start<V1Job>({
    watch: clients.watch,
    path: `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs`,
    name,
    initial,
    uid,
    list: (fieldSelector) => clients.batch.listNamespacedJob({ namespace, fieldSelector }),
    onRetry: (e, n) => log(`job watch reconnecting (attempt ${n}): ${errorMessage(e)}`),
  });
}

/** Adds the XCom sidecar to the Job's pod template (pure). */
export function withJobXcomSidecar(job: V1Job, options: XcomSidecarOptions | undefined): V1Job {
  const spec = job.spec;
  if (spec === undefined) throw new Error('the Job has no spec');
  const pod = withXcomSidecar({ metadata: spec.template.metadata ?? {}, spec: spec.template.spec }, options);
  return { ...job, spec: { ...spec, template: { metadata: pod.metadata ?? {}, spec: pod.spec } } };
}

/**
 * Runs `manifest` to completion (see the module doc).
 *
 * @example
 * const result = await runJob(clients, buildJob(options, { identity }), {
 *   reattachSelector: taskPodSelector(identityLabels(identity)), doXcomPush: true, signal,
 * }, { log: (line) => taskLog.info(line) });
 * if (result.outcome.kind === 'failure') throw new Error(result.outcome.message);
 */
export async function runJob(clients: KubeClients, manifest: V1Job, options: RunJobOptions, sink: { log(message: string): void }): Promise<JobRunResult> {
  const signal = options.signal ?? new AbortController().signal;
  const log = (m: string): void => sink.log(m);
  if (signal.aborted) throw new Error(`task killed before its Job was created: ${String(signal.reason)}`);
  const body = options.doXcomPush === true ? withJobXcomSidecar(manifest, options.xcom) : manifest;
  const namespace = body.metadata?.namespace ?? clients.defaultNamespace;
  const { job: created, reattached } = options.existing !== undefined
    ? { job: options.existing, reattached: true }
    : await createOrReattachJob(clients, namespace, { ...body, metadata: { ...body.metadata, namespace } }, options.reattachSelector);
  const name = created.metadata?.name ?? '';
  log(options.existing !== undefined ? `following job ${namespace}/${name} after the deferral`
    : reattached ? `reattached to existing job ${namespace}/${name}` : `created job ${namespace}/${name}`);

  const watcher = watchJob(clients, namespace, name, created, log);
  // The Job controller's own events (pods created, backoff limit reached, deadline…) go to the task log too;
  // the event stream selects by involved object name and uid, whatever its kind.
  const background = new AbortController();
  const events = streamPodEvents({ core: clients.core, watch: clients.watch, namespace, pod: name, uid: created.metadata?.uid,
    onEvent: (e) => log(`[event] job ${formatPodEvent(e)}`), signal: background.signal });
  const fatal = new AbortController();
  let fatalEnd: JobEnd | undefined;
  const pods = JobPodTracker.start({
    clients, namespace, selector: selectorString(created.spec?.selector), log,
    logContainers: options.logContainers, doXcomPush: options.doXcomPush,
    xcomMaxBytes: options.xcom?.maxBytes, xcomTimeoutSeconds: options.xcom?.timeoutSeconds,
    logIdleTimeoutMs: options.logIdleTimeoutMs, logTerminatedGraceMs: options.logTerminatedGraceMs,
    onFatal: (pod, f) => {
      if (options.failOnPodStartError === false) {
        log(`pod ${pod.metadata?.name ?? '?'}: container ${f.container} ${f.reason}: ${f.message}`);
        return;
      }
      fatalEnd = { kind: 'podCannotStart', pod: pod.metadata?.name ?? '?', container: f.container, reason: f.reason, message: f.message };
      fatal.abort();
    },
  });

  let end: JobEnd;
  let xcomResult: { xcoms: Parameters<typeof collectXcom>[1]; errors: string[] } = { xcoms: [], errors: [] };
  try {
    const waited = await watcher.until((s) => jobEnd(s.object, s.deleted), { signal: AbortSignal.any([signal, fatal.signal]) });
    end = waited ?? (signal.aborted ? { kind: 'killed', reason: abortReason(signal) } : fatalEnd ?? { kind: 'killed', reason: 'stopped' });
    log(describeJobEnd(name, end));
    if ((end.kind === 'complete' && end.condition === 'SuccessCriteriaMet') || (end.kind === 'failed' && end.condition === 'FailureTarget')) {
      // The outcome is decided; the controller now terminates the remaining pods and then sets Complete /
      // Failed. Wait for that (bounded) so the `job` status and the pods' logs are final.
      const terminal = await watcher.until((s) => {
        const e = jobEnd(s.object, s.deleted);
        return e?.kind === 'deleted' || (e?.kind === 'complete' && e.condition === 'Complete') || (e?.kind === 'failed' && e.condition === 'Failed') ? e : undefined;
      }, { timeoutMs: 30_000, signal });
      if (terminal !== undefined && terminal.kind !== 'deleted') end = terminal;
    }
    if (end.kind === 'complete') {
      // The pods' final states may reach this watch a moment after the Job's condition.
      const expected = watcher.snapshot.object?.status?.succeeded ?? 0;
      if (!(await pods.waitFor(() => pods.succeededCount() >= expected, 30_000))) {
        log(`saw ${pods.succeededCount()} of the ${expected} succeeded pods the Job reports`);
      }
    }
    if (end.kind === 'killed') await killJob();
    xcomResult = await pods.stop(end.kind === 'complete' || end.kind === 'failed' ? (options.logTerminatedGraceMs ?? 2000) + 5000 : 0);
    if (end.kind !== 'killed') await finish(end);
  } finally {
    background.abort();
    await Promise.allSettled([pods.stop(0), watcher.stop(), events]);
  }

  const job = watcher.snapshot.object;
  const failedPods = pods.failedPods();
  const result: JobRunResult = { name, namespace, reattached, end, job, failedPods, outcome: { kind: 'success' } };
  if (end.kind !== 'complete') {
    const detail = failedPods.slice(-5).map((f) => f.message);
    result.outcome = { kind: 'failure', reason: end.kind, message: [describeJobEnd(name, end), ...detail].join('\n') };
  } else if (options.doXcomPush === true && xcomResult.errors.length > 0) {
    result.outcome = { kind: 'failure', reason: 'xcomFailed', message: `job ${name}: ${xcomResult.errors.join('; ')}` };
  } else if (options.doXcomPush === true && job !== undefined) {
    result.xcom = collectXcom(job, xcomResult.xcoms);
  }
  return result;

  async function killJob(): Promise<void> {
    const policy = options.onKillPropagationPolicy ?? 'Foreground';
    log(`task killed: deleting job ${name} (propagation ${policy})`);
    try {
      await deleteJob(clients, namespace, name, policy);
    } catch (error) {
      log(`could not delete job ${namespace}/${name} (delete it by hand): ${errorMessage(error)}`);
      await markJobChecked(clients, namespace, name).catch(() => undefined);
    }
  }

  async function finish(e: JobEnd): Promise<void> {
    if (e.kind === 'deleted') return;
    const action = options.onFinishAction ?? 'delete_job';
    // A pod that cannot start leaves an active Job behind: delete it whatever the action, or it runs on.
    const remove = e.kind === 'podCannotStart' || action === 'delete_job' || (action === 'delete_succeeded_job' && e.kind === 'complete');
    try {
      if (remove) {
        await deleteJob(clients, namespace, name, options.deletePropagationPolicy ?? 'Background');
        log(`deleted job ${name}`);
      } else {
        await markJobChecked(clients, namespace, name);
        log(`kept job ${name}`);
      }
    } catch (error) {
      log(`finish action on job ${name} failed: ${errorMessage(error)}`);
      if (remove) await markJobChecked(clients, namespace, name).catch(() => undefined);
    }
  }
}

function abortReason(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
}
