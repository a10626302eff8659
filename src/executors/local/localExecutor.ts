/**
 * LocalExecutor: task tries run in child processes on this machine, at most `parallelism` at once. A few
 * processes are started ahead of time and wait for an assignment, so a task's start latency does not
 * include Node's boot. With `reuseProcesses` a process that ended a try cleanly takes the next one (with the
 * try's own environment and a new instance of its DAG file; see src/runtime/tryIsolation.ts for what is and
 * is not shared) until it has run `triesPerProcess` tries, grown past `processMemoryLimitBytes`, or a try
 * left something behind, was stopped, crashed or paused; without it every try gets a process of its own.
 * Reused processes rehearse a try while they wait for their first (src/runtime/warmUp.ts), and offer their slot
 * as soon as they report a try's outcome: the try the scheduler queues into it goes to the first process that is
 * free, without another scheduling round.
 * Task processes are their own process-group leaders: stopping a try kills the whole group (a Bash
 * command's children too), and a scheduler crash leaves them running to report through the Execution API.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { TaskTokenIssuer } from '../../auth/index.ts';
import type { TaskInstanceRow } from '../../store/index.ts';
import type { RunTaskOptions } from '../../runtime/index.ts';
import { isProcessGroupMessage, isReporting, isTryDone, type WorkerAssignment, type WorkerTryDone, type WorkerWarmUp } from '../../runtime/index.ts';
import { taskEnvironment } from '../taskEnv.ts';
import type { Executor, ExecutorEvent, TaskWorkload } from '../types.ts';

const WORKER = new URL('../../runtime/workerProcess.ts', import.meta.url);

export interface LocalExecutorOptions {
  parallelism: number;
  warmProcesses: number;
  executionApiUrl: string;
  baseLogFolder: string;
  /**
   * Ship each try's log through the Execution API into the API server's task-log store every `intervalMs`,
   * before its outcome is reported and at its end, as worker pods do: set when that store is not this machine's
   * `baseLogFolder` (`logging.remoteStore` other than `none`). The file in `baseLogFolder` is written either way.
   * Default: not shipped.
   */
  shipLogs?: { intervalMs: number };
  tokens: TaskTokenIssuer;
  killGraceMs: number;
  heartbeatIntervalMs?: number;
  now: () => number;
  logger: Logger;
  /**
   * The environment task processes start with, before `env`: already filtered by {@link taskEnvironment}
   * (default: this process's environment through the built-in allow-list). Never the whole environment,
   * which holds the scheduler's own secrets.
   */
  baseEnv?: Record<string, string>;
  /** Extra environment for task processes. */
  env?: Record<string, string>;
  /** Let a task process run further tries after one ended cleanly (`localExecutor.reuseProcesses`). Default false. */
  reuseProcesses?: boolean;
  /** A reused process retires after this many tries (`localExecutor.triesPerProcess`). Default 100. */
  triesPerProcess?: number;
  /** A reused process retires once its resident set passes this after a try. Default 512 MiB. */
  processMemoryLimitBytes?: number;
  /** A reused process idle this long exits, unless it is one of the `warmProcesses` kept ready. Default 60 s. */
  idleProcessTimeoutMs?: number;
}

/** An idle task process and since when it waits. */
interface IdleProcess {
  child: ChildProcess;
  since: number;
}

interface Running {
  workload: TaskWorkload;
  child: ChildProcess | null;
  /** For adopted tries: the pid of a process this executor did not start. */
  pid: number;
  /** Process groups the task process announced (its commands' groups), stopped when it ends. */
  groups: number[];
  /**
   * A reused process said it is reporting the try's outcome: only that call, the task's callbacks and the end of
   * its log are left, so its slot is offered to the scheduler again, and the try queued into it is handed to
   * this process (or whichever is free first) as soon as it is done.
   */
  reporting: boolean;
}

export class LocalExecutor implements Executor {
  readonly name = 'LocalExecutor';
  readonly #o: LocalExecutorOptions;
  readonly #running = new Map<string, Running>();
  readonly #pending: TaskWorkload[] = [];
  readonly #events: ExecutorEvent[] = [];
  readonly #warm: IdleProcess[] = [];
  /** Running tries reporting their outcome (see {@link Running.reporting}). */
  #reporting = 0;
  readonly #spawnEnv: Record<string, string>;
  #adoptedPoll: NodeJS.Timeout | undefined;
  #idleCheck: NodeJS.Timeout | undefined;
  #ended = false;

  constructor(options: LocalExecutorOptions) {
    this.#o = options;
    // Node's compile cache spares every task process re-compiling the same modules (a few times faster
    // start on a busy machine); an explicit NODE_COMPILE_CACHE in the environment wins.
    this.#spawnEnv = { NODE_COMPILE_CACHE: join(tmpdir(), 'node-compile-cache'), ...(options.baseEnv ?? taskEnvironment(process.env)), ...options.env };
  }

