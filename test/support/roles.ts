/**
 * Capstan's roles as real child processes, for crash and multi-scheduler tests: `node src/cli/main.ts
 * <role>` with a private home and database, each its own process-group leader so a test can SIGKILL one
 * role (and only it), and an `after` hook can kill everything it started. Also: polling with a deadline
 * and a diagnostic message, free ports, and the processes (task processes, their Bash commands) that
 * still carry a test's home in their environment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** A role process started by {@link startRole}. */
export interface RoleProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code or signal once the process itself has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last 20 kB of stdout and stderr (task processes share the stderr pipe). */
  output(): string;
  /** Send `signal` to this process only (not to the task processes it started). */
  kill(signal: NodeJS.Signals): void;
  alive(): boolean;
}

const started = new Set<RoleProcess>();

/** The environment of a role: the caller's, minus every CAPSTAN variable, plus `env`. */
export function roleEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CAPSTAN')));
  return { ...base, ...env };
}

/** Start `capstan <args>` (e.g. `['scheduler']`) as its own process group. */
export function startRole(name: string, args: string[], env: Record<string, string>): RoleProcess {
  const child = spawn(process.execPath, [MAIN, ...args], { env: roleEnv(env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exitedFlag = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      resolve({ code, signal });
    });
  });
  const role: RoleProcess = {
    name,
    child,
    pid: child.pid ?? -1,
    exited,
    output: () => out,
    kill: (signal) => {
      if (!exitedFlag) child.kill(signal);
    },
    alive: () => !exitedFlag,
  };
  started.add(role);
  return role;
}

/** Run `capstan <args>` to completion (e.g. `db migrate`); throws with its output on a non-zero exit. */
export async function runCapstanCommand(args: string[], env: Record<string, string>): Promise<string> {
  const role = startRole(args.join(' '), args, env);
  const { code } = await role.exited;
  started.delete(role);
  if (code !== 0) throw new Error(`capstan ${args.join(' ')} exited with ${code}:\n${role.output()}`);
  return role.output();
}

/** SIGKILL every role started here that is still running, and wait for them to exit. */
export async function killAllRoles(): Promise<void> {
  const roles = [...started];
  started.clear();
  for (const r of roles) r.kill('SIGKILL');
  await Promise.all(roles.map((r) => r.exited));
}

/** Pids of live processes whose environment holds `CAPSTAN_HOME=<home>` (roles, task processes, Bash). */
export function processesOfHome(home: string): number[] {
  const needle = `CAPSTAN_HOME=${home}\0`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.startsWith('Z')) continue; // a zombie is already dead
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** The command line of `pid`, for failure messages. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '(gone)';
  }
}

/** SIGKILL every process that still carries `home` in its environment (cleanup after a test). */
export function killProcessesOfHome(home: string): void {
  for (const pid of processesOfHome(home)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/**
 * Poll `check` until it returns a value other than undefined/false; after `timeoutMs` throw an error
 * with `what` and the text `diagnose` returns (process output, task states).
 */
export async function pollUntil<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, options: { timeoutMs: number; intervalMs?: number; diagnose?: () => Promise<string> | string }): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = options.diagnose ? await Promise.resolve(options.diagnose()).catch((e: unknown) => `(diagnose failed: ${String(e)})`) : '';
      const cause = lastError === undefined ? '' : `\nlast error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${cause}\n${detail}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Send `signal` to `child`'s process group (it must have been spawned `detached`): the process and what it
 * started — task processes, worker pools. Still reaches the members after the leader itself has exited
 * (a group id is not reused while any member lives); a gone group is ignored.
 */
export function signalProcessGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

/** True while `pid` runs (an exited, unreaped zombie counts as gone). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
}
