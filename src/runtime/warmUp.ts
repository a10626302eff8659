/**
 * Rehearsing a try's code path in an idle task process, before its first try: what a try runs the first few
 * times in a process is interpreted and then compiled by V8, which costs a no-op try ~60–200 ms of CPU on each of
 * its first three or four tries, in every process (8 warm processes: over a second of CPU at the start of a
 * fan-out on two cores). Rehearsed while the process waits, the first real try runs at the speed of the tenth.
 *
 * What it runs: Execution API calls without a token (the server answers 401, having done nothing), a task log
 * written to a file of its own in a temporary folder and removed, and instances of a small DAG file defining an
 * EmptyOperator. It leaves no handle, global or listener behind (the keep-alive connection to the Execution API
 * aside, which tries share anyway; see tryIsolation.ts), and no file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TaskLogWriter } from '../logging/taskLogs.ts';
import { SecretMasker } from '../secrets/index.ts';
import type { Dag } from '../sdk/dag.ts';
import { ExecutionClient } from './executionClient.ts';

const WARM_UP_DAG = fileURLToPath(new URL('./warmUpDag.ts', import.meta.url));

/** How many times the path is rehearsed: V8 optimises a function after a few calls. */
const ROUNDS = 4;

/**
 * Rehearse a try's path `ROUNDS` times against the Execution API at `apiUrl`, importing DAG instances with
 * `importDag`; once `signal` aborts (a real try arrived) it ends after the round under way. Never throws: a
 * rehearsal that fails only leaves the process less warm.
 */
export async function warmUpTryPath(apiUrl: string, importDag: (path: string) => Promise<Dag[]>, signal?: AbortSignal): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), `capstan-warm-up-${process.pid}-`)).catch(() => undefined);
  try {
    for (let round = 0; round < ROUNDS && signal?.aborted !== true; round++) {
      await rehearse(apiUrl, importDag, folder, round).catch(() => undefined);
    }
  } finally {
    if (folder !== undefined) await rm(folder, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function rehearse(apiUrl: string, importDag: (path: string) => Promise<Dag[]>, folder: string | undefined, round: number): Promise<void> {
  // No token: the API refuses the call before it reads or writes anything.
  const api = new ExecutionClient(apiUrl, '', 'warm-up', { retryForMs: 0 });
  await api.start({ hostname: hostname(), pid: process.pid }).catch(() => undefined);
  await api.finish({ kind: 'success' }).catch(() => undefined);
  if (folder !== undefined) {
    const masker = new SecretMasker();
    const log = await TaskLogWriter.open(join(folder, `attempt=${round}.log`), { mask: (t) => masker.mask(t) });
    log.info(`rehearsing a try on ${hostname()} (pid ${process.pid})`);
    log.stream('INFO').write('printed by the task\n');
    await log.flush();
    log.info('task succeeded');
    await log.close();
  }
  const dags = await importDag(WARM_UP_DAG);
  dags.find((d) => d.dagId === 'capstan_warm_up')?.getTask('noop');
}
