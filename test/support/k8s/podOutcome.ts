// The annotation vocabulary through which a pod on a simulated node chooses
// its own fate. The kwok stages in k8s/testcluster/kwok/pod-stages.yaml read
// these annotations; this module is the typed way for tests to write them.

/**
 * How a simulated pod ends.
 * - `succeed`: Running, then Succeeded with exit code 0 (default unless restartPolicy is Always)
 * - `fail`: Running, then Failed; the first container exits with `exitCode` (default 1), reason Error
 * - `oom`: Running, then Failed; the first container is OOMKilled with exit code 137
 * - `evict`: Running, then Failed with pod reason Evicted and a DisruptionTarget condition
 * - `image-pull-error`: stays Pending, containers waiting ErrImagePull then ImagePullBackOff
 * - `pending`: scheduled but stays Pending (ContainerCreating) forever
 * - `run-forever`: Running until deleted (default when restartPolicy is Always), or until
 *   `spec.activeDeadlineSeconds` has passed: then Failed with reason DeadlineExceeded
 *
 * A pod that is never scheduled (e.g. a nodeSelector no node has, or more CPU
 * than a node offers) stays Pending with the scheduler's real Unschedulable
 * condition. Deleting a running pod ends its containers with 143 and the pod
 * Failed before it disappears, as a kubelet would.
 */
export type PodOutcome = 'succeed' | 'fail' | 'oom' | 'evict' | 'image-pull-error' | 'pending' | 'run-forever';

/** Annotation keys read by the kwok stages and the log feeder. */
export const POD_ANNOTATIONS = {
  outcome: 'capstan.test/outcome',
  exitCode: 'capstan.test/exit-code',
  terminationMessage: 'capstan.test/termination-message',
  startDuration: 'capstan.test/start-duration',
  initDuration: 'capstan.test/init-duration',
  runDuration: 'capstan.test/run-duration',
  logs: 'capstan.test/logs',
  containerLogsPrefix: 'capstan.test/logs.',
} as const;

/** What a test asks of a simulated pod; every field is optional. */
export interface PodBehaviour {
  outcome?: PodOutcome;
  /** Exit code of the first container when outcome is `fail` (default 1). */
  exitCode?: number;
  /** `state.terminated.message` of the first container (as if written to /dev/termination-log). */
  terminationMessage?: string;
  /** Milliseconds from scheduled to containers running (default 100). */
  startMs?: number;
  /** Milliseconds for each init-container step, start or finish (default 100). */
  initStepMs?: number;
  /** Milliseconds spent Running before the outcome (default 500). */
  runMs?: number;
  /** Log text of every container, or per container name, served by pods/log. */
  logs?: string | Readonly<Record<string, string>>;
}

/**
 * Annotations that make a simulated pod behave as described.
 *
 * @example
 * const pod = { metadata: { name: 'p', annotations: podAnnotations({ outcome: 'fail', exitCode: 3,
 *   terminationMessage: 'boom', logs: 'hello\n' }) }, spec: { ... } };
 */
export function podAnnotations(behaviour: PodBehaviour): Record<string, string> {
  const a: Record<string, string> = {};
  if (behaviour.outcome !== undefined) a[POD_ANNOTATIONS.outcome] = behaviour.outcome;
  if (behaviour.exitCode !== undefined) a[POD_ANNOTATIONS.exitCode] = String(behaviour.exitCode);
  if (behaviour.terminationMessage !== undefined) a[POD_ANNOTATIONS.terminationMessage] = behaviour.terminationMessage;
  if (behaviour.startMs !== undefined) a[POD_ANNOTATIONS.startDuration] = `${behaviour.startMs}ms`;
  if (behaviour.initStepMs !== undefined) a[POD_ANNOTATIONS.initDuration] = `${behaviour.initStepMs}ms`;
  if (behaviour.runMs !== undefined) a[POD_ANNOTATIONS.runDuration] = `${behaviour.runMs}ms`;
  if (typeof behaviour.logs === 'string') a[POD_ANNOTATIONS.logs] = behaviour.logs;
  else if (behaviour.logs !== undefined) {
    for (const [container, text] of Object.entries(behaviour.logs)) {
      a[`${POD_ANNOTATIONS.containerLogsPrefix}${container}`] = text;
    }
  }
  return a;
}
