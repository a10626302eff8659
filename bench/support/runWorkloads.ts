/**
 * One Capstan from the checkout at `argv[2]`, running the workloads of the JSON spec `argv[3]` one after another
 * and printing one JSON line per workload: the trigger time, the run and its task instances as the database
 * holds them. The deployment is the spec's `mode`:
 *
 * - `standalone` (default): API server, scheduler with the LocalExecutor, DAG processor and triggerer in this
 *   process, on SQLite; the scheduler is woken in-process after each trigger, as the API server does.
 * - `pg-roles`: the Helm chart's layout — `db migrate`, then `api-server`, `scheduler`, `dag-processor` and
 *   `triggerer` as four processes of the checkout's CLI on one PostgreSQL database (a fresh one on the server
 *   `CAPSTAN_TEST_PG_URL` names, else on a server of this process's own, test/support/postgres.ts). Runs are
 *   triggered from this process, on its own connection: the scheduler learns of them as it would of an API
 *   trigger, through the database.
 *
 * The benches start it in a process of its own, so that another checkout (a worktree of an older commit) can be
 * timed the same way: it only uses entry points every version has.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as ConfigModule from '../../src/config/index.ts';
import type * as ComponentsModule from '../../src/app/components.ts';
import type * as RolesModule from '../../src/app/roles.ts';
import type * as DbModule from '../../src/store/db.ts';
import type * as DagRunsModule from '../../src/store/dagRuns.ts';
import type * as TaskInstancesModule from '../../src/store/taskInstances.ts';
import type * as TriggerRunModule from '../../src/services/triggerRun.ts';
import type * as PostgresModule from '../../test/support/postgres.ts';
import { freePort, signalProcessGroup } from '../../test/support/roles.ts';

/** What to run. */
export interface WorkloadSpec {
  /** Deployment (see the file's comment). Default `standalone`. */
  mode?: 'standalone' | 'pg-roles';
  /** `CAPSTAN__…` settings over the standalone defaults. */
  env: Record<string, string>;
  /** Wait this long after start-up (warm processes booting) and between workloads. */
  settleMs: number;
  workloads: Array<{
    dagId: string;
    /** `fanout`: n independent no-op tasks; `chain`: n no-op tasks one after another; `mapped`: one task mapped over n elements, then a reduce. */
    shape: 'fanout' | 'chain' | 'mapped';
    n: number;
    /** Runs of the DAG triggered at once (default 1). */
    runs?: number;
  }>;
}

/** One workload's result. */
export interface WorkloadResult {
  dagId: string;
  /** When the (first) run was triggered. */
  triggeredAt: number;
  /** Scheduler loops from trigger to the end of the last run (NaN in `pg-roles`: the scheduler is another process). */
  schedulerLoops: number;
  /** Every run, when more than one was triggered (`run` is then the one that ended last). */
  runs: Array<{ runId: string; state: string; start_date: number | null; end_date: number | null }>;
  /** CPU milliseconds this process (scheduler, API server, DAG processor, triggerer) used from trigger to run end (NaN in `pg-roles`). */
  serverCpuMs: number;
  run: { state: string; start_date: number | null; end_date: number | null };
  tis: Array<{ id: string; task_id: string; run_id: string; map_index: number; state: string; queued_at: number | null; start_date: number | null; end_date: number | null; pid: number | null }>;
}

const [root, specText] = process.argv.slice(2);
if (!root || !specText) throw new Error('usage: runWorkloads.ts <checkout> <spec json>');
const checkout: string = root;
const spec = JSON.parse(specText) as WorkloadSpec;
const src = (path: string) => pathToFileURL(join(root, 'src', path)).href;

const { loadConfig } = (await import(src('config/index.ts'))) as typeof ConfigModule;
const { createEngine } = (await import(src('app/components.ts'))) as typeof ComponentsModule;
const { startStandalone } = (await import(src('app/roles.ts'))) as typeof RolesModule;
const { openMetadataDb } = (await import(src('store/db.ts'))) as typeof DbModule;
const { getDagRun } = (await import(src('store/dagRuns.ts'))) as typeof DagRunsModule;
const { listTaskInstances } = (await import(src('store/taskInstances.ts'))) as typeof TaskInstancesModule;
const { triggerDagRun } = (await import(src('services/triggerRun.ts'))) as typeof TriggerRunModule;

