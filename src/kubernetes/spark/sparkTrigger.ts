/**
 * SparkApplicationTrigger: the deferrable half of the SparkKubernetesOperator. The task creates (or finds) its
 * SparkApplication on a worker and defers; this trigger waits in the triggerer — watching the application's
 * state and, once the Spark operator names it, the driver pod — until the application ends, the driver can
 * never start, or the application stays SUBMITTED past the startup timeout. The resumed task
 * (`SparkKubernetesOperator.executeComplete`) reads the driver's log and applies the deletion. It creates
 * nothing, so a triggerer taking it over may run it again. Cancelled because its task left `deferred`
 * (`env.isTaskDeferred()` false: marked failed, cleared, timed out), it deletes the application; cancelled
 * for a triggerer stop or a takeover, it leaves it.
 */
import type { JsonObject } from '../../core/index.ts';
import { triggerClasspath } from '../../triggers/index.ts';
import type { SerializedTrigger, Trigger, TriggerEnv, TriggerEvent } from '../../triggers/index.ts';
import { triggerKubeClients } from '../lifecycle/triggerClients.ts';
import { fatalWaiting } from '../lifecycle/podState.ts';
import { PodWatcher } from '../lifecycle/podWatcher.ts';
import { errorMessage } from '../../core/index.ts';
import type { KubeClients } from '../client/clients.ts';
import { deleteSparkApplication, driverPodName, isStarting, sparkEnd, sparkState, startupLeftMs, watchSparkApplication } from './runSpark.ts';
import type { SparkEnd } from './runSpark.ts';

/** Arguments of the trigger (names only, never credentials). */
export interface SparkApplicationTriggerKwargs extends JsonObject {
  kubernetesConnId: string | null;
  namespace: string;
  name: string;
  uid: string;
  startupTimeoutSeconds: number;
}

/** Waits in the triggerer for a SparkApplication to end (see the module doc). */
export class SparkApplicationTrigger implements Trigger {
  readonly kwargs: SparkApplicationTriggerKwargs;

  constructor(kwargs: JsonObject) {
    this.kwargs = kwargs as SparkApplicationTriggerKwargs;
  }

  serialize(): SerializedTrigger {
    return { classpath: triggerClasspath(import.meta.url, 'SparkApplicationTrigger'), kwargs: this.kwargs };
  }

  async *run(signal: AbortSignal, env: TriggerEnv): AsyncGenerator<TriggerEvent> {
    const k = this.kwargs;
    const clients = await triggerKubeClients(env, k.kubernetesConnId, k.namespace);
    const log = (m: string): void => env.log.info(`spark application ${k.namespace}/${k.name}: ${m}`);
    const watcher = watchSparkApplication(clients, k.namespace, k.name, undefined, log, k.uid);
    const stop = new AbortController();
    const early = new AbortController();
    let earlyEnd: SparkEnd | undefined;
    let driver: PodWatcher | undefined;
    const startDriver = (podName: string): void => {
      driver = PodWatcher.start({ core: clients.core, watch: clients.watch, namespace: k.namespace, name: podName });
      driver.subscribe((s) => {
        const f = s.pod === undefined ? undefined : fatalWaiting(s.pod);
        if (f === undefined || earlyEnd !== undefined) return;
        earlyEnd = { kind: 'driverCannotStart', pod: podName, container: f.container, reason: f.reason, message: f.message };
        early.abort();
      });
    };
    // The startup allowance runs from the application's creation; the clock's sleep is the trigger's timer.
    const startup = (async () => {
      const first = await watcher.until((s) => s.object ?? (s.deleted ? null : undefined), { signal: stop.signal });
      if (first === undefined || first === null) return;
      await env.clock.sleep(startupLeftMs(first, k.startupTimeoutSeconds, env.clock.now()), stop.signal);
      if (!stop.signal.aborted && isStarting(watcher.snapshot.object) && earlyEnd === undefined) {
        earlyEnd = { kind: 'startupTimeout', timeoutSeconds: k.startupTimeoutSeconds, state: sparkState(watcher.snapshot.object) };
        early.abort();
      }
    })().catch(() => undefined);
    let fired = false;
    try {
      const end = await watcher.until((s) => {
        if (driver === undefined && s.object !== undefined && sparkState(s.object) !== '' && sparkState(s.object) !== 'NEW') startDriver(driverPodName(s.object, k.name));
        return sparkEnd(s.object, s.deleted);
      }, { signal: AbortSignal.any([signal, early.signal]) });
      const result = end ?? earlyEnd;
      if (result === undefined) return; // cancelled: see finally
      log(`ended: ${JSON.stringify(result)}`);
      fired = true;
      yield { payload: { end: result as unknown as JsonObject } };
    } finally {
      stop.abort();
      await Promise.allSettled([watcher.stop(), driver?.stop(), startup]);
      if (!fired && signal.aborted) await this.#onCancel(env, clients, log);
    }
  }

  /** Cancelled: delete the application only when the task left `deferred` (see the module doc). */
  async #onCancel(env: TriggerEnv, clients: KubeClients, log: (m: string) => void): Promise<void> {
    const k = this.kwargs;
    let deferred = true;
    try {
      deferred = env.isTaskDeferred === undefined ? true : await env.isTaskDeferred();
    } catch (error) {
      env.log.warn(`spark application ${k.namespace}/${k.name}: could not read the task's state (${errorMessage(error)}); leaving it`);
    }
    if (deferred) return;
    try {
      await deleteSparkApplication(clients, k.namespace, k.name);
      log('deleted: the task left deferred (marked, cleared or timed out)');
    } catch (error) {
      env.log.error(`spark application ${k.namespace}/${k.name}: could not delete the application of a task that left deferred (delete it by hand): ${errorMessage(error)}`);
    }
  }
}
