/**
 * Hooks a DAG author can attach to a pod's lifecycle (Airflow's KubernetesPodOperatorCallback). Every
 * hook is optional and may be async; a hook that throws is logged and never fails the task.
 */
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { errorMessage } from '../../core/index.ts';

/** Whether the pod is watched by the worker (`sync`) or by the triggerer (`deferred`). */
export type ExecutionMode = 'sync' | 'deferred';

/** What every pod hook receives. */
export interface PodHookContext {
  pod: V1Pod;
  client: CoreV1Api;
  mode: ExecutionMode;
}

/** One log line, for `progress`. */
export interface ProgressContext {
  line: string;
  container: string;
  timestamp: string | undefined;
  client: CoreV1Api;
  mode: ExecutionMode;
}

/** Lifecycle hooks; all optional. */
export interface PodLifecycleCallbacks {
  /** After the Kubernetes client for the task was created. */
  onSyncClientCreation?(context: { client: CoreV1Api }): void | Promise<void>;
  /** After the manifest was built, before it is sent (the pod has no uid yet). */
  onPodManifestCreated?(context: PodHookContext): void | Promise<void>;
  /** After the pod was created, or found and reattached to. */
  onPodCreation?(context: PodHookContext): void | Promise<void>;
  /** Once the base container started. */
  onPodStarting?(context: PodHookContext): void | Promise<void>;
  /** Once the base container ended (or the pod failed to start). */
  onPodCompletion?(context: PodHookContext): void | Promise<void>;
  /** After completion and XCom extraction, before the finish action. */
  onPodTeardown?(context: PodHookContext): void | Promise<void>;
  /** After the finish action (deletion or keeping). */
  onPodCleanup?(context: PodHookContext): void | Promise<void>;
  /** When a deferred task resumes on a worker with the trigger's event. */
  onOperatorResuming?(context: PodHookContext & { event: Readonly<Record<string, unknown>> }): void | Promise<void>;
  /** For every log line delivered to the task log. */
  progress?(context: ProgressContext): void | Promise<void>;
}

/** Names of the hooks, for {@link invokeCallback}. */
export type CallbackName = keyof PodLifecycleCallbacks;

/**
 * Calls `callbacks[name]` if present; an error (sync or async) is reported through `log`, never thrown.
 * Resolves when the hook finished.
 */
export async function invokeCallback<K extends CallbackName>(
  callbacks: PodLifecycleCallbacks | undefined,
  name: K,
  context: Parameters<NonNullable<PodLifecycleCallbacks[K]>>[0],
  log: (message: string) => void,
): Promise<void> {
  const hook = callbacks?.[name] as ((c: typeof context) => void | Promise<void>) | undefined;
  if (hook === undefined) return;
  try {
    await hook.call(callbacks, context);
  } catch (error) {
    log(`callback ${name} failed (ignored): ${errorMessage(error)}`);
  }
}
