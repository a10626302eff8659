/**
 * `npm run bench:try-phases`: where a try's time goes. A Capstan standalone (SQLite, LocalExecutor) runs a chain
 * of N no-op tasks (one try at a time, so the phases do not contend; `--shape fanout`: N independent ones, 8 at
 * a time, as in W1), once with one task process per try and
 * once with reused task processes; every task process records its phase marks (src/runtime/tryPhases.ts, on only
 * because CAPSTAN_TRY_PHASES_FILE is set), and the table gives p50/p95 per phase next to the scheduler's share
 * from the database (trigger → queued, queued → running, end(i) → start(i+1)).
 *
 * Also printed: CPU per try of the task process and of the standalone process (scheduler, API server).
 *
 * Flags: --n N (default 30), --mode fresh|reuse|both (default both), --shape chain|fanout (default chain),
 * --warm W (localExecutor.warmProcesses, default 2 as in the default configuration), --settle MS (wait after
 * start-up before triggering, default 3000: the warm processes boot and rehearse meanwhile).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ms, quantile } from './support/stats.ts';
import type { WorkloadResult, WorkloadSpec } from './support/runWorkloads.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => (args.includes(name) ? (args[args.indexOf(name) + 1] ?? fallback) : fallback);
const n = Number(flag('--n', '30'));
const mode = flag('--mode', 'both');
const shape = flag('--shape', 'chain') as 'chain' | 'fanout';
const warm = flag('--warm', '2');
const settleMs = Number(flag('--settle', '3000'));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNNER = fileURLToPath(new URL('./support/runWorkloads.ts', import.meta.url));

type Marks = Record<string, number> & { pid: number; tiId: string };

/** Phase name → [from mark, to mark]; `boot`, `runtime import` and `warm-up` count only for a process's first try. */
const PHASES: Array<[string, string, string]> = [
  ['spawn + Node boot', 'processStart', 'bootstrapComplete'],
  ['runtime import', 'bootstrapComplete', 'runtimeLoaded'],
  ['warm-up (rehearsed try path)', 'runtimeLoaded', 'warmedUp'],
  ['start call', 'startCall', 'started'],
  ['log open', 'started', 'dagImport'],
  ['DAG module import', 'dagImport', 'dagImported'],
  ['user code', 'dagImported', 'userCodeEnd'],
  ['log flush before finish', 'logSettle', 'finishCall'],
  ['finish call', 'finishCall', 'finished'],
  ['after finish (callbacks, log close)', 'finished', 'closed'],
];

function runOnce(reuse: boolean): { result: WorkloadResult; marks: Marks[] } {
  const dir = mkdtempSync(join(tmpdir(), 'capstan-phases-'));
  const file = join(dir, 'phases.jsonl');
  const spec: WorkloadSpec = {
    env: {
      CAPSTAN__CORE__PARALLELISM: '8',
      CAPSTAN__LOCAL_EXECUTOR__WARM_PROCESSES: warm,
      CAPSTAN__CORE__TASK_ENV_ALLOW_LIST: 'CAPSTAN_TRY_PHASES_FILE',
      CAPSTAN__LOCAL_EXECUTOR__REUSE_PROCESSES: String(reuse),
    },
    settleMs,
    workloads: [{ dagId: `phases_${shape}`, shape, n }],
  };
  try {
    const out = execFileSync(process.execPath, [RUNNER, ROOT, JSON.stringify(spec)], {
      env: { ...process.env, CAPSTAN_TRY_PHASES_FILE: file },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const result = JSON.parse(out.trim().split('\n').at(-1) as string) as WorkloadResult;
    const marks = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Marks);
    return { result, marks };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(label: string, { result, marks }: { result: WorkloadResult; marks: Marks[] }): void {
  if (result.run.state !== 'success') throw new Error(`${label}: the run ended ${result.run.state}`);
  const byTi = new Map(result.tis.map((t) => [t.id, t]));
  const firstOfPid = new Set<Marks>();
  const seen = new Set<number>();
  for (const m of [...marks].sort((a, b) => (a['assigned'] ?? 0) - (b['assigned'] ?? 0))) {
    if (!seen.has(m.pid)) firstOfPid.add(m);
    seen.add(m.pid);
  }
  const rows: Array<[string, number[]]> = [];
  for (const [name, from, to] of PHASES) {
    const boot = from === 'processStart' || from === 'bootstrapComplete' || from === 'runtimeLoaded';
    rows.push([name, marks.filter((m) => !boot || firstOfPid.has(m)).map((m) => (m[to] ?? Number.NaN) - (m[from] ?? Number.NaN))]);
  }
  const queuedToAssigned = marks.map((m) => (m['assigned'] ?? Number.NaN) - (byTi.get(m.tiId)?.queued_at ?? Number.NaN));
  rows.splice(3, 0, ['queued → assigned to a process', queuedToAssigned]);
  rows.push(['CPU of the task process per try', marks.map((m) => m['cpuMs'] ?? Number.NaN)]);
  const chain = [...result.tis].sort((a, b) => Number(a.task_id.slice(1)) - Number(b.task_id.slice(1)));
  const gaps = shape === 'fanout' ? [] : chain.slice(1).map((t, i) => (t.start_date ?? Number.NaN) - (chain[i]?.end_date ?? Number.NaN));
  const firstQueued = Math.min(...result.tis.map((t) => t.queued_at ?? Number.POSITIVE_INFINITY));
  rows.push(['scheduler: trigger → first queued', [firstQueued - result.triggeredAt]]);
  rows.push(['trigger → first task start (DB)', [Math.min(...result.tis.map((t) => t.start_date ?? Number.POSITIVE_INFINITY)) - result.triggeredAt]]);
  rows.push(['scheduler: queued → running (DB)', result.tis.map((t) => (t.start_date ?? Number.NaN) - (t.queued_at ?? Number.NaN))]);
  rows.push(['scheduler: end(i) → start(i+1) (DB)', gaps]);
  rows.push(['try wall: running → ended (DB)', result.tis.map((t) => (t.end_date ?? Number.NaN) - (t.start_date ?? Number.NaN))]);
  const total = (result.run.end_date ?? Number.NaN) - result.triggeredAt;
  process.stdout.write(`\n${label}: ${shape} of ${n}, trigger → success ${ms(total)} ms, ${seen.size} task process(es) for ${marks.length} tries, standalone process CPU ${ms(result.serverCpuMs / marks.length)} ms per try\n`);
  process.stdout.write(`${'phase'.padEnd(40)} ${'n'.padStart(4)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)}\n`);
  for (const [name, xs] of rows) {
    const finite = xs.filter((x) => Number.isFinite(x));
    process.stdout.write(`${name.padEnd(40)} ${String(finite.length).padStart(4)} ${ms(quantile(finite, 0.5)).padStart(8)} ${ms(quantile(finite, 0.95)).padStart(8)}\n`);
  }
}

process.stdout.write(`capstan try phases — ${new Date().toISOString()} — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} — node ${process.version} — load ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
if (mode === 'fresh' || mode === 'both') report('one process per try (localExecutor.reuseProcesses=false)', runOnce(false));
if (mode === 'reuse' || mode === 'both') report('reused processes (localExecutor.reuseProcesses=true)', runOnce(true));
