/**
 * `npm run bench:scheduler`: the scheduler's throughput and its event-to-start latency, on SQLite and
 * PostgreSQL (a real server started for the run).
 *
 * (a) Throughput: one DAG run of N no-op tasks (N = 1,000 and 10,000) in a wide fan-out (one root, N-1
 *     children) and in a long chain, completed by an executor that finishes each try instantly, so the
 *     scheduler and the store are what is measured. Figure: task instances per second, run start to end.
 * (b) Latency: a chain of no-op tasks run by the real LocalExecutor (a task process per try, real HTTP to
 *     the Execution API); figure: time from one task's success (its end_date) to its downstream task's
 *     start (its start_date), p50/p95.
 *
 * Flags: --quick (N = 1,000 only, shorter latency chain), --dialect sqlite|postgres.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../src/app/components.ts';
import { createExecutor, createScheduler, startApiServer, createDagProcessor } from '../src/app/roles.ts';
import { loadConfig } from '../src/config/index.ts';
import { dag, EmptyOperator, type Dag } from '../src/sdk/index.ts';
import { upsertSerializedDag } from '../src/store/dags.ts';
import { getDagRun } from '../src/store/dagRuns.ts';
import { openMetadataDb, type MetadataDb } from '../src/store/db.ts';
import type { DialectName } from '../src/store/dialect.ts';
import { migrateToLatest } from '../src/store/migrate.ts';
import { listTaskInstances } from '../src/store/taskInstances.ts';
import { triggerDagRun } from '../src/services/triggerRun.ts';
import { createTestDatabase, stopPostgres } from '../test/support/postgres.ts';
import { InstantExecutor } from './instantExecutor.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyDialect = args.includes('--dialect') ? (args[args.indexOf('--dialect') + 1] as DialectName) : undefined;
const SIZES = quick ? [1_000] : [1_000, 10_000];
const LATENCY_CHAIN = quick ? 20 : 60;

async function freshDb(dialect: DialectName): Promise<{ db: MetadataDb; dispose: () => Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'capstan-bench-'));
    const db = openMetadataDb(`sqlite://${join(dir, 'capstan.db')}`);
    await migrateToLatest(db);
    return { db, dispose: async () => { await db.close(); rmSync(dir, { recursive: true, force: true }); } };
  }
  const t = await createTestDatabase();
  const db = openMetadataDb(t.url, { poolSize: 10 });
  await migrateToLatest(db);
  return { db, dispose: async () => { await db.close(); await t.drop(); } };
}

function benchDag(shape: 'fanout' | 'chain', n: number): Dag {
  return dag({ dagId: `bench_${shape}_${n}`, schedule: null, maxActiveTasks: n, maxActiveRuns: 1 }, () => {
    const root = new EmptyOperator({ taskId: 't0' });
    let prev = root;
    for (let i = 1; i < n; i++) {
      const t = new EmptyOperator({ taskId: `t${i}` });
      (shape === 'fanout' ? root : prev).before(t);
      prev = t;
    }
  });
}

function baseConfig(home: string, env: Record<string, string> = {}) {
  return loadConfig({
    env: {
      CAPSTAN_HOME: home,
      CAPSTAN__CORE__LOAD_EXAMPLES: 'false',
      CAPSTAN__CORE__PARALLELISM: '100000',
      CAPSTAN__API__PORT: '0',
      CAPSTAN__LOGGING__LEVEL: 'error',
      ...env,
    },
  });
}

async function throughput(dialect: DialectName, shape: 'fanout' | 'chain', n: number): Promise<{ seconds: number; perSecond: number; loops: number }> {
  const home = mkdtempSync(join(tmpdir(), 'capstan-bench-home-'));
  const { db, dispose } = await freshDb(dialect);
  try {
    const config = baseConfig(home);
    const engine = createEngine(config, { db });
    const d = benchDag(shape, n);
    await upsertSerializedDag(db, d.serialize('/bench/generated.ts'), Date.now());
    await db.db.updateTable('pool').set({ slots: n }).where('name', '=', 'default_pool').execute();
    const executor = new InstantExecutor(engine.lifecycle, n);
    const scheduler = createScheduler(engine, executor);
    const run = await triggerDagRun(db, { dagId: d.dagId, runId: 'bench' }, Date.now());
    const started = performance.now();
    let loops = 0;
    for (;;) {
      await scheduler.runOnce();
      loops++;
      if (loops % 50 === 0 || executor.completed >= n) {
        const r = await getDagRun(db, d.dagId, run.run_id);
        if (r.state === 'success' || r.state === 'failed') {
          if (r.state !== 'success') throw new Error(`bench run ended ${r.state}`);
          break;
        }
      }
    }
    const seconds = (performance.now() - started) / 1000;
    if (executor.refused.length > 0) throw new Error(`tries queued twice: ${executor.refused.slice(0, 5).join('; ')}`);
    if (executor.completed !== n) throw new Error(`expected ${n} completions, got ${executor.completed}`);
    return { seconds, perSecond: n / seconds, loops };
  } finally {
    await dispose();
    rmSync(home, { recursive: true, force: true });
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function latency(dialect: DialectName): Promise<{ p50: number; p95: number; samples: number }> {
  const home = mkdtempSync(join(tmpdir(), 'capstan-bench-home-'));
  const { db, dispose } = await freshDb(dialect);
  const ac = new AbortController();
  try {
    const config = baseConfig(home);
    mkdirSync(config.core.dagsFolder, { recursive: true });
    writeFileSync(
      join(config.core.dagsFolder, 'latency.ts'),
      `import { dag, EmptyOperator } from 'capstan';
export default dag({ dagId: 'latency', schedule: null }, () => {
  let prev = new EmptyOperator({ taskId: 't0' });
  for (let i = 1; i < ${LATENCY_CHAIN}; i++) { const t = new EmptyOperator({ taskId: 't' + i }); prev.before(t); prev = t; }
});\n`,
    );
    const engine = createEngine(config, { db });
    let scheduler: ReturnType<typeof createScheduler> | undefined = undefined;
    const api = await startApiServer(engine, () => scheduler?.wake());
    scheduler = createScheduler(engine, await createExecutor(engine, api.url));
    await createDagProcessor(engine).processOnce();
    const loop = scheduler.run(ac.signal);
    await triggerDagRun(db, { dagId: 'latency', runId: 'lat' }, Date.now());
    scheduler.wake();
    for (;;) {
      const r = await getDagRun(db, 'latency', 'lat');
      if (r.state === 'success') break;
      if (r.state === 'failed') throw new Error('latency run failed');
      await new Promise((res) => setTimeout(res, 100));
    }
    ac.abort();
    await loop;
    await api.close();
    const tis = new Map((await listTaskInstances(db, { dagId: 'latency', runId: 'lat' })).map((t) => [t.task_id, t]));
    const gaps: number[] = [];
    for (let i = 1; i < LATENCY_CHAIN; i++) {
      const up = tis.get(`t${i - 1}`);
      const down = tis.get(`t${i}`);
      if (up?.end_date != null && down?.start_date != null) gaps.push(down.start_date - up.end_date);
    }
    gaps.sort((a, b) => a - b);
    return { p50: percentile(gaps, 50), p95: percentile(gaps, 95), samples: gaps.length };
  } finally {
    ac.abort();
    await dispose();
    rmSync(home, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const dialects: DialectName[] = onlyDialect ? [onlyDialect] : ['sqlite', 'postgres'];
  process.stdout.write(`capstan scheduler benchmark — ${new Date().toISOString()} — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} — node ${process.version}\n\n`);
  process.stdout.write('(a) throughput with an instant executor\n');
  process.stdout.write('dialect   shape    tasks   seconds  TI/s     loops\n');
  for (const dialect of dialects) {
    for (const shape of ['fanout', 'chain'] as const) {
      for (const n of SIZES) {
        const r = await throughput(dialect, shape, n);
        process.stdout.write(`${dialect.padEnd(9)} ${shape.padEnd(8)} ${String(n).padEnd(7)} ${r.seconds.toFixed(2).padEnd(8)} ${Math.round(r.perSecond).toString().padEnd(8)} ${r.loops}\n`);
      }
    }
  }
  process.stdout.write(`\n(b) success → downstream start latency, LocalExecutor, chain of ${LATENCY_CHAIN}\n`);
  process.stdout.write('dialect   samples  p50 ms  p95 ms\n');
  for (const dialect of dialects) {
    const r = await latency(dialect);
    process.stdout.write(`${dialect.padEnd(9)} ${String(r.samples).padEnd(8)} ${String(r.p50).padEnd(7)} ${r.p95}\n`);
  }
  await stopPostgres();
}

await main();
