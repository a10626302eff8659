/**
 * One Capstan standalone (API server, scheduler with the LocalExecutor, DAG processor, triggerer; SQLite) from
 * the checkout at `argv[2]`, running the workloads of the JSON spec `argv[3]` one after another and printing one
 * JSON line per workload: the trigger time, the run and its task instances as the database holds them. The
 * benches start it in a process of its own, so that another checkout (a worktree of an older commit) can be
 * timed the same way: it only uses entry points every version has.
 */
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
import type * as TriggerRunModule from '../../src/engine/triggerRun.ts';

/** What to run. */
export interface WorkloadSpec {
  /** `CAPSTAN__…` settings over the standalone defaults. */
  env: Record<string, string>;
  /** Wait this long after start-up (warm processes booting) and between workloads. */
  settleMs: number;
  workloads: Array<{ dagId: string; shape: 'fanout' | 'chain'; n: number }>;
}

/** One workload's result. */
export interface WorkloadResult {
  dagId: string;
  triggeredAt: number;
  /** CPU milliseconds this process (scheduler, API server, DAG processor, triggerer) used from trigger to run end. */
  serverCpuMs: number;
  run: { state: string; start_date: number | null; end_date: number | null };
  tis: Array<{ id: string; task_id: string; state: string; queued_at: number | null; start_date: number | null; end_date: number | null; pid: number | null }>;
}

const [root, specText] = process.argv.slice(2);
if (!root || !specText) throw new Error('usage: runWorkloads.ts <checkout> <spec json>');
const spec = JSON.parse(specText) as WorkloadSpec;
const src = (path: string) => pathToFileURL(join(root, 'src', path)).href;

const { loadConfig } = (await import(src('config/index.ts'))) as typeof ConfigModule;
const { createEngine } = (await import(src('app/components.ts'))) as typeof ComponentsModule;
const { startStandalone } = (await import(src('app/roles.ts'))) as typeof RolesModule;
const { openMetadataDb } = (await import(src('store/db.ts'))) as typeof DbModule;
const { getDagRun } = (await import(src('store/dagRuns.ts'))) as typeof DagRunsModule;
const { listTaskInstances } = (await import(src('store/taskInstances.ts'))) as typeof TaskInstancesModule;
const { triggerDagRun } = (await import(src('engine/triggerRun.ts'))) as typeof TriggerRunModule;

const home = mkdtempSync(join(tmpdir(), 'capstan-bench-standalone-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
try {
  const config = loadConfig({
    env: { CAPSTAN_HOME: home, CAPSTAN__CORE__LOAD_EXAMPLES: 'false', CAPSTAN__API__PORT: '0', CAPSTAN__LOGGING__LEVEL: 'error', ...spec.env },
  });
  mkdirSync(config.core.dagsFolder, { recursive: true });
  for (const w of spec.workloads) writeFileSync(join(config.core.dagsFolder, `${w.dagId}.ts`), dagSource(w));
  const db = openMetadataDb(`sqlite://${join(home, 'capstan.db')}`);
  const engine = createEngine(config, { db });
  const ac = new AbortController();
  const h = await startStandalone(engine, ac.signal);
  await sleep(spec.settleMs);
  for (const w of spec.workloads) {
    const cpuBefore = process.cpuUsage();
    const triggeredAt = await triggerWhenParsed(db, w.dagId);
    h.scheduler.wake();
    for (;;) {
      const run = await getDagRun(db, w.dagId, 'bench');
      if (run.state === 'success' || run.state === 'failed') break;
      await sleep(20);
    }
    const cpu = process.cpuUsage(cpuBefore);
    const run = await getDagRun(db, w.dagId, 'bench');
    const tis = await listTaskInstances(db, { dagId: w.dagId, runId: 'bench' });
    const result: WorkloadResult = {
      dagId: w.dagId,
      triggeredAt,
      serverCpuMs: (cpu.user + cpu.system) / 1000,
      run: { state: run.state, start_date: run.start_date, end_date: run.end_date },
      tis: tis.map((t) => ({ id: t.id, task_id: t.task_id, state: t.state, queued_at: t.queued_at, start_date: t.start_date, end_date: t.end_date, pid: t.pid })),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    await sleep(spec.settleMs);
  }
  ac.abort();
  await h.done;
  await db.close();
} finally {
  rmSync(home, { recursive: true, force: true });
}
// Task processes still finishing must not hold this process up.
process.exit(0);

/**
 * Trigger the run and return when (epoch ms); on a busy machine the DAG processor may still be parsing the file:
 * then wait for it (up to a minute).
 */
async function triggerWhenParsed(db: Parameters<typeof triggerDagRun>[0], dagId: string): Promise<number> {
  for (let waited = 0; ; waited += 200) {
    const at = Date.now();
    try {
      await triggerDagRun(db, { dagId, runId: 'bench' }, at);
      return at;
    } catch (err) {
      if ((err as { code?: string }).code !== 'not_found' || waited > 60_000) throw err;
      await sleep(200);
    }
  }
}

function dagSource(w: WorkloadSpec['workloads'][number]): string {
  const link = w.shape === 'chain' ? '    if (prev) prev.before(t);\n    prev = t;\n' : '';
  return `import { dag, EmptyOperator } from 'capstan';
export default dag({ dagId: '${w.dagId}', schedule: null, maxActiveTasks: ${w.n} }, () => {
  let prev: EmptyOperator | undefined;
  for (let i = 0; i < ${w.n}; i++) {
    const t = new EmptyOperator({ taskId: 't' + i });
${link}  }
  void prev;
});
`;
}
