/**
 * Entry of a DAG-callback process: the scheduler forks it for one ended run, sends the DAG file, the
 * callback and its context over IPC, and gets `{ ok }` or `{ ok: false, error }` back. The user's code
 * runs here, isolated like a task, never inside the scheduler.
 */
import { errorMessage } from '../core/index.ts';
import { importDagFile, registerCapstanResolver } from '../dagprocessing/loader.ts';
import type { DagCallbackContextData } from '../sdk/dag.ts';

registerCapstanResolver();

/** What the scheduler sends. `logicalDate` travels as epoch ms. */
export interface DagCallbackRequest {
  fileloc: string;
  dagId: string;
  kind: 'onSuccess' | 'onFailure';
  context: DagCallbackContextData;
}

export type DagCallbackReply = { ok: true; ran: boolean } | { ok: false; error: string };

async function run(req: DagCallbackRequest): Promise<DagCallbackReply> {
  const dags = await importDagFile(req.fileloc);
  const dag = dags.find((d) => d.dagId === req.dagId);
  if (!dag) return { ok: false, error: `DAG '${req.dagId}' is no longer defined in ${req.fileloc}` };
  const cb = dag.callbacks[req.kind];
  if (!cb) return { ok: true, ran: false };
  await cb({ ...req.context, logicalDate: req.context.logicalDate === null ? null : new Date(req.context.logicalDate) });
  return { ok: true, ran: true };
}

process.once('message', (req: DagCallbackRequest) => {
  void run(req)
    .catch((err: unknown): DagCallbackReply => ({ ok: false, error: err instanceof Error && err.stack ? err.stack : errorMessage(err) }))
    .then((reply) => process.send?.(reply, undefined, {}, () => process.exit(0)));
});
