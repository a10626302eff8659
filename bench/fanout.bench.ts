/**
 * `npm run bench:fanout`: issue 18's workloads through real task processes on a Capstan standalone (SQLite,
 * LocalExecutor, parallelism 8) — or, with CAPSTAN_BENCH_MODE=pg-roles, on the Helm chart's layout: api-server,
 * scheduler, dag-processor and triggerer as separate processes on one PostgreSQL server (CAPSTAN_TEST_PG_URL's,
 * else one this bench starts for the whole session, a fresh database per repetition): W1 is one run of 100 independent no-op tasks, W2 a chain of 10, W3 20 runs of a
 * 10-task fan-out triggered at once, M1000 one task mapped over 1,000 elements (then a reduce). Figures are
 * trigger → end of the last run (its end_date), task instances per second, trigger → first task start (W1's
 * first try marked running), W2's mean gap end(i) → start(i+1) and the mean try duration (start → end), from the
 * database. Each repetition is a fresh standalone in a process of its own. Set CAPSTAN_BENCH_ROOT_BEFORE to
 * another checkout (e.g. `git worktree add /tmp/capstan-before <sha>` with node_modules symlinked) to time it in
 * the same run, alternating with this one; medians are printed.
 *
 * Env: CAPSTAN_BENCH_MODE (standalone | pg-roles, default standalone), CAPSTAN_BENCH_RUNS (default 3), CAPSTAN_BENCH_WARM (localExecutor.warmProcesses, default 8: as many as
 * the parallelism, as Airflow's LocalExecutor keeps), CAPSTAN_BENCH_REUSE (true|false|unset: the checkout's
 * default), CAPSTAN_BENCH_MAPPED (elements of M1000, default 1000; 0 leaves it out).
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ms, quantile } from './support/stats.ts';
import type { WorkloadResult, WorkloadSpec } from './support/runWorkloads.ts';
import { workloadFigures as figures, type WorkloadFigures as Figures } from './support/workloadFigures.ts';

const RUNNER = fileURLToPath(new URL('./support/runWorkloads.ts', import.meta.url));
const roots: Record<string, string> = {};
if (process.env['CAPSTAN_BENCH_ROOT_BEFORE']) roots['before'] = process.env['CAPSTAN_BENCH_ROOT_BEFORE'];
roots['now'] = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.env['CAPSTAN_BENCH_RUNS'] ?? '3');
const reuse = process.env['CAPSTAN_BENCH_REUSE'];
const mode = process.env['CAPSTAN_BENCH_MODE'] === 'pg-roles' ? 'pg-roles' : 'standalone';
let stopPostgres: (() => Promise<void>) | undefined;
if (mode === 'pg-roles' && !process.env['CAPSTAN_TEST_PG_URL']) {
  // One server for every repetition of both checkouts; the runners each make a database on it.
  const postgres = await import('../test/support/postgres.ts');
  process.env['CAPSTAN_TEST_PG_URL'] = (await postgres.startPostgres()).adminUrl;
  stopPostgres = postgres.stopPostgres;
}
const spec: WorkloadSpec = {
  mode,
  env: {
    CAPSTAN__CORE__PARALLELISM: '8',
    CAPSTAN__LOCAL_EXECUTOR__WARM_PROCESSES: process.env['CAPSTAN_BENCH_WARM'] ?? '8',
    ...(reuse === undefined ? {} : { CAPSTAN__LOCAL_EXECUTOR__REUSE_PROCESSES: reuse }),
  },
  settleMs: 5_000,
  workloads: [
    { dagId: 'w1_fanout_100', shape: 'fanout', n: 100 },
    { dagId: 'w2_chain_10', shape: 'chain', n: 10 },
    { dagId: 'w3_fanout_10_x20', shape: 'fanout', n: 10, runs: 20 },
  ],
};
const mapped = Number(process.env['CAPSTAN_BENCH_MAPPED'] ?? '1000');
if (mapped > 0) spec.workloads.push({ dagId: 'm_mapped', shape: 'mapped', n: mapped });


const line = (f: (k: keyof Figures) => number): string =>
  `W1 ${ms(f('w1Ms')).padStart(6)} ms (${f('w1TiPerS').toFixed(1)} TI/s), first start ${ms(f('firstStartMs'))} ms   W2 ${ms(f('w2Ms')).padStart(6)} ms, mean gap ${ms(f('w2GapMs'))} ms   ` +
  `W3 ${ms(f('w3Ms')).padStart(6)} ms (${f('w3TiPerS').toFixed(1)} TI/s)   M${mapped} ${ms(f('mappedMs')).padStart(6)} ms   mean try ${ms(f('tryMs'))} ms`;

process.stdout.write(`capstan W1/W2/W3/M${mapped} (issue 18), ${mode} — ${new Date().toISOString()} — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} — node ${process.version} — ${runs} repetitions, warm ${spec.env['CAPSTAN__LOCAL_EXECUTOR__WARM_PROCESSES']}${reuse === undefined ? '' : `, reuseProcesses=${reuse}`}\n`);
const all: Record<string, Figures[]> = Object.fromEntries(Object.keys(roots).map((k) => [k, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, root] of Object.entries(roots)) {
    const out = execFileSync(process.execPath, [RUNNER, root, JSON.stringify(spec)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const f = figures(out.trim().split('\n').map((l) => JSON.parse(l) as WorkloadResult));
    all[name]?.push(f);
    process.stdout.write(`  #${i + 1} ${name.padEnd(6)} ${line((k) => f[k])}   load ${f.load.toFixed(2)}\n`);
  }
}
process.stdout.write('\nmedians\n');
for (const [name, fs] of Object.entries(all)) {
  const med = (k: keyof Figures) => quantile(fs.map((f) => f[k]), 0.5);
  process.stdout.write(`  ${name.padEnd(6)} ${line(med)}\n`);
}
await stopPostgres?.();
