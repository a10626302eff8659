// Child processes of the test cluster: each runs in its own process group so
// that stopping it also stops anything it forked, and every group still alive
// is killed when the test runner exits, however it exits: an exit hook covers
// normal exits and signals, a watchdog process covers SIGKILL and crashes.
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A control-plane process started by {@link startProcess}. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** File that receives the process's stdout and stderr. */
  readonly logPath: string;
  /** Resolves when the process has exited, with its exit code or signal. */
  readonly exited: Promise<string>;
  /** How the process ended, or undefined while it runs. */
  exitStatus(): string | undefined;
  /** SIGTERM to the process group, SIGKILL after `graceMs` (default 3000). */
  stop(graceMs?: number): Promise<void>;
}

const liveGroups = new Set<number>();
let exitHookInstalled = false;
/** Process groups started by this process, one per line, for the watchdog. */
const groupsFile = join(tmpdir(), `capstan-k8s-groups-${process.pid}`);

// Outlives this process by at most a second: once it is gone (even by
// SIGKILL, which runs no hook) the watchdog kills every group it started.
const watchdogScript =
  'while kill -0 "$1" 2>/dev/null; do sleep 1; done; ' +
  '[ -f "$2" ] && while read -r g; do kill -KILL -- "-$g" 2>/dev/null; done < "$2"; rm -f "$2"';

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const watchdog = spawn('bash', ['-c', watchdogScript, 'capstan-k8s-watchdog', String(process.pid), groupsFile], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();
  // 'exit' handlers must be synchronous: a SIGKILL to each group is.
  process.on('exit', () => {
    for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
    rmSync(groupsFile, { force: true });
  });
  // A signal nobody handles kills Node without running 'exit' handlers, so
  // handle it here, unless someone else does (and then exits normally).
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
    process.on(signal, () => {
      if (process.listenerCount(signal) > 1) return;
      for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
      process.exit(128 + number);
    });
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * Starts `command` detached in a new process group, output appended to `logPath`.
 *
 * @example
 * const etcd = startProcess('etcd', '/cache/bin/etcd', ['--data-dir', dir], `${dir}/etcd.log`);
 * await etcd.stop();
 */
export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  logPath: string,
  env: NodeJS.ProcessEnv = process.env,
): ManagedProcess {
  installExitHook();
  const fd = openSync(logPath, 'a');
  let child;
  try {
    child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd], env });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: could not start ${command}`);
  liveGroups.add(pid);
  appendFileSync(groupsFile, `${pid}\n`);
  // The cluster is meant to live exactly as long as the runner, never longer,
  // so its children must not keep the event loop alive either.
  child.unref();
  let status: string | undefined;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      liveGroups.delete(pid);
      status = signal ?? `exit code ${code ?? '?'}`;
      resolve(status);
    });
    child.once('error', (err) => {
      liveGroups.delete(pid);
      status = `spawn error: ${err.message}`;
      resolve(status);
    });
  });
  return {
    name,
    pid,
    logPath,
    exited,
    exitStatus: () => status,
    async stop(graceMs = 3000): Promise<void> {
      if (!liveGroups.has(pid)) return;
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
        // Children of the leader may outlive it; the group must not.
        killGroup(pid, 'SIGKILL');
        liveGroups.delete(pid);
      }
    },
  };
}
