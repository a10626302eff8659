/**
 * The executor interface: the scheduler hands queued task tries to an executor, which runs each one
 * somewhere (a local child process, a Kubernetes pod) and reports only what the task process itself
 * cannot: that a process or pod ended. The task's own outcome arrives through the Execution API.
 */
import type { FailureReason } from '../core/index.ts';
import type { TaskInstanceRow } from '../store/index.ts';

/** Everything an executor needs to start one try. */
export interface TaskWorkload {
  tiId: string;
  tryNumber: number;
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
  queue: string;
  priorityWeight: number;
  /** The DAG file the task process imports. */
  fileloc: string;
  executionTimeoutMs: number | null;
}

/** What an executor learned about a try since the last sync. */
export type ExecutorEvent =
  /** The process or pod ended; the scheduler fails the try if the task never reported an outcome. */
  | {
      kind: 'exited';
      tiId: string;
      tryNumber: number;
      exitCode: number | null;
      signal: string | null;
      detail?: string;
      /**
       * The process's pid, when the executor knows it: a try continued after a deferral or reschedule
       * runs in a new process, and the exit of the previous one must not end it.
       */
      pid?: number;
      /** Why, when the executor can tell (a pod OOM killed, evicted, lost with its node); default: an exit code. */
      failure?: FailureReason;
    }
  /** The try could not be started at all (spawn failed, pod rejected). `failure`: why, when more is known than "launch failed". */
  | { kind: 'launchFailed'; tiId: string; tryNumber: number; reason: string; retryable: boolean; failure?: FailureReason };

/** What the scheduler tells an executor as it starts it. */
export interface ExecutorStartContext {
  /** The scheduler's job id: executors that label what they launch (pods) use it as their owner identity. */
  jobId?: string | undefined;
}

export interface Executor {
  /** Stored on each task instance it runs, e.g. `LocalExecutor`. */
  readonly name: string;
  start(context?: ExecutorStartContext): Promise<void>;
  /** Tries it can accept now. */
  openSlots(): number;
  /** Start these tries (asynchronously; failures come back as events). */
  queueWorkloads(workloads: TaskWorkload[]): void;
  /** Events since the last call. */
  sync(): Promise<ExecutorEvent[]>;
  /** Stop a running try (timeout, mark-failed, clear). */
  terminate(tiId: string, tryNumber: number, reason: string): Promise<void>;
  /**
   * Take over tries a previous scheduler left running or queued. Returns the ones it could not adopt,
   * which the scheduler then resets.
   */
  tryAdopt(tis: TaskInstanceRow[]): Promise<TaskInstanceRow[]>;
  /** Stop accepting work; running tries continue (they report through the Execution API). */
  end(): Promise<void>;
}