  async start(): Promise<void> {
    this.#fillWarmPool();
    if (this.#o.reuseProcesses) {
      const idleMs = this.#o.idleProcessTimeoutMs ?? 60_000;
      this.#idleCheck = setInterval(() => this.#retireIdle(idleMs), Math.max(50, Math.min(idleMs, 5_000)));
      this.#idleCheck.unref();
    }
  }

  openSlots(): number {
    return Math.max(0, this.#o.parallelism - (this.#running.size - this.#reporting) - this.#pending.length);
  }

  queueWorkloads(workloads: TaskWorkload[]): void {
    // A try queued into the slot of one reporting its outcome waits for a process to be free: never more task
    // processes than `parallelism`.
    this.#pending.push(...workloads);
    this.#launchPending();
  }

  async sync(): Promise<ExecutorEvent[]> {
    return this.#events.splice(0, this.#events.length);
  }

  async terminate(tiId: string, tryNumber: number, reason: string): Promise<void> {
    const waiting = this.#pending.findIndex((w) => w.tiId === tiId && w.tryNumber === tryNumber);
    if (waiting >= 0) {
      this.#pending.splice(waiting, 1);
      this.#events.push({ kind: 'exited', tiId, tryNumber, exitCode: null, signal: null, detail: `stopped before a task process took it (${reason})` });
      return;
    }
    const r = this.#running.get(key(tiId, tryNumber));
    if (!r) return;
    this.#o.logger.info({ tiId, tryNumber, reason }, 'stopping task process');
    // Commands a task starts may run in process groups of their own (BashOperator's do), which a signal
    // to the task process's group does not reach; a stopped or killed task process cannot pass it on.
    const groups = new Set([r.pid, ...r.groups, ...descendantGroups(r.pid)]);
    for (const g of groups) killGroup(g, 'SIGTERM');
    setTimeout(() => {
      for (const g of [...descendantGroups(r.pid), ...groups]) killGroup(g, 'SIGKILL');
    }, this.#o.killGraceMs).unref();
  }

  async tryAdopt(tis: TaskInstanceRow[]): Promise<TaskInstanceRow[]> {
    const host = hostname();
    const notAdopted: TaskInstanceRow[] = [];
    for (const ti of tis) {
      if (this.#running.has(key(ti.id, ti.try_number))) continue;
      if (ti.state === 'running' && ti.hostname === host && ti.pid !== null && isAlive(ti.pid)) {
        const w = { tiId: ti.id, tryNumber: ti.try_number, dagId: ti.dag_id, runId: ti.run_id, taskId: ti.task_id, mapIndex: ti.map_index, queue: ti.queue, priorityWeight: ti.priority_weight, fileloc: '', executionTimeoutMs: null };
        // Not our child, so it cannot announce its commands' process groups: note them while it lives.
        this.#running.set(key(ti.id, ti.try_number), { workload: w, child: null, pid: ti.pid, groups: descendantGroups(ti.pid), reporting: false });
      } else {
        notAdopted.push(ti);
      }
    }
    if (this.#running.size > 0 && !this.#adoptedPoll) {
      // Adopted processes are not our children: notice their exit by polling.
      this.#adoptedPoll = setInterval(() => this.#pollAdopted(), 1000);
      this.#adoptedPoll.unref();
    }
    return notAdopted;
  }

  async end(): Promise<void> {
    this.#ended = true;
    if (this.#adoptedPoll) clearInterval(this.#adoptedPoll);
    if (this.#idleCheck) clearInterval(this.#idleCheck);
    for (const { child } of this.#warm.splice(0)) child.kill('SIGKILL');
    // Tries no process took yet stay queued in the store, for the next scheduler to adopt or reset.
    this.#pending.splice(0);
    if (this.#stderr !== undefined) closeSync(this.#stderr); // the children keep their own copies
    this.#stderr = undefined;
    // Running task processes carry on and report through the Execution API; their IPC channels must not
    // keep this process alive until they finish.
    for (const r of this.#running.values()) {
      r.child?.channel?.unref();
      r.child?.unref();
    }
  }

  /** Hand waiting tries to idle processes, or to new ones while fewer than `parallelism` run. */
  #launchPending(): void {
    while (this.#pending.length > 0) {
      const child = this.#takeWarm();
      if (child === undefined && this.#running.size >= this.#o.parallelism) return;
      this.#launch(this.#pending.shift() as TaskWorkload, child);
    }
  }

  #launch(w: TaskWorkload, warm: ChildProcess | undefined): void {
    const child = warm ?? this.#spawn();
    const k = key(w.tiId, w.tryNumber);
    const running: Running = { workload: w, child, pid: child.pid ?? -1, groups: [], reporting: false };
    const previous = this.#running.get(k);
    if (previous) this.#forget(k, previous);
    this.#running.set(k, running);
    let exited = false;
    const onMessage = (m: unknown): void => {
      if (isProcessGroupMessage(m)) {
        running.groups.push(m.pgid);
        if (exited) signalGroupOnly(m.pgid, 'SIGKILL');
      } else if (isReporting(m) && m.tiId === w.tiId) {
        this.#markReporting(running);
      } else if (isTryDone(m) && m.tiId === w.tiId) {
        detach();
        this.#tryDone(k, running, m);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      exited = true;
      detach();
      // Whatever the task process started and left behind (a killed task process cannot clean up; its
      // commands run in groups of their own) is stopped with it.
      for (const g of [running.pid, ...running.groups]) signalGroupOnly(g, 'SIGKILL');
      // A try continued after a deferral may already run in a newer process under the same key.
      this.#forget(k, running);
      this.#events.push({ kind: 'exited', tiId: w.tiId, tryNumber: w.tryNumber, exitCode: code, signal, pid: running.pid });
      this.#launchPending();
      this.#fillWarmPool();
    };
    const detach = (): void => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
    const run: RunTaskOptions = {
      apiUrl: this.#o.executionApiUrl,
      token: this.#o.tokens.issue(w.tiId, w.tryNumber, this.#o.now()),
      tiId: w.tiId,
      baseLogFolder: this.#o.baseLogFolder,
      ...(this.#o.shipLogs === undefined ? {} : { shipLogs: this.#o.shipLogs }),
      ...(this.#o.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: this.#o.heartbeatIntervalMs }),
    };
    const msg: WorkerAssignment = this.#o.reuseProcesses
      ? { kind: 'run', run, reuse: { env: this.#spawnEnv, maxTries: this.#o.triesPerProcess ?? 100, maxRssBytes: this.#o.processMemoryLimitBytes ?? 512 * 1024 * 1024 } }
      : { kind: 'run', run };
    child.send(msg, (err) => {
      if (err) {
        this.#events.push({ kind: 'launchFailed', tiId: w.tiId, tryNumber: w.tryNumber, reason: err.message, retryable: true });
        child.kill('SIGKILL');
      }
    });
    this.#fillWarmPool();
  }

  /** A reused process ended a try: report it as that try's process exit, then keep the process or let it go. */
  #tryDone(k: string, running: Running, done: WorkerTryDone): void {
    const { workload: w, child } = running;
    // What the try's commands left in groups of their own goes with the try, as when its process exits.
    for (const g of running.groups) signalGroupOnly(g, 'SIGKILL');
    this.#forget(k, running);
    this.#events.push({ kind: 'exited', tiId: w.tiId, tryNumber: w.tryNumber, exitCode: done.exitCode, signal: null, pid: running.pid });
    if (child === null) return;
    if (done.retiring !== null) {
      // It exits on its own once it sent this; a replacement starts now.
      this.#o.logger.debug({ pid: running.pid, reason: done.retiring }, 'task process retires');
      child.once('exit', () => {
        this.#launchPending();
        this.#fillWarmPool();
      });
    } else if (this.#ended || !child.connected) {
      child.kill('SIGKILL');
    } else if (this.#pending.length > 0) {
      // The next try goes straight to the process that is free, without waiting for the scheduler.
      this.#launch(this.#pending.shift() as TaskWorkload, child);
    } else {
      this.#addIdle(child);
    }
    this.#launchPending();
    this.#fillWarmPool();
  }

  #markReporting(running: Running): void {
    if (running.reporting || this.#running.get(key(running.workload.tiId, running.workload.tryNumber)) !== running) return;
    running.reporting = true;
    this.#reporting++;
  }

  /** `running` is over: it no longer holds a slot. */
  #forget(k: string, running: Running): void {
    if (this.#running.get(k) !== running) return;
    this.#running.delete(k);
    if (running.reporting) this.#reporting--;
  }

  #stderr: number | undefined;

  #stderrFd(): number {
    if (this.#stderr === undefined) {
      mkdirSync(this.#o.baseLogFolder, { recursive: true, mode: 0o700 });
      this.#stderr = openSync(join(this.#o.baseLogFolder, 'task-processes.log'), 'a', 0o600);
    }
    return this.#stderr;
  }

  #spawn(): ChildProcess {
    // A task process outlives a stopped scheduler by design (it reports through the Execution API), so
    // it must not hold the scheduler's own stderr open (a terminal, a supervisor's or a test runner's
    // pipe): what it prints outside its task log goes to a file beside the task logs.
    const child = fork(WORKER, [], { detached: true, stdio: ['ignore', 'ignore', this.#stderrFd(), 'ipc'], env: this.#spawnEnv });
    child.on('error', (err) => this.#o.logger.error({ err }, 'task process error'));
    if (this.#o.reuseProcesses) {
      // A process that runs many tries rehearses one while it waits (src/runtime/warmUp.ts); one that runs a
      // single try would spend more CPU rehearsing than its try saves.
      const warmUp: WorkerWarmUp = { kind: 'warmUp', apiUrl: this.#o.executionApiUrl };
      child.send(warmUp, () => undefined);
    }
    child.once('exit', () => {
      const i = this.#warm.findIndex((idle) => idle.child === child);
      if (i >= 0) this.#warm.splice(i, 1);
      // What a retired reused process's tries left in its group goes with it.
      signalGroupOnly(child.pid ?? -1, 'SIGKILL');
    });
    return child;
  }

  #takeWarm(): ChildProcess | undefined {
    // The most recently used first: its caches are warm, and the longest idle are the ones to retire.
    while (this.#warm.length > 0) {
      const { child } = this.#warm.pop() as IdleProcess;
      if (child.exitCode === null && child.signalCode === null && child.connected) return child;
    }
    return undefined;
  }

  #addIdle(child: ChildProcess): void {
    this.#warm.push({ child, since: this.#o.now() });
  }

  #fillWarmPool(): void {
    if (this.#ended) return;
    // Reused processes come back when their try ends: never more of them than tries can run at once. Single-use
    // ones are kept ready for the next tries however many run now.
    const target = this.#o.reuseProcesses ? Math.min(this.#o.warmProcesses, this.#o.parallelism - this.#running.size - this.#pending.length) : this.#o.warmProcesses;
    while (this.#warm.length < target) this.#addIdle(this.#spawn());
  }

  /** Idle processes beyond the warm ones that waited longer than `idleMs` exit, giving their memory back. */
  #retireIdle(idleMs: number): void {
    const now = this.#o.now();
    // The longest idle are at the front.
    while (this.#warm.length > this.#o.warmProcesses && now - (this.#warm[0] as IdleProcess).since > idleMs) {
      (this.#warm.shift() as IdleProcess).child.kill('SIGKILL');
    }
  }

  #pollAdopted(): void {
    for (const [k, r] of this.#running) {
      if (r.child !== null) continue;
      if (isAlive(r.pid)) {
        for (const g of descendantGroups(r.pid)) if (!r.groups.includes(g)) r.groups.push(g);
      } else {
        // Gone without us seeing how: stop what it left behind, as for a child of ours.
        for (const g of r.groups) signalGroupOnly(g, 'SIGKILL');
        this.#forget(k, r);
        this.#events.push({ kind: 'exited', tiId: r.workload.tiId, tryNumber: r.workload.tryNumber, exitCode: null, signal: null, detail: 'adopted process is gone', pid: r.pid });
      }
    }
  }
}

function key(tiId: string, tryNumber: number): string {
  return `${tiId}#${tryNumber}`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // An exited process nobody reaped yet (a zombie: its parent died and pid 1 does not reap) is gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust the signal check
  }
}

/**
 * Process groups of the descendants of `pid`, from /proc on Linux, else from `ps` (macOS); empty when
 * neither is available. Never this process's own group.
 */
function descendantGroups(pid: number): number[] {
  const table = processTable();
  const children = new Map<number, Array<{ pid: number; pgid: number }>>();
  let ownGroup = process.pid;
  for (const p of table) {
    if (p.pid === process.pid) ownGroup = p.pgid;
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const groups = new Set<number>();
  const queue = [pid];
  while (queue.length > 0) {
    for (const c of children.get(queue.pop() as number) ?? []) {
      if (c.pgid > 1 && c.pgid !== ownGroup && c.pgid !== pid) groups.add(c.pgid);
      queue.push(c.pid);
    }
  }
  return [...groups];
}

function processTable(): Array<{ pid: number; ppid: number; pgid: number }> {
  const out: Array<{ pid: number; ppid: number; pgid: number }> = [];
  if (existsSync('/proc/self/stat')) {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        // pid (comm) state ppid pgrp …; comm may contain spaces and parentheses, so split after the last ')'.
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        const [, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.push({ pid: Number(name), ppid: Number(ppid), pgid: Number(pgid) });
      } catch {
        // exited meanwhile
      }
    }
    return out;
  }
  let text: string;
  try {
    text = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,pgid='], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const [p, pp, g] = line.trim().split(/\s+/).map(Number);
    if (p !== undefined && pp !== undefined && g !== undefined && !Number.isNaN(g)) out.push({ pid: p, ppid: pp, pgid: g });
  }
  return out;
}

/** Signal process group `pgid` only: after its leader exited, its pid may belong to someone else. */
function signalGroupOnly(pgid: number, signal: NodeJS.Signals): void {
  if (pgid <= 1) return;
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is empty
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
