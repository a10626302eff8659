/**
 * KubernetesPodTrigger: the deferrable half of the KubernetesPodOperator. The task creates (or reattaches to)
 * its pod on a worker, then defers to this trigger, which waits in the triggerer — by a watch on the pod,
 * resumed after drops and 410s by the shared list-watch, never polling — until the base container ends, the
 * pod fails to start (image pull, container config: at once), or the schedule / startup timeout passes. It
 * judges the pod with the very code the worker uses in sync mode (`awaitPodEnd`), and its event carries that
 * judgement: the task resumes on a worker (`KubernetesPodOperator.executeComplete`), which reads the rest of
 * the log, the XCom, runs the callbacks and the finish action.
 *
 * While it waits it follows the containers' logs (`logContainers`) into the deferred try's own log
 * (`env.taskLog`, when the triggerer keeps task logs), so readers see the pod's output live while no task
 * process runs; the event says where each follower stopped (`logs`), and the resumed task reads on from there,
 * so no line is written twice.
 *
 * It never creates anything, so the triggerer may run it again after a restart or a takeover; the timeouts
 * count from the pod's own creation / scheduling times, so a restart gives no fresh allowance. When it is
 * cancelled because its task left `deferred` (marked failed or success, cleared, deferral timed out —
 * `env.isTaskDeferred()` says false), it deletes the pod, as a killed sync task does; cancelled for any other
 * reason (triggerer stopping, trigger handed over) it leaves the pod running.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Clock, JsonObject } from '../../core/index.ts';
import { errorMessage, InvalidArgument } from '../../core/index.ts';
import { builtinClasspath } from '../../triggers/index.ts';
import type { SerializedTrigger, Trigger, TriggerEnv, TriggerEvent, TriggerTaskLog } from '../../triggers/index.ts';
import type { KubeClients } from '../client/clients.ts';
import { BASE_CONTAINER } from './podState.ts';
import { LogCursor } from './logCursor.ts';
import { followContainerLogs, followInPodOrder } from './podLogs.ts';
import { deletePod } from './cleanup.ts';
import type { PodEnd } from './podEnd.ts';
import { formatPodEvent, streamPodEvents } from './podEvents.ts';
import { awaitPodEnd } from './podStartup.ts';
import { PodWatcher } from './podWatcher.ts';
import { triggerKubeClients } from './triggerClients.ts';

/** Arguments of the trigger, stored as JSON in the trigger table: names and numbers, never credentials. */
export interface KubernetesPodTriggerKwargs extends JsonObject {
  /** Connection of the cluster (type `kubernetes`); null: the triggerer's default kubeconfig / in-cluster account. */
  kubernetesConnId: string | null;
  namespace: string;
  name: string;
  /** The pod's uid: a pod recreated under the same name is not the task's. */
  uid: string;
  /** Seconds the pod may wait to be scheduled, from its creation. */
  scheduleTimeoutSeconds: number;
  /** Seconds the base container may take to start, from the pod's scheduling. */
  startupTimeoutSeconds: number;
  /** Grace period of the deletion when the task leaves `deferred`; null: the pod's own. */
  deleteGracePeriodSeconds: number | null;
  /** Server-side timeout of each watch request (it is renewed from the last resourceVersion). Default 300. */
  watchTimeoutSeconds: number;
  /** The task's try, for the triggerer's log lines. */
  tryKey: string;
  // Also `logContainers` (string[]) when given: the containers whose logs go into the try's log while deferred
  // (the operator's containerLogs); absent (a trigger stored before it existed): ['base']. Read by logContainersOf.
}

/** The containers a trigger follows (see `KubernetesPodTriggerKwargs`). */
function logContainersOf(kwargs: JsonObject): string[] {
  const v = kwargs['logContainers'];
  return Array.isArray(v) ? v.filter(isString) : [BASE_CONTAINER];
}

/** The event's payload: how the pod ended, as `PodEnd` (JSON), and how far the logs were streamed. */
export interface KubernetesPodTriggerPayload extends JsonObject {
  end: JsonObject;
  /** Per container, where the trigger's follower stopped (`LogCursorState`): the resumed task reads on from there. */
  logs: JsonObject;
  /** The base container's last lines, for a failure's message. */
  logTail: string[];
}

