/**
 * Entry of a LocalExecutor task process. Started ahead of time (warm), it waits for one assignment over
 * IPC, runs that single try, and exits: one process per try, without paying Node's start-up on the
 * critical path.
 */
import { runTaskTry, type RunTaskOptions } from './taskRunner.ts';
import { registerCapstanResolver } from '../dagprocessing/loader.ts';
import { onProcessGroup } from '../sdk/processGroups.ts';

registerCapstanResolver();

// Tell the executor about every process group an operator starts, so it can stop them if this process
// is killed before it can (see sdk/processGroups.ts). A parent that is gone needs no telling.
onProcessGroup((pgid) => {
  if (process.connected) process.send?.({ kind: 'processGroup', pgid }, undefined, {}, () => undefined);
});

// The executor stops a try (timeout, zombie, run timeout) with SIGTERM to this process group. Exit
// through process.exit so 'exit' hooks run: operators use them to stop commands in their own groups.
process.once('SIGTERM', () => process.exit(143));

// An idle process whose executor is gone (its scheduler was killed without a clean shutdown) will never
// get an assignment: it exits as soon as the IPC channel closes, or — should anything else hold the
// channel's other end open — as soon as it is re-parented (its parent's pid no longer is its parent).
// A process running a try ignores the loss of its parent: it finishes the try, reports it through the
// Execution API, and exits.
let assigned = false;
const parentPid = process.ppid;
const exitIfOrphaned = () => {
  if (!assigned && (!process.connected || process.ppid !== parentPid)) process.exit(0);
};
process.once('disconnect', exitIfOrphaned);
const orphanCheck = setInterval(exitIfOrphaned, 250);
orphanCheck.unref();
// The channel may have closed while this module was still loading, before the listener existed.
exitIfOrphaned();

process.once('message', (msg: RunTaskOptions) => {
  assigned = true;
  clearInterval(orphanCheck);
  process.channel?.unref();
  runTaskTry(msg)
    .then((code) => {
      process.exitCode = code;
    })
    .catch((err: unknown) => {
      process.stderr.write(`task process failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    })
    .finally(() => {
      process.exit();
    });
});
process.send?.({ ready: true });
