/**
 * Process groups that operators start for their commands. BashOperator runs each command in a group of
 * its own so it can stop the whole command tree; but then a signal to the task process's group does not
 * reach it, and a task process that is killed outright (SIGKILL, the OOM killer) cannot clean up. So
 * operators announce such groups here, the task runtime passes them on to whoever supervises the task
 * process (the LocalExecutor), and the supervisor stops them once the task process is gone.
 */

/** Receives the id of each process group an operator starts in this process. */
export type ProcessGroupListener = (pgid: number) => void;

let listener: ProcessGroupListener | undefined;

/** Called by an operator right after it starts a command in a process group of its own. */
export function announceProcessGroup(pgid: number): void {
  listener?.(pgid);
}

/** Set (or with `undefined`, clear) this process's listener; the task runtime sets one. */
export function onProcessGroup(l: ProcessGroupListener | undefined): void {
  listener = l;
}
