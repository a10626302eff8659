/**
 * Unit-testing pod tasks without a cluster (`import { simulatePodOutcome } from 'capstan/testing'`): builds the
 * task's real pod manifest (so a bad option fails here as it would at run time) and judges a simulated pod end —
 * succeeded, exit code, OOM killed, image pull failure, evicted, … — with the operator's own judgement
 * (`skipOnExitCode`, `doXcomPush`, the failure kind and whether the platform is to blame, the retry policy).
 * What it does not simulate: the pod's log, lifecycle callbacks and the cluster's timing (the Kubernetes test
 * suite covers those against a real API server).
 *
 * @example
 * ```ts
 * import { simulatePodOutcome } from 'capstan/testing';
 * import etl from '../dags/etl.ts';
 *
 * const r = await simulatePodOutcome(etl, 'transform', { oomKilled: true });
 * assert.equal(r.state, 'failed');
 * assert.equal(r.failure?.kind, 'oomKilled');
 * assert.equal(r.platformFailure, true);
 * ```
 */
import type { V1Pod } from '@kubernetes/client-node';
import {
  failureOfError,
  type FailureReason,
  type FailureRetryPolicy,
  InvalidArgument,
  isPlatformFailure,
  retryPolicyOf,
  TaskSkipped,
} from '../core/index.ts';
import type { JsonValue } from '../core/index.ts';
import { KubernetesPodOperator } from '../kubernetes/operators.ts';
import type { PodEnd } from '../kubernetes/index.ts';
import type { Dag } from '../sdk/dag.ts';

/** The pod ends a test can ask for; anything else as a {@link PodEnd}. */
export type SimulatedPodOutcome =
  | 'succeeded'
  | { exitCode: number; terminationMessage?: string }
  | { oomKilled: true }
  | { imagePullFailed: string }
  | { evicted: string }
  | { end: PodEnd };

export interface SimulatePodOptions {
  /** What the XCom sidecar returns (`doXcomPush`). Default null. */
  xcom?: JsonValue;
  /** Run id and try of the identity the manifest is built for. Default `manual__simulated`, try 1. */
  runId?: string;
  tryNumber?: number;
  mapIndex?: number;
}

/** How the task ends. */
export interface PodTaskSimulation {
  state: 'success' | 'skipped' | 'failed';
  /** The task's return value (its XCom) on success. */
  returnValue: JsonValue | undefined;
  /** Why it was skipped or failed. */
  message: string | null;
  /** The failure the try records (`failure_kind` is its `kind`); null unless failed. */
  failure: FailureReason | null;
  /** True when the platform, not the task's code, is to blame (evicted, image pull, OOM killed, node lost…). */
  platformFailure: boolean;
  /** Whether a failed try may be retried; null unless failed. */
  retryPolicy: FailureRetryPolicy | null;
  /** The pod the task would create. */
  pod: V1Pod;
}

function toPodEnd(outcome: SimulatedPodOutcome): PodEnd {
  if (outcome === 'succeeded') return { kind: 'succeeded' };
  if ('end' in outcome) return outcome.end;
  if ('exitCode' in outcome) {
    return outcome.exitCode === 0 ? { kind: 'succeeded' } : { kind: 'failed', exitCode: outcome.exitCode, reason: 'Error', terminationMessage: outcome.terminationMessage };
  }
  if ('oomKilled' in outcome) return { kind: 'oomKilled', exitCode: 137, terminationMessage: undefined };
  if ('imagePullFailed' in outcome) {
    return { kind: 'imagePullFailed', container: 'base', reason: 'ErrImagePull', message: outcome.imagePullFailed, events: [`Warning Failed: ${outcome.imagePullFailed}`] };
  }
  return { kind: 'evicted', message: outcome.evicted };
}

/** Judge `taskId` of `dag` (a KubernetesPodOperator) for a simulated pod end. */
export async function simulatePodOutcome(dag: Dag, taskId: string, outcome: SimulatedPodOutcome, options: SimulatePodOptions = {}): Promise<PodTaskSimulation> {
  const task = dag.getTask(taskId);
  if (!(task instanceof KubernetesPodOperator)) {
    throw new InvalidArgument(`simulatePodOutcome: task '${taskId}' is a ${task.operatorName}, not a KubernetesPodOperator`);
  }
  const identity = { dagId: dag.dagId, taskId, runId: options.runId ?? 'manual__simulated', tryNumber: options.tryNumber ?? 1, mapIndex: options.mapIndex ?? -1 };
  const pod = await task.renderPod(identity);
  const where = { name: pod.metadata?.name ?? taskId, namespace: pod.metadata?.namespace ?? 'default' };
  try {
    const returnValue = task.judgePodEnd(toPodEnd(outcome), where, options.xcom ?? null);
    return { state: 'success', returnValue, message: null, failure: null, platformFailure: false, retryPolicy: null, pod };
  } catch (err) {
    if (err instanceof TaskSkipped) return { state: 'skipped', returnValue: undefined, message: err.message, failure: null, platformFailure: false, retryPolicy: null, pod };
    const failure = failureOfError(err);
    return { state: 'failed', returnValue: undefined, message: failure.message, failure, platformFailure: isPlatformFailure(failure), retryPolicy: retryPolicyOf(failure), pod };
  }
}
