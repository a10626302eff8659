/**
 * The figures of one W1/W2/W3/M repetition, computed from the start/end columns the workload runner read
 * back (bench/support/runWorkloads.ts for Capstan, airflowWorkloads.ts for Airflow), so bench:fanout and
 * bench:vs-airflow measure the same thing the same way.
 */
import { loadavg } from 'node:os';
import type { WorkloadResult } from './runWorkloads.ts';

export interface WorkloadFigures {
  w1Ms: number;
  w1TiPerS: number;
  /** W1's trigger → first try marked running. */
  firstStartMs: number;
  w2Ms: number;
  /** W2's mean end(i) → start(i+1). */
  w2GapMs: number;
  w3Ms: number;
  w3TiPerS: number;
  /** NaN when the mapped workload was not run. */
  mappedMs: number;
  mappedTiPerS: number;
  /** Mean try duration (start → end) over W1–W3. */
  tryMs: number;
  /** 1-minute load average when the repetition ended. */
  load: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Figures of `results` in the order W1, W2, W3[, M]; throws when a workload is missing or a run did not succeed. */
export function workloadFigures(results: WorkloadResult[]): WorkloadFigures {
  const [w1, w2, w3, m] = results;
  if (!w1 || !w2 || !w3) throw new Error('a workload is missing');
  for (const r of results) for (const run of r.runs) if (run.state !== 'success') throw new Error(`${r.dagId} ${run.runId} ended ${run.state}`);
  const end = (r: WorkloadResult) => Math.max(...r.runs.map((run) => run.end_date as number)) - r.triggeredAt;
  const chain = [...w2.tis].sort((a, b) => Number(a.task_id.slice(1)) - Number(b.task_id.slice(1)));
  const gaps = chain.slice(1).map((t, i) => (t.start_date as number) - (chain[i]?.end_date as number));
  const tries = [...w1.tis, ...w2.tis, ...w3.tis].map((t) => (t.end_date as number) - (t.start_date as number));
  return {
    w1Ms: end(w1),
    w1TiPerS: (w1.tis.length * 1000) / end(w1),
    firstStartMs: Math.min(...w1.tis.map((t) => t.start_date as number)) - w1.triggeredAt,
    w2Ms: end(w2),
    w2GapMs: mean(gaps),
    w3Ms: end(w3),
    w3TiPerS: (w3.tis.length * 1000) / end(w3),
    mappedMs: m ? end(m) : Number.NaN,
    mappedTiPerS: m ? (m.tis.length * 1000) / end(m) : Number.NaN,
    tryMs: mean(tries),
    load: loadavg()[0] ?? 0,
  };
}
