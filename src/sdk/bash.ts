/**
 * BashOperator: runs a command with `bash -c` in its own process group, streams its output into the
 * task log, and returns the last line of stdout as the XCom (Airflow's behaviour). A non-zero exit fails
 * the try; `skipOnExitCode` (default 99) skips it instead.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CapstanError, TaskSkipped } from '../core/index.ts';
import type { JsonObject } from '../core/index.ts';
import { BaseOperator, type TaskOptions } from './baseOperator.ts';
import { announceProcessGroup } from './processGroups.ts';
import type { TaskContext } from './taskContext.ts';

export interface BashOperatorOptions extends TaskOptions {
  bashCommand: string;
  /** Environment for the command. Replaces the worker's environment unless `appendEnv` is true. */
  env?: Record<string, string>;
  /** Add `env` to the worker's environment instead of replacing it. Default false. */
  appendEnv?: boolean;
  /** Working directory. Default: a fresh temporary directory's parent (the worker's cwd). */
  cwd?: string;
  /** Exit code(s) that mean "skip". Default 99. */
  skipOnExitCode?: number | number[];
  /** Push the last stdout line as `return_value`. Default true. */
  doXcomPush?: boolean;
}

export class BashOperator extends BaseOperator {
  static override readonly templateFields: readonly string[] = ['bashCommand', 'env', 'cwd'];
  static override readonly templateExt: readonly string[] = ['.sh', '.bash'];
  readonly operatorName = 'BashOperator';
  readonly bashCommand: string;
  readonly env: Record<string, string> | null;
  readonly appendEnv: boolean;
  readonly cwd: string | null;
  readonly skipOnExitCodes: readonly number[];
  readonly doXcomPush: boolean;

  constructor(options: BashOperatorOptions) {
    super(options);
    if (typeof options.bashCommand !== 'string' || options.bashCommand.trim() === '') {
      throw new CapstanError('dag_invalid', `task '${options.taskId}': bashCommand must be a non-empty string`);
    }
    this.bashCommand = options.bashCommand;
    this.env = options.env ?? null;
    this.appendEnv = options.appendEnv ?? false;
    this.cwd = options.cwd ?? null;
    const skip = options.skipOnExitCode ?? 99;
    this.skipOnExitCodes = Array.isArray(skip) ? [...skip] : [skip];
    this.doXcomPush = options.doXcomPush ?? true;
  }

  protected override serializeFields(): JsonObject {
    return {
      bashCommand: this.bashCommand,
      env: this.env,
      appendEnv: this.appendEnv,
      cwd: this.cwd,
      skipOnExitCodes: [...this.skipOnExitCodes],
    };
  }

  override async execute(ctx: TaskContext): Promise<string | undefined> {
    const env = this.env === null ? { ...process.env } : this.appendEnv ? { ...process.env, ...this.env } : { ...this.env };
    Object.assign(env, {
      CAPSTAN_CTX_DAG_ID: ctx.dagId,
      CAPSTAN_CTX_TASK_ID: ctx.taskId,
      CAPSTAN_CTX_RUN_ID: ctx.runId,
      CAPSTAN_CTX_TRY_NUMBER: String(ctx.tryNumber),
      CAPSTAN_CTX_LOGICAL_DATE: ctx.logicalDate?.toISOString() ?? '',
    });
    ctx.log.info(`running command: ${this.bashCommand}`);
    const child = spawn('bash', ['-c', this.bashCommand], { env, cwd: this.cwd ?? process.cwd(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) announceProcessGroup(child.pid);
    const signalGroup = (signal: NodeJS.Signals) => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, signal);
        } catch {
          // already gone
        }
      }
    };
    const killGroup = () => signalGroup('SIGTERM');
    // The command has its own process group, so nothing reaches it when this process ends: if the task
    // process exits while the command still runs (a timeout that SIGTERM did not stop), kill it for good.
    const killOnExit = () => signalGroup('SIGKILL');
    ctx.signal.addEventListener('abort', killGroup, { once: true });
    process.once('exit', killOnExit);
    let lastLine: string | undefined;
    const out = createInterface({ input: child.stdout });
    out.on('line', (line) => {
      lastLine = line;
      ctx.log.info(line);
    });
    const err = createInterface({ input: child.stderr });
    err.on('line', (line) => ctx.log.warn(line));
    let code: number | null;
    let signal: NodeJS.Signals | null;
    try {
      [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (c, s) => resolve([c, s]));
      });
    } finally {
      ctx.signal.removeEventListener('abort', killGroup);
      process.removeListener('exit', killOnExit);
    }
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new CapstanError('task_failed', 'command stopped');
    if (code !== null && this.skipOnExitCodes.includes(code)) throw new TaskSkipped(`command exited with ${code}, a skip code`);
    if (code !== 0) {
      throw new CapstanError('task_failed', signal ? `command was killed by ${signal}` : `command failed with exit code ${code}`);
    }
    return this.doXcomPush ? lastLine : undefined;
  }
}