/** The last lines of the base container kept for a failure's message. */
const TAIL_LINES = 20;
/** Longest wait, once the pod ended, for its logs' last lines before the task resumes (it reads the rest). */
const LOG_SETTLE_MS = 15_000;

function field<T>(kwargs: JsonObject, name: string, check: (v: unknown) => v is T, what: string): T {
  const v = kwargs[name];
  if (!check(v)) throw new InvalidArgument(`KubernetesPodTrigger: kwargs.${name} must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** Waits in the triggerer for a task's pod to end (see the module doc). Built-in: `capstan.KubernetesPodTrigger`. */
export class KubernetesPodTrigger implements Trigger {
  readonly kwargs: KubernetesPodTriggerKwargs;

  constructor(kwargs: JsonObject) {
    const connId = kwargs['kubernetesConnId'] ?? null;
    if (connId !== null && !isString(connId)) throw new InvalidArgument(`KubernetesPodTrigger: kwargs.kubernetesConnId must be a connection id or null, got ${JSON.stringify(connId)}`);
    const grace = kwargs['deleteGracePeriodSeconds'] ?? null;
    if (grace !== null && !isCount(grace)) throw new InvalidArgument(`KubernetesPodTrigger: kwargs.deleteGracePeriodSeconds must be a number of seconds or null, got ${JSON.stringify(grace)}`);
    this.kwargs = {
      kubernetesConnId: connId,
      namespace: field(kwargs, 'namespace', isString, 'a namespace'),
      name: field(kwargs, 'name', isString, 'a pod name'),
      uid: field(kwargs, 'uid', isString, 'the pod uid'),
      scheduleTimeoutSeconds: field(kwargs, 'scheduleTimeoutSeconds', isCount, 'a number of seconds'),
      startupTimeoutSeconds: field(kwargs, 'startupTimeoutSeconds', isCount, 'a number of seconds'),
      deleteGracePeriodSeconds: grace,
      watchTimeoutSeconds: kwargs['watchTimeoutSeconds'] === undefined ? 300 : field(kwargs, 'watchTimeoutSeconds', isCount, 'a number of seconds'),
      tryKey: typeof kwargs['tryKey'] === 'string' ? kwargs['tryKey'] : '',
      ...(Array.isArray(kwargs['logContainers']) ? { logContainers: kwargs['logContainers'].filter(isString) } : {}),
    };
  }

  serialize(): SerializedTrigger {
    return { classpath: builtinClasspath('KubernetesPodTrigger'), kwargs: this.kwargs };
  }

  async *run(signal: AbortSignal, env: TriggerEnv): AsyncGenerator<TriggerEvent> {
    const k = this.kwargs;
    const clients = await triggerKubeClients(env, k.kubernetesConnId, k.namespace);
    const where = `pod ${k.namespace}/${k.name}${k.tryKey ? ` (${k.tryKey})` : ''}`;
    const log = (m: string): void => env.log.info(`${where}: ${m}`);
    let initial: V1Pod | undefined;
    try {
      initial = await clients.core.readNamespacedPod({ namespace: k.namespace, name: k.name });
    } catch (error) {
      if ((error as { code?: unknown }).code !== 404) throw error;
    }
    if (initial === undefined || initial.metadata?.uid !== k.uid) {
      log('gone before the trigger started watching it');
      yield event({ kind: 'deleted' }, undefined);
      return;
    }
    const background = new AbortController();
    const watcher = PodWatcher.start({ core: clients.core, watch: clients.watch, namespace: k.namespace, name: k.name, uid: k.uid, initial,
      watchTimeoutSeconds: k.watchTimeoutSeconds, onRetry: (e, n) => log(`watch reconnecting (attempt ${n}): ${errorMessage(e)}`) });
    const eventLines: string[] = [];
    const events = streamPodEvents({ core: clients.core, watch: clients.watch, namespace: k.namespace, pod: k.name, uid: k.uid, signal: background.signal,
      onEvent: (e) => {
        const line = formatPodEvent(e);
        eventLines.push(line);
        env.log.debug(`${where}: [event] ${line}`);
      } });
    const logs = env.taskLog === undefined ? undefined : followLogs(env.taskLog, clients, watcher, k, AbortSignal.any([signal, background.signal]));
    let fired = false;
    try {
      const end = await awaitPodEnd({ watcher, scheduleTimeoutSeconds: k.scheduleTimeoutSeconds, startupTimeoutSeconds: k.startupTimeoutSeconds,
        events: () => Promise.resolve([...eventLines]), signal, now: () => env.clock.now() });
      if (end === undefined || signal.aborted) return;
      log(`ended (${end.kind}); the task resumes on a worker`);
      const streamed = await logs?.settle(env.clock);
      fired = true;
      yield event(end, streamed);
    } finally {
      background.abort();
      await Promise.allSettled([watcher.stop(), events, logs?.done]);
      if (!fired && signal.aborted) await this.#onCancel(env, clients.core, log);
    }
  }

  /** Cancelled: delete the pod only when the task left `deferred` (see the module doc). */
  async #onCancel(env: TriggerEnv, core: Parameters<typeof deletePod>[0], log: (m: string) => void): Promise<void> {
    const k = this.kwargs;
    let deferred = true;
    try {
      deferred = env.isTaskDeferred === undefined ? true : await env.isTaskDeferred();
    } catch (error) {
      env.log.warn(`${k.namespace}/${k.name}: could not read the task's state (${errorMessage(error)}); leaving the pod`);
    }
    if (deferred) return;
    try {
      await deletePod(core, k.namespace, k.name, k.deleteGracePeriodSeconds ?? undefined);
      log('deleted: the task left deferred (marked, cleared or timed out)');
    } catch (error) {
      env.log.error(`${k.namespace}/${k.name}: could not delete the pod of a task that left deferred (delete it by hand): ${errorMessage(error)}`);
    }
  }
}

