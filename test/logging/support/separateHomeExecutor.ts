// An executor that runs each try as `capstan tasks run` in a child process with a home of its own, as a worker
// pod would: nothing it writes is visible to the engine except through the Execution API (its log is shipped).
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../../../src/app/components.ts';
import type { Executor, ExecutorEvent, TaskWorkload } from '../../../src/executors/types.ts';
import type { TaskInstanceRow } from '../../../src/store/schema.ts';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

export class SeparateHomeExecutor implements Executor {
  readonly name = 'SeparateHomeExecutor';
  /** Each finished task's stdout, by task id. */
  readonly stdout = new Map<string, string>();
  readonly #events: ExecutorEvent[] = [];
  readonly #engine: Engine;
  readonly #apiUrl: string;
  readonly #env: Record<string, string>;
  constructor(engine: Engine, apiUrl: string, env: Record<string, string> = {}) {
    this.#engine = engine;
    this.#apiUrl = apiUrl;
    this.#env = env;
  }
  async start(): Promise<void> {}
  openSlots(): number {
    return 4;
  }
  queueWorkloads(workloads: TaskWorkload[]): void {
    for (const w of workloads) {
      const home = mkdtempSync(join(tmpdir(), 'capstan-pod-'));
      const child = spawn(process.execPath, [MAIN, 'tasks', 'run', '--ti-id', w.tiId, '--api-url', this.#apiUrl], {
        env: { PATH: process.env['PATH'] ?? '', CAPSTAN_HOME: home, CAPSTAN_TASK_TOKEN: this.#engine.tokens.issue(w.tiId, w.tryNumber, Date.now()), CAPSTAN__LOGGING__SHIP_INTERVAL_MS: '100', ...this.#env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.once('close', (code, signal) => {
        this.stdout.set(w.taskId, out);
        this.#events.push({ kind: 'exited', tiId: w.tiId, tryNumber: w.tryNumber, exitCode: code, signal });
      });
    }
  }
  async sync(): Promise<ExecutorEvent[]> {
    return this.#events.splice(0);
  }
  async terminate(): Promise<void> {}
  async tryAdopt(tis: TaskInstanceRow[]): Promise<TaskInstanceRow[]> {
    return tis;
  }
  async end(): Promise<void> {}
}
