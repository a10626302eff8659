/**
 * Messages between the LocalExecutor and its task processes (over the Node IPC channel).
 *
 * executor → process: optionally one {@link WorkerWarmUp} first, then one {@link WorkerAssignment} per try. A
 * process started with reuse off runs one try and exits; with reuse on it answers each try with a
 * {@link WorkerTryDone} and waits for the next, unless the answer says it retires (then it exits right after).
 * process → executor: `{ ready: true }` once booted, {@link WorkerProcessGroup} for each process group an
 * operator starts; after each try of a reused process a {@link WorkerReporting} as it reports the try's outcome
 * (only that call, the task's callbacks and the end of its log are left), then {@link WorkerTryDone}.
 */
import type { RunTaskOptions } from './taskRunner.ts';

/** Limits under which a reused process takes another try. */
export interface ReuseLimits {
  /** The environment this try sees: the whole of `process.env` is replaced by it. */
  env: Record<string, string>;
  /** Retire after this many tries. */
  maxTries: number;
  /** Retire when the resident set is above this many bytes after a try. */
  maxRssBytes: number;
}

/** Run one try. */
export interface WorkerAssignment {
  kind: 'run';
  run: RunTaskOptions;
  /** Present when the process may be reused for further tries. */
  reuse?: ReuseLimits;
}

/** Rehearse a try's code path against the Execution API at `apiUrl` while waiting (src/runtime/warmUp.ts). */
export interface WorkerWarmUp {
  kind: 'warmUp';
  apiUrl: string;
}

/**
 * The try's work is done and its outcome is being reported: the executor offers its slot to the scheduler again
 * and hands the try queued into it to this process (or whichever is free first) once it is done. Sent before the
 * outcome reaches the Execution API, so the scheduler, woken by that outcome, already finds the slot open.
 */
export interface WorkerReporting {
  kind: 'reporting';
  tiId: string;
}

/** A try of a reused process is over (its outcome reported, or not: see `exitCode`). */
export interface WorkerTryDone {
  kind: 'tryDone';
  tiId: string;
  /** What the process would have exited with: 0 when the outcome was reported, 1 when it could not be. */
  exitCode: number;
  /** Why the process exits now instead of taking another try; null when it stays. */
  retiring: string | null;
}

/** An operator started a process group of its own. */
export interface WorkerProcessGroup {
  kind: 'processGroup';
  pgid: number;
}

/** Whether `m` is a {@link WorkerTryDone}. */
export function isTryDone(m: unknown): m is WorkerTryDone {
  return typeof m === 'object' && m !== null && (m as { kind?: unknown }).kind === 'tryDone' && typeof (m as { exitCode?: unknown }).exitCode === 'number';
}

/** Whether `m` is a {@link WorkerProcessGroup} naming a real group. */
export function isProcessGroupMessage(m: unknown): m is WorkerProcessGroup {
  return typeof m === 'object' && m !== null && (m as { kind?: unknown }).kind === 'processGroup' && Number.isInteger((m as { pgid?: unknown }).pgid) && (m as { pgid: number }).pgid > 1;
}

/** Whether `m` is a {@link WorkerReporting}. */
export function isReporting(m: unknown): m is WorkerReporting {
  return typeof m === 'object' && m !== null && (m as { kind?: unknown }).kind === 'reporting' && typeof (m as { tiId?: unknown }).tiId === 'string';
}