function event(end: PodEnd, streamed: { logs: JsonObject; logTail: string[] } | undefined): TriggerEvent {
  const payload: KubernetesPodTriggerPayload = { end: JSON.parse(JSON.stringify(end)) as JsonObject, logs: streamed?.logs ?? {}, logTail: streamed?.logTail ?? [] };
  return { payload };
}

/**
 * Follows the pod's containers into the deferred try's log, as the worker does in sync mode (`[container] line`).
 * `settle` waits (briefly) for the followers to deliver the last lines of the ended containers, stores them, and
 * says where each stopped.
 */
function followLogs(taskLog: TriggerTaskLog, clients: KubeClients, watcher: PodWatcher, k: KubernetesPodTriggerKwargs, signal: AbortSignal) {
  const stop = new AbortController();
  const cursors = new Map(logContainersOf(k).map((c) => [c, new LogCursor()]));
  const tail: string[] = [];
  if (cursors.size > 0) taskLog.info(`the triggerer follows the log of pod ${k.namespace}/${k.name} while the task is deferred`);
  const done = followInPodOrder(watcher.snapshot.pod, [...cursors.keys()], (container) => followContainerLogs({
    kubeConfig: clients.kubeConfig, namespace: k.namespace, pod: k.name, container, watcher, cursor: cursors.get(container), permit: clients.streamPermit,
    signal: AbortSignal.any([signal, stop.signal]),
    onReconnect: (why) => taskLog.info(`[${container}] ${why}; resuming`),
    onLine: (line) => {
      taskLog.info(`[${line.container}] ${line.text}`);
      if (line.container !== BASE_CONTAINER) return;
      tail.push(line.text);
      if (tail.length > TAIL_LINES) tail.shift();
    },
  }));
  return {
    done,
    async settle(clock: Clock): Promise<{ logs: JsonObject; logTail: string[] }> {
      const timeout = new AbortController();
      await Promise.race([done, clock.sleep(LOG_SETTLE_MS, timeout.signal).catch(() => undefined)]);
      timeout.abort();
      stop.abort();
      await done;
      await taskLog.flush();
      const logs: JsonObject = {};
      for (const [container, cursor] of cursors) {
        const state = cursor.state();
        if (state !== undefined) logs[container] = { ...state };
      }
      return { logs, logTail: [...tail] };
    },
  };
}
