/**
 * `npm run bench:vs-airflow`: issue 18 §6's side-by-side benchmark of Capstan against Apache Airflow 3. Not part of
 * CI or `npm test`; needs python3 (3.11 here) with pip reaching PyPI, and PostgreSQL's binaries (or CAPSTAN_TEST_PG_URL).
 *
 * - Airflow (default 3.3.2) is installed from PyPI into a private venv under ~/.cache/capstan-bench/airflow-<version>,
 *   once (bench/support/airflowVenv.ts); `airflow db migrate` runs once per bench into a template database.
 * - One PostgreSQL server for everything (test/support/postgres.ts, or CAPSTAN_TEST_PG_URL's), a fresh database per
 *   repetition for each system. Parallelism 8 on both.
 * - Airflow: LocalExecutor; api-server, scheduler, dag-processor (bench/support/airflowWorkloads.ts).
 *   Capstan PG: the Helm chart's layout, api-server, scheduler, dag-processor and triggerer as separate processes
 *   (bench/support/runWorkloads.ts `pg-roles`, warm task processes 8 like Airflow's 8 workers).
 *   Capstan SQLite: one standalone process (`standalone`).
 * - Workloads: W1 one run of 100 independent no-op tasks; W2 a chain of 10; W3 20 runs of a 10-task fan-out
 *   triggered at once; M1000 one task mapped over 1,000 elements, then a reduce. Figures from each system's
 *   database start/end columns: trigger → last run end, TI/s, trigger → first task start (W1), W2's mean gap
 *   end(i) → start(i+1), mean try duration (start → end, W1–W3). The systems take turns, their order rotating
 *   per repetition; medians are printed as issue 18's table.
 *
 * Flags: --runs N (default 3), --no-m1000 (skip the mapped DAG), --mapped N (its elements), --no-sqlite (skip
 * Capstan standalone on SQLite), --airflow-version X, --venv DIR (use an existing venv with Airflow as it is, no pip),
 * --only airflow|capstan-pg|capstan-sqlite (repeatable). Env equivalents: CAPSTAN_BENCH_RUNS, CAPSTAN_BENCH_AIRFLOW_VENV.
 * Fails with pip's own output when Airflow cannot be installed.
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ms, quantile } from './support/stats.ts';
import { DEFAULT_AIRFLOW_VERSION, ensureAirflowVenv } from './support/airflowVenv.ts';
import { migrateAirflowDb, runAirflowWorkloads } from './support/airflowWorkloads.ts';
import type { WorkloadResult, WorkloadSpec } from './support/runWorkloads.ts';
import { workloadFigures as figures, type WorkloadFigures as Figures } from './support/workloadFigures.ts';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string' },
    'no-m1000': { type: 'boolean' },
    mapped: { type: 'string' },
    'no-sqlite': { type: 'boolean' },
    'airflow-version': { type: 'string' },
    venv: { type: 'string' },
    only: { type: 'string', multiple: true },
  },
});
const runs = Number(flags.runs ?? process.env['CAPSTAN_BENCH_RUNS'] ?? '3');
const mapped = flags['no-m1000'] ? 0 : Number(flags.mapped ?? '1000');
const PARALLELISM = 8;
type System = 'airflow' | 'capstan-pg' | 'capstan-sqlite';
let systems: System[] = ['airflow', 'capstan-pg', ...(flags['no-sqlite'] ? [] : (['capstan-sqlite'] as const))];
if (flags.only) systems = systems.filter((s) => flags.only?.includes(s));

const venv = systems.includes('airflow') ? await ensureAirflowVenv(flags['airflow-version'] ?? DEFAULT_AIRFLOW_VERSION, flags.venv ?? process.env['CAPSTAN_BENCH_AIRFLOW_VENV']) : undefined;

let stopPostgres: (() => Promise<void>) | undefined;
if (!process.env['CAPSTAN_TEST_PG_URL']) {
  const postgres = await import('../test/support/postgres.ts');
  process.env['CAPSTAN_TEST_PG_URL'] = (await postgres.startPostgres()).adminUrl;
  stopPostgres = postgres.stopPostgres;
}
const adminUrl = process.env['CAPSTAN_TEST_PG_URL'] as string;
const admin = async (sql: string) => {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
};
const dbUrl = (name: string) => Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
const prefix = `vs_airflow_${process.pid}`;

const spec: WorkloadSpec = {
  env: { CAPSTAN__CORE__PARALLELISM: String(PARALLELISM), CAPSTAN__LOCAL_EXECUTOR__WARM_PROCESSES: String(PARALLELISM) },
  settleMs: 5_000,
  workloads: [
    { dagId: 'w1_fanout_100', shape: 'fanout', n: 100 },
    { dagId: 'w2_chain_10', shape: 'chain', n: 10 },
    { dagId: 'w3_fanout_10_x20', shape: 'fanout', n: 10, runs: 20 },
    ...(mapped > 0 ? [{ dagId: 'm_mapped', shape: 'mapped' as const, n: mapped }] : []),
  ],
};


const RUNNER = fileURLToPath(new URL('./support/runWorkloads.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function once(system: System, i: number, airflowTemplate: string): Promise<WorkloadResult[]> {
  if (system === 'airflow') {
    if (!venv) throw new Error('no Airflow venv');
    const name = `${prefix}_airflow_${i}`;
    await admin(`CREATE DATABASE "${name}" TEMPLATE "${airflowTemplate}"`);
    try {
      return await runAirflowWorkloads(venv, dbUrl(name), spec, PARALLELISM);
    } finally {
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  }
  const s: WorkloadSpec = { ...spec, mode: system === 'capstan-pg' ? 'pg-roles' : 'standalone' };
  const out = execFileSync(process.execPath, [RUNNER, ROOT, JSON.stringify(s)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
  return out.trim().split('\n').map((l) => JSON.parse(l) as WorkloadResult);
}

const line = (f: (k: keyof Figures) => number): string =>
  `W1 ${ms(f('w1Ms')).padStart(6)} ms (${f('w1TiPerS').toFixed(1)} TI/s), first start ${ms(f('firstStartMs'))} ms   W2 ${ms(f('w2Ms')).padStart(6)} ms, gap ${ms(f('w2GapMs'))} ms   ` +
  `W3 ${ms(f('w3Ms')).padStart(6)} ms (${f('w3TiPerS').toFixed(1)} TI/s)   M${mapped} ${ms(f('mappedMs')).padStart(6)} ms   try ${ms(f('tryMs'))} ms`;

const started = new Date();
process.stdout.write(
  `Capstan vs Apache Airflow ${venv?.version ?? '(not run)'} (issue 18 §6) — ${started.toISOString()} — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} — node ${process.version} — ` +
    `${runs} repetitions, parallelism ${PARALLELISM}, systems ${systems.join(', ')}${venv ? `\n  Airflow venv ${venv.dir}, pinned by ${venv.pinnedBy}` : ''}\n`,
);
const airflowTemplate = `${prefix}_airflow_template`;
if (venv) {
  await admin(`CREATE DATABASE "${airflowTemplate}"`);
  const t0 = Date.now();
  await migrateAirflowDb(venv, dbUrl(airflowTemplate));
  process.stdout.write(`  airflow db migrate: ${((Date.now() - t0) / 1000).toFixed(1)} s (once, into a template database)\n`);
}
const all: Record<string, Figures[]> = Object.fromEntries(systems.map((s) => [s, []]));
const loads: number[] = [];
const sampler = setInterval(() => loads.push(loadavg()[0] ?? 0), 10_000);
try {
  for (let i = 0; i < runs; i++) {
    // Rotate the order so that no system always runs first (or right after the heaviest one).
    const order = systems.map((_, k) => systems[(k + i) % systems.length] as System);
    for (const system of order) {
      const f = figures(await once(system, i, airflowTemplate));
      all[system]?.push(f);
      process.stdout.write(`  #${i + 1} ${system.padEnd(14)} ${line((k) => f[k])}   load ${f.load.toFixed(2)}\n`);
    }
  }
} finally {
  clearInterval(sampler);
  if (venv) await admin(`DROP DATABASE IF EXISTS "${airflowTemplate}" WITH (FORCE)`).catch(() => undefined);
}

const med = (s: System, k: keyof Figures) => quantile((all[s] ?? []).map((f) => f[k]), 0.5);
const sec = (x: number) => (Number.isFinite(x) ? `${(x / 1000).toFixed(x < 10_000 ? 2 : 1)} s` : '—');
const msCell = (x: number) => (Number.isFinite(x) ? (x < 1000 ? `${ms(x)} ms` : sec(x)) : '—');
const has = (s: System) => (all[s]?.length ?? 0) > 0;
const ratio = (k: keyof Figures, higherIsBetter = false) => {
  const a = med('airflow', k);
  const parts = (['capstan-pg', 'capstan-sqlite'] as const).filter(has).map((s) => {
    const r = higherIsBetter ? med(s, k) / a : a / med(s, k);
    return Number.isFinite(r) ? `${r.toFixed(2)}×` : '—';
  });
  return parts.join(' / ');
};
type Row = [string, keyof Figures, (x: number) => string, (keyof Figures)?];
const mappedRow: Row = [`M${mapped}: one task mapped over ${mapped} elements, trigger → success`, 'mappedMs', sec, 'mappedTiPerS'];
const rows: Row[] = [
  ['W1: one run of 100 independent no-op tasks, trigger → success', 'w1Ms', sec, 'w1TiPerS'],
  ['W1: trigger → first task start', 'firstStartMs', msCell],
  ['W2: chain of 10 no-op tasks, trigger → success', 'w2Ms', sec],
  ['W2: mean gap end(i) → start(i+1)', 'w2GapMs', msCell],
  ['W3: 20 runs × 10-task fan-out (200 TIs) at once', 'w3Ms', sec, 'w3TiPerS'],
  ...(mapped > 0 ? [mappedRow] : []),
  ['mean duration of one no-op try (DB)', 'tryMs', msCell],
];
const cols = (['airflow', 'capstan-pg', 'capstan-sqlite'] as const).filter(has);
const title: Record<System, string> = { airflow: `Airflow ${venv?.version ?? ''}`.trim(), 'capstan-pg': 'Capstan PG', 'capstan-sqlite': 'Capstan SQLite' };
process.stdout.write(`\nmedians of ${runs} (load average 1 min during the run: ${Math.min(...loads, loadavg()[0] ?? 0).toFixed(1)}–${Math.max(...loads, loadavg()[0] ?? 0).toFixed(1)})\n\n`);
process.stdout.write(`| workload | ${cols.map((c) => title[c]).join(' | ')} | Airflow ÷ Capstan${has('capstan-sqlite') ? ' (PG / SQLite)' : ''} |\n|---|${cols.map(() => '---:|').join('')}---:|\n`);
for (const [label, k, fmt, tiPerS] of rows) {
  const cells = cols.map((c) => `${fmt(med(c, k))}${tiPerS ? ` (${med(c, tiPerS).toFixed(1)} TI/s)` : ''}`);
  process.stdout.write(`| ${label} | ${cells.join(' | ')} | ${has('airflow') ? ratio(k) : '—'} |\n`);
}
process.stdout.write(`\n(ratio > 1: Capstan is faster; elapsed ${((Date.now() - started.getTime()) / 60_000).toFixed(1)} min)\n`);
await stopPostgres?.();
process.exit(0);