const mode = spec.mode ?? 'standalone';
const home = mkdtempSync(join(tmpdir(), `capstan-bench-${mode}-`));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const baseEnv = { CAPSTAN_HOME: home, CAPSTAN__CORE__LOAD_EXAMPLES: 'false', CAPSTAN__LOGGING__LEVEL: 'error', ...spec.env };
const dagsFolder = join(home, 'dags');
mkdirSync(dagsFolder, { recursive: true });
for (const w of spec.workloads) writeFileSync(join(dagsFolder, `${w.dagId}.ts`), dagSource(w));

/** A running deployment: the database this process triggers on, and (standalone only) the scheduler. */
interface Deployment {
  db: ReturnType<typeof openMetadataDb>;
  /** Scheduler loops so far, when the scheduler runs in this process. */
  loops(): number | null;
  /** After a trigger: wake an in-process scheduler (the API server's job in a standalone). */
  triggered(): void;
  /** Whether the deployment counts its own CPU (only when it runs in this process). */
  inProcess: boolean;
  stop(): Promise<void>;
}

try {
  const d = mode === 'pg-roles' ? await startPgRoles() : await startStandaloneHere();
  await sleep(spec.settleMs);
  const { db } = d;
  for (const w of spec.workloads) {
    const cpuBefore = process.cpuUsage();
    const loopsBefore = d.loops();
    const runIds = Array.from({ length: w.runs ?? 1 }, (_, i) => (i === 0 ? 'bench' : `bench_${i}`));
    let triggeredAt = Number.NaN;
    for (const runId of runIds) {
      const at = await triggerWhenParsed(db, w.dagId, runId);
      if (Number.isNaN(triggeredAt)) triggeredAt = at;
      d.triggered();
    }
    const ended = (state: string) => state === 'success' || state === 'failed';
    for (const runId of runIds) {
      while (!ended((await getDagRun(db, w.dagId, runId)).state)) await sleep(20);
    }
    const cpu = process.cpuUsage(cpuBefore);
    const loopsAfter = d.loops();
    const runs = await Promise.all(runIds.map(async (runId) => ({ runId, ...(await getDagRun(db, w.dagId, runId)) })));
    const run = runs.reduce((a, b) => ((b.end_date ?? 0) > (a.end_date ?? 0) ? b : a));
    const tis = (await Promise.all(runIds.map((runId) => listTaskInstances(db, { dagId: w.dagId, runId })))).flat();
    const result: WorkloadResult = {
      dagId: w.dagId,
      triggeredAt,
      schedulerLoops: loopsAfter === null || loopsBefore === null ? Number.NaN : loopsAfter - loopsBefore,
      serverCpuMs: d.inProcess ? (cpu.user + cpu.system) / 1000 : Number.NaN,
      run: { state: run.state, start_date: run.start_date, end_date: run.end_date },
      runs: runs.map((r) => ({ runId: r.runId, state: r.state, start_date: r.start_date, end_date: r.end_date })),
      tis: tis.map((t) => ({ id: t.id, task_id: t.task_id, run_id: t.run_id, map_index: t.map_index, state: t.state, queued_at: t.queued_at, start_date: t.start_date, end_date: t.end_date, pid: t.pid })),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    await sleep(spec.settleMs);
  }
  await d.stop();
} finally {
  rmSync(home, { recursive: true, force: true });
}
// Task processes still finishing must not hold this process up.
process.exit(0);

async function startStandaloneHere(): Promise<Deployment> {
  const config = loadConfig({ env: { ...baseEnv, CAPSTAN__API__PORT: '0' } });
  const db = openMetadataDb(`sqlite://${join(home, 'capstan.db')}`);
  const engine = createEngine(config, { db });
  const ac = new AbortController();
  const h = await startStandalone(engine, ac.signal);
  return {
    db,
    loops: () => h.scheduler.loops,
    triggered: () => h.scheduler.wake(),
    inProcess: true,
    stop: async () => {
      ac.abort();
      await h.done;
      await db.close();
    },
  };
}

async function startPgRoles(): Promise<Deployment> {
  const postgres = (await import(new URL('../../test/support/postgres.ts', import.meta.url).href)) as typeof PostgresModule;
  const database = await postgres.createTestDatabase();
  const port = await freePort();
  const env: Record<string, string> = {
    ...Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => !e[0].startsWith('CAPSTAN') && e[1] !== undefined)),
    ...baseEnv,
    CAPSTAN__DATABASE__URL: database.url,
    CAPSTAN__API__PORT: String(port),
    CAPSTAN__API__EXECUTION_API_URL: `http://127.0.0.1:${port}`,
    CAPSTAN__SCHEDULER__HEALTH_PORT: '-1',
    CAPSTAN__TRIGGERER__HEALTH_PORT: '-1',
  };
  const main = join(checkout, 'src', 'cli', 'main.ts');
  const capstan = (args: string[]): ChildProcess => spawn(process.execPath, [main, ...args], { env, detached: true, stdio: ['ignore', 'ignore', 'inherit'] });
  const exitOf = (c: ChildProcess) => new Promise<number | null>((resolve) => (c.exitCode !== null ? resolve(c.exitCode) : c.once('exit', (code) => resolve(code))));
  const migrated = await exitOf(capstan(['db', 'migrate']));
  if (migrated !== 0) throw new Error(`capstan db migrate exited with ${migrated}`);
  const roles = ['api-server', 'dag-processor', 'scheduler', 'triggerer'].map((role) => capstan([role]));
  const db = openMetadataDb(database.url, { poolSize: 2 });
  return {
    db,
    loops: () => null,
    triggered: () => undefined,
    inProcess: false,
    stop: async () => {
      // SIGTERM each role's process group (its task processes with it) and wait for the roles to exit.
      for (const r of roles) signalProcessGroup(r, 'SIGTERM');
      await Promise.race([Promise.all(roles.map(exitOf)), sleep(30_000)]);
      for (const r of roles) signalProcessGroup(r, 'SIGKILL');
      await db.close();
      await database.drop();
      await postgres.stopPostgres();
    },
  };
}

