/**
 * `npm run bench:api`: latency of the API v2's list, grid and graph endpoints and of its live stream, on
 * SQLite and PostgreSQL (a real server started for the run), over real HTTP to an in-process API server.
 *
 * Seed (issue 14, bench/support/seed.ts, the same as bench:ui's): 5,000 DAGs of 15 tasks with one run each
 * (75,000 task instances) and a 1,000-task DAG with 25 runs (25,000 task instances), states set by marking runs
 * success or failed (a third of the small DAGs' runs stay queued, and the big DAG's newest run). Each endpoint
 * is called 5 times to warm up, then 40 times in a row; figures are p50/p95 in milliseconds. The live-stream
 * figure is the time from a mark request's start to the state-change event arriving on an open SSE stream
 * (10 samples).
 *
 * Flags: --quick (500 DAGs, 200-task DAG × 10 runs), --dialect sqlite|postgres.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../src/app/components.ts';
import { createApiAppFor } from '../src/app/roles.ts';
import { listen } from '../src/api/server.ts';
import { loadConfig } from '../src/config/index.ts';
import { openMetadataDb, type MetadataDb } from '../src/store/db.ts';
import type { DialectName } from '../src/store/dialect.ts';
import { migrateToLatest } from '../src/store/migrate.ts';
import { createTestDatabase, stopPostgres } from '../test/support/postgres.ts';
import { openSse } from '../test/support/sse.ts';
import { BIG_DAG, bigTaskId, FULL_SEED, QUICK_SEED, seedBenchData } from './support/seed.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyDialect = args.includes('--dialect') ? (args[args.indexOf('--dialect') + 1] as DialectName) : undefined;
const size = quick ? QUICK_SEED : FULL_SEED;
const WARMUP = 5;
const SAMPLES = 40;

async function freshDb(dialect: DialectName): Promise<{ db: MetadataDb; dispose: () => Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'capstan-bench-api-'));
    const db = openMetadataDb(`sqlite://${join(dir, 'capstan.db')}`);
    await migrateToLatest(db);
    return { db, dispose: async () => { await db.close(); rmSync(dir, { recursive: true, force: true }); } };
  }
  const t = await createTestDatabase();
  const db = openMetadataDb(t.url, { poolSize: 10 });
  await migrateToLatest(db);
  return { db, dispose: async () => { await db.close(); await t.drop(); } };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function timeEndpoint(url: string, headers: Record<string, string>, init: () => RequestInit = () => ({})): Promise<{ p50: number; p95: number; bytes: number }> {
  let bytes = 0;
  const times: number[] = [];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { ...init(), headers: { ...headers, ...(init().headers as Record<string, string> | undefined) } });
    const body = await res.text();
    const ms = performance.now() - t0;
    if (res.status >= 400) throw new Error(`${url}: ${res.status} ${body.slice(0, 200)}`);
    bytes = body.length;
    if (i >= WARMUP) times.push(ms);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p95: percentile(times, 95), bytes };
}

async function benchDialect(dialect: DialectName): Promise<void> {
  process.stdout.write(`\n${dialect}\n`);
  const home = mkdtempSync(join(tmpdir(), 'capstan-bench-api-home-'));
  const { db, dispose } = await freshDb(dialect);
  try {
    await seedBenchData(db, size);
    const config = loadConfig({ env: { CAPSTAN_HOME: home, CAPSTAN__CORE__LOAD_EXAMPLES: 'false', CAPSTAN__API__PORT: '0', CAPSTAN__LOGGING__LEVEL: 'error', CAPSTAN__AUTH__PASSWORD_HASH_COST: '10' } });
    const engine = createEngine(config, { db });
    const admin = await engine.auth.createUser({ username: 'bench', password: 'bench-password', role: 'Admin' });
    const { token } = await engine.auth.createApiToken(await engine.auth.principalFor(admin), { name: 'bench' });
    const server = await listen(createApiAppFor(engine), '127.0.0.1', 0);
    const auth = { authorization: `Bearer ${token}` };
    const v2 = `${server.url}/api/v2`;
    try {
      const grid = (await (await fetch(`${v2}/dags/${BIG_DAG}/grid`, { headers: auth })).json()) as { cursor: number };
      const last = `run_${size.bigRuns - 1}`;
      const endpoints: Array<[string, string]> = [
        ['list DAGs (100)', `${v2}/dags?limit=100`],
        ['list DAGs, search + order by last run', `${v2}/dags?limit=100&dagIdPattern=bench_001&orderBy=-lastRunStartDate`],
        ['list DAGs, tags all + last run state', `${v2}/dags?limit=100&tags=t3&tags=odd&tagsMatchMode=all&lastDagRunState=success`],
        ['list runs across DAGs (~), state filter', `${v2}/dags/~/dagRuns?limit=100&state=success`],
        ['list TIs across DAGs (~), state filter', `${v2}/dags/~/dagRuns/~/taskInstances?limit=100&state=success`],
        [`list TIs of one run (${size.bigTasks})`, `${v2}/dags/${BIG_DAG}/dagRuns/${last}/taskInstances?limit=1000`],
        [`grid full (${size.bigTasks} tasks × ${size.bigRuns} runs)`, `${v2}/dags/${BIG_DAG}/grid`],
        ['grid incremental (changedSince)', `${v2}/dags/${BIG_DAG}/grid?changedSince=${grid.cursor + 5000}`],
        [`graph (${size.bigTasks} tasks)`, `${v2}/dags/${BIG_DAG}/graph`],
        ['task dependencies', `${v2}/dags/${BIG_DAG}/dagRuns/${last}/taskInstances/t0/dependencies`],
      ];
      for (const [name, url] of endpoints) {
        const r = await timeEndpoint(url, auth);
        process.stdout.write(`  ${name.padEnd(48)} p50 ${r.p50.toFixed(1).padStart(7)} ms   p95 ${r.p95.toFixed(1).padStart(7)} ms   ${(r.bytes / 1024).toFixed(0)} KiB\n`);
      }
      // Live stream: from the start of a request that marks a succeeded task failed to its event on an open stream.
      const stream = await openSse(`${v2}/dags/${BIG_DAG}/events?dagRunId=${last}`, auth);
      await stream.next((e) => e.event === 'ready');
      const lat: number[] = [];
      for (let i = 0; i < 10; i++) {
        const taskId = bigTaskId(i + 1);
        const seen = stream.events.length;
        const t0 = performance.now();
        const res = await fetch(`${v2}/dags/${BIG_DAG}/dagRuns/${last}/taskInstances/${encodeURIComponent(taskId)}`, { method: 'PATCH', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ newState: 'failed' }) });
        if (res.status !== 200) throw new Error(`mark: ${res.status} ${await res.text()}`);
        await stream.next((e) => stream.events.indexOf(e) >= seen && e.event === 'taskInstance' && (JSON.parse(e.data) as { taskId: string }).taskId === taskId, 10_000);
        lat.push(performance.now() - t0);
      }
      stream.close();
      lat.sort((a, b) => a - b);
      process.stdout.write(`  ${'SSE: mark request start → event'.padEnd(48)} p50 ${percentile(lat, 50).toFixed(1).padStart(7)} ms   p95 ${percentile(lat, 95).toFixed(1).padStart(7)} ms\n`);
    } finally {
      await server.close();
    }
  } finally {
    await dispose();
    rmSync(home, { recursive: true, force: true });
  }
}

process.stdout.write(`bench:api — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}${quick ? ' (quick)' : ''}\n`);
for (const dialect of onlyDialect ? [onlyDialect] : (['sqlite', 'postgres'] as const)) await benchDialect(dialect);
await stopPostgres();
