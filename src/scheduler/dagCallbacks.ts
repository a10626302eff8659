/**
 * DAG-level callbacks (`dag({ onSuccess, onFailure })`). They are functions in the DAG file, so they run
 * where the file can be imported without trusting it: a short-lived child process per callback
 * (runtime/dagCallbackProcess.ts), forked by the scheduler that ended the run, with a timeout. Not in
 * the DAG processor, which may run elsewhere and only parses; not in the scheduler, whose loop a slow
 * or crashing callback must not stall.
 *
 * Once per run: the scheduler marks the callback `pending` in the same update that ends the run
 * (`dag_run.callback_state`, never reset). Any scheduler then claims it with a guarded
 * `pending → running` update, runs it, and records `done` or `failed`. A scheduler restart re-finds
 * pending callbacks; a callback whose scheduler died while it ran stays `running` and is not run again
 * (at most once, as a callback may have side effects). Errors and timeouts are logged, never fatal.
 */
import { callIsolated } from '../dagprocessing/index.ts';
import type { Logger } from 'pino';
import { dagCallbackContext, dagCallbackKind } from '../services/index.ts';
import type { SerializedDagCache } from '../services/index.ts';
import type { DagCallbackReply, DagCallbackRequest } from '../runtime/index.ts';
import { claimDagCallback, finishDagCallback, listTaskInstances, pendingDagCallbacks, type DagRunRow, type MetadataDb } from '../store/index.ts';

const ENTRY = new URL('../runtime/dagCallbackProcess.ts', import.meta.url);

export interface DagCallbackRunnerDeps {
  db: MetadataDb;
  dags: SerializedDagCache;
  logger: Logger;
  /** A callback running longer is killed and recorded as failed. Default 60 s. */
  timeoutMs?: number;
  /** Environment of the callback processes (the task environment); default this process's. */
  env?: Record<string, string>;
}

export class DagCallbackRunner {
  readonly #d: DagCallbackRunnerDeps;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(deps: DagCallbackRunnerDeps) {
    this.#d = deps;
  }

  /** Claim due callbacks and start them; returns once they are started. */
  async runDue(): Promise<void> {
    const { db } = this.#d;
    const due = await pendingDagCallbacks(db, 20);
    for (const run of due) {
      if (!(await claimDagCallback(db, run.id))) continue;
      const p = this.#runOne(run).finally(() => this.#inFlight.delete(p));
      this.#inFlight.add(p);
    }
  }

  /** Resolve when the callbacks started so far have ended. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  async #runOne(run: DagRunRow): Promise<void> {
    const { db, logger } = this.#d;
    const kind = dagCallbackKind(run.state);
    const log = logger.child({ dagId: run.dag_id, runId: run.run_id, callback: kind });
    let outcome: 'done' | 'failed' = 'failed';
    try {
      const dag = await this.#d.dags.get(run.dag_id);
      const tis = await listTaskInstances(db, { dagRunId: run.id });
      const request: DagCallbackRequest = { fileloc: dag.dag.fileloc, dagId: run.dag_id, kind, context: dagCallbackContext(run, tis) };
      const reply = await this.#fork(request);
      if (reply.ok) {
        outcome = 'done';
        log.info({ ran: reply.ran }, 'DAG callback finished');
      } else {
        log.error({ error: reply.error }, 'DAG callback failed (ignored)');
      }
    } catch (err) {
      log.error({ err }, 'DAG callback could not run (ignored)');
    }
    await finishDagCallback(db, run.id, outcome).catch((err: unknown) => log.error({ err }, 'could not record the DAG callback outcome'));
  }

  async #fork(request: DagCallbackRequest): Promise<DagCallbackReply> {
    const timeoutMs = this.#d.timeoutMs ?? 60_000;
    const r = await callIsolated<DagCallbackReply>(ENTRY, { request, timeoutMs, stdout: 'inherit', ...(this.#d.env ? { env: this.#d.env } : {}) });
    switch (r.kind) {
      case 'reply':
        return r.value;
      case 'timeout':
        return { ok: false, error: `timed out after ${timeoutMs} ms; the callback process was killed` };
      case 'exited':
        return { ok: false, error: `callback process exited (${r.detail}) without a result` };
    }
  }
}

/** Whether a run of this DAG ending in `state` has a callback to run. */
export function hasDagCallback(callbacks: readonly string[] | undefined, state: 'success' | 'failed'): boolean {
  return (callbacks ?? []).includes(state === 'success' ? 'onSuccess' : 'onFailure');
}