/**
 * Trigger the run and return when (epoch ms); on a busy machine the DAG processor may still be parsing the file:
 * then wait for it (up to a minute).
 */
async function triggerWhenParsed(db: Parameters<typeof triggerDagRun>[0], dagId: string, runId: string): Promise<number> {
  for (let waited = 0; ; waited += 200) {
    const at = Date.now();
    try {
      await triggerDagRun(db, { dagId, runId }, at);
      return at;
    } catch (err) {
      if ((err as { code?: string }).code !== 'not_found' || waited > 60_000) throw err;
      await sleep(200);
    }
  }
}

function dagSource(w: WorkloadSpec['workloads'][number]): string {
  const maxActiveRuns = w.runs ?? 1;
  if (w.shape === 'mapped') {
    return `import { dag, task } from 'capstan';
export default dag({ dagId: '${w.dagId}', schedule: null, maxActiveTasks: ${w.n}, maxActiveRuns: ${maxActiveRuns} }, () => {
  const numbers = task({ taskId: 'numbers' }, () => Array.from({ length: ${w.n} }, (_, i) => i));
  const square = task({ taskId: 'square' }, (x: number) => x * x);
  const total = task({ taskId: 'total' }, (xs: number[]) => xs.reduce((a, b) => a + b, 0));
  total(square.expand(numbers()));
});
`;
  }
  const link = w.shape === 'chain' ? '    if (prev) prev.before(t);\n    prev = t;\n' : '';
  return `import { dag, EmptyOperator } from 'capstan';
export default dag({ dagId: '${w.dagId}', schedule: null, maxActiveTasks: ${w.n}, maxActiveRuns: ${maxActiveRuns} }, () => {
  let prev: EmptyOperator | undefined;
  for (let i = 0; i < ${w.n}; i++) {
    const t = new EmptyOperator({ taskId: 't' + i });
${link}  }
  void prev;
});
`;
}
