/**
 * Entry of a LocalExecutor task process. Started ahead of time (warm), it waits for an assignment over IPC
 * and runs that try. Without reuse it then exits: one process per try. With reuse it resets what it can
 * (environment, working directory), checks what it cannot (globals, open handles, process listeners) and
 * either takes the next try or retires (see tryIsolation.ts and workerProtocol.ts).
 */
import { markPhase } from './tryPhases.ts';
import type { WorkerAssignment, WorkerReporting, WorkerTryDone, WorkerWarmUp } from './workerProtocol.ts';

// An idle process whose executor is gone (its scheduler was killed without a clean shutdown) will never
// get an assignment: it exits as soon as the IPC channel closes, or — should anything else hold the
// channel's other end open — as soon as it is re-parented (its parent's pid no longer is its parent).
// A process running a try ignores the loss of its parent: it finishes the try, reports it through the
// Execution API, and exits.
let busy = false;
const parentPid = process.ppid;
const orphaned = (): boolean => !process.connected || process.ppid !== parentPid;
const exitIfOrphaned = (): void => {
  if (!busy && orphaned()) process.exit(0);
};
process.on('disconnect', exitIfOrphaned);
const orphanCheck = setInterval(exitIfOrphaned, 250);
orphanCheck.unref();
// The channel may have closed while this module was still loading, before the listener existed.
exitIfOrphaned();

// The executor stops a try (timeout, zombie, run timeout) with SIGTERM to this process group. Exit
// through process.exit so 'exit' hooks run: operators use them to stop commands in their own groups.
process.once('SIGTERM', () => process.exit(143));

const { runTaskTry } = await import('./taskRunner.ts');
const { importDagFileInstance, registerCapstanResolver } = await import('../dagprocessing/loader.ts');
const { onProcessGroup } = await import('../sdk/processGroups.ts');
const { TryIsolation } = await import('./tryIsolation.ts');
const { warmUpTryPath } = await import('./warmUp.ts');
registerCapstanResolver();
// Loaded while the process waits rather than on a try's critical path: the SDK every DAG file imports as
// 'capstan', and fetch's HTTP client (loaded on first use; a data: URL needs no server).
await import('../index.ts');
await fetch('data:,').then((r) => r.arrayBuffer(), () => undefined);

// Tell the executor about every process group an operator starts, so it can stop them if this process
// is killed before it can (see sdk/processGroups.ts). A parent that is gone needs no telling.
onProcessGroup((pgid) => {
  if (process.connected) process.send?.({ kind: 'processGroup', pgid }, undefined, {}, () => undefined);
});

let tries = 0;
let isolation: InstanceType<typeof TryIsolation> | undefined;
/**
 * The rehearsal of a try's path (warmUp.ts), when the executor asked for one. A try that arrives meanwhile cuts
 * it short and waits only for the round under way.
 */
let warmingUp: Promise<void> | undefined;
const warmUpStop = new AbortController();

process.on('message', (msg: WorkerAssignment | WorkerWarmUp) => {
  if (msg?.kind === 'warmUp' && warmingUp === undefined && tries === 0 && !busy) {
    warmingUp = warmUpTryPath(msg.apiUrl, importDagFileInstance, warmUpStop.signal).then(() => markPhase('warmedUp'));
    return;
  }
  if (busy || msg?.kind !== 'run') return;
  busy = true;
  markPhase('assigned');
  warmUpStop.abort();
  if (warmingUp === undefined) runAssignment(msg);
  else void warmingUp.then(() => runAssignment(msg));
});

function runAssignment(msg: WorkerAssignment): void {
  const reuse = msg.reuse;
  if (reuse) {
    // Taken once the process is booted and warmed up: what the first try finds is what every try must find.
    isolation ??= new TryIsolation();
    isolation.enter(reuse.env);
  } else {
    // One try, then exit: the channel must not keep this process alive should the try's end be missed.
    clearInterval(orphanCheck);
    process.channel?.unref();
  }
  const report = { paused: false, aborted: false };
  const onReporting = (): void => {
    const reporting: WorkerReporting = { kind: 'reporting', tiId: msg.run.tiId };
    if (process.connected) process.send?.(reporting, undefined, {}, () => undefined);
  };
  void runTaskTry(msg.run, reuse ? { report, importDag: importDagFileInstance, onReporting } : undefined)
    .catch((err: unknown) => {
      process.stderr.write(`task process failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      return 1;
    })
    .then((exitCode) => {
      tries++;
      if (!reuse) {
        process.exitCode = exitCode;
        process.exit();
      }
      const retiring = retireReason(reuse, report);
      const done: WorkerTryDone = { kind: 'tryDone', tiId: msg.run.tiId, exitCode, retiring };
      busy = false;
      if (retiring !== null || orphaned()) {
        // Exit once the executor has the answer (or cannot get it).
        if (process.connected) process.send?.(done, undefined, {}, () => process.exit(exitCode));
        else process.exit(exitCode);
        return;
      }
      process.send?.(done, undefined, {}, () => exitIfOrphaned());
    });
}
markPhase('runtimeLoaded');
process.send?.({ ready: true });

function retireReason(reuse: NonNullable<WorkerAssignment['reuse']>, report: { paused: boolean; aborted: boolean }): string | null {
  // A try that was stopped may have left work running; a paused (deferred) try continues in another process,
  // so an exit event of this one can never be taken for the continuation's.
  if (report.aborted) return 'the try was stopped (timeout or changed elsewhere)';
  if (report.paused) return 'the try was deferred or rescheduled';
  if (tries >= reuse.maxTries) return `it ran ${tries} tries`;
  const rss = process.memoryUsage.rss();
  if (rss > reuse.maxRssBytes) return `its resident set is ${Math.round(rss / 1048576)} MiB`;
  return isolation?.leftBehind() ?? null;
}
