/**
 * KubernetesJobTrigger: the deferrable half of the KubernetesJobOperator. The task creates (or finds) its Job
 * on a worker, then defers to this trigger, which waits in the triggerer — by a watch on the Job's conditions
 * and one on its pods, never polling — until the Job ends or a pod of it can never start. Its event resumes
 * the task on a worker (`KubernetesJobOperator.executeComplete`), which reads the pods' logs and XComs and
 * applies the finish action. It never creates anything, so the triggerer may run it again after a takeover.
 * Cancelled because its task left `deferred` (marked failed, cleared, timed out: `env.isTaskDeferred()` is
 * false), it deletes the Job, as a killed sync task does; cancelled for a triggerer stop or a takeover, it
 * leaves the Job running for the next triggerer.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { errorMessage } from '../../core/index.ts';
import type { JsonObject } from '../../core/index.ts';
import { triggerClasspath } from '../../triggers/index.ts';
import type { SerializedTrigger, Trigger, TriggerEnv, TriggerEvent } from '../../triggers/index.ts';
import { triggerKubeClients } from '../lifecycle/triggerClients.ts';
import { runListWatch } from '../watch/listWatch.ts';
import { fatalWaiting } from '../lifecycle/podState.ts';
import { jobEnd } from './jobState.ts';
import type { JobEnd } from './jobState.ts';
import type { KubeClients } from '../client/clients.ts';
import type { PropagationPolicy } from './options.ts';
import { deleteJob, watchJob } from './runJob.ts';

/** Arguments of the trigger (stored as JSON in the trigger table: names only, never credentials). */
export interface KubernetesJobTriggerKwargs extends JsonObject {
  kubernetesConnId: string | null;
  namespace: string;
  name: string;
  /** The Job's uid: a Job recreated under the same name is not ours. */
  uid: string;
  /** Label selector of the Job's pods. */
  podSelector: string;
  failOnPodStartError: boolean;
  /** Propagation of the deletion when the task leaves `deferred` (marked, cleared, timed out). Default Foreground. */
  onKillPropagationPolicy: string;
}

/** The event's payload: how the Job ended (the resumed task re-reads the Job itself). */
export interface KubernetesJobTriggerPayload extends JsonObject {
  end: JsonObject;
}

/** Waits in the triggerer for a Job to end (see the module doc). */
export class KubernetesJobTrigger implements Trigger {
  readonly kwargs: KubernetesJobTriggerKwargs;

  constructor(kwargs: JsonObject) {
    this.kwargs = kwargs as KubernetesJobTriggerKwargs;
  }

  serialize(): SerializedTrigger {
    return { classpath: triggerClasspath(import.meta.url, 'KubernetesJobTrigger'), kwargs: this.kwargs };
  }

  async *run(signal: AbortSignal, env: TriggerEnv): AsyncGenerator<TriggerEvent> {
    const k = this.kwargs;
    const clients = await triggerKubeClients(env, k.kubernetesConnId, k.namespace);
    const log = (m: string): void => env.log.info(`job ${k.namespace}/${k.name}: ${m}`);
    const watcher = watchJob(clients, k.namespace, k.name, undefined, log, k.uid);
    const stop = new AbortController();
    const fatal = new AbortController();
    let fatalEnd: JobEnd | undefined;
    const pods = k.failOnPodStartError ? runListWatch<V1Pod>({
      watch: clients.watch,
      path: `/api/v1/namespaces/${encodeURIComponent(k.namespace)}/pods`,
      labelSelector: k.podSelector,
      list: () => clients.core.listNamespacedPod({ namespace: k.namespace, labelSelector: k.podSelector }),
      onList: (items) => { for (const p of items) check(p); },
      onEvent: (_type, p) => check(p),
      onRetry: (e, n) => log(`pods watch reconnecting (attempt ${n}): ${errorMessage(e)}`),
      signal: stop.signal,
    }) : Promise.resolve();
    function check(pod: V1Pod): void {
      const f = fatalWaiting(pod);
      if (f === undefined || fatalEnd !== undefined) return;
      fatalEnd = { kind: 'podCannotStart', pod: pod.metadata?.name ?? '?', container: f.container, reason: f.reason, message: f.message };
      fatal.abort();
    }
    let fired = false;
    try {
      const end = await watcher.until((s) => jobEnd(s.object, s.deleted), { signal: AbortSignal.any([signal, fatal.signal]) });
      const result = end ?? fatalEnd;
      if (result === undefined) return; // cancelled: see finally
      log(`ended: ${JSON.stringify(result)}`);
      const payload: KubernetesJobTriggerPayload = { end: result as unknown as JsonObject };
      fired = true;
      yield { payload };
    } finally {
      stop.abort();
      await Promise.allSettled([watcher.stop(), pods]);
      if (!fired && signal.aborted) await this.#onCancel(env, clients, log);
    }
  }

  /** Cancelled: delete the Job only when the task left `deferred` (see the module doc). */
  async #onCancel(env: TriggerEnv, clients: KubeClients, log: (m: string) => void): Promise<void> {
    const k = this.kwargs;
    let deferred = true;
    try {
      deferred = env.isTaskDeferred === undefined ? true : await env.isTaskDeferred();
    } catch (error) {
      env.log.warn(`job ${k.namespace}/${k.name}: could not read the task's state (${errorMessage(error)}); leaving the Job`);
    }
    if (deferred) return;
    const policy = ((k.onKillPropagationPolicy as string | undefined) ?? 'Foreground') as PropagationPolicy;
    try {
      await deleteJob(clients, k.namespace, k.name, policy);
      log(`deleted (propagation ${policy}): the task left deferred (marked, cleared or timed out)`);
    } catch (error) {
      env.log.error(`job ${k.namespace}/${k.name}: could not delete the Job of a task that left deferred (delete it by hand): ${errorMessage(error)}`);
    }
  }
}
