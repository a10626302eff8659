/**
 * Recording what ran at once: task commands append `start <label> <ns>` and `end <label> <ns>` lines to
 * a file (with `date +%s%N`), and {@link maxConcurrency} sweeps them to find the most that overlapped.
 */
import { existsSync, readFileSync } from 'node:fs';

/** A Bash snippet that records its run in `file` under `label`, holding for `seconds` in between. */
export function recordingCommand(file: string, label: string, seconds = 0.3): string {
  return `echo "start ${label} $(date +%s%N)" >> ${file}; sleep ${seconds}; echo "end ${label} $(date +%s%N)" >> ${file}`;
}

export interface Interval {
  label: string;
  start: bigint;
  end: bigint;
}

/** The recorded intervals, one per label (a label recorded twice is an error: it ran twice). */
export function readIntervals(file: string): Interval[] {
  if (!existsSync(file)) return [];
  const starts = new Map<string, bigint>();
  const out: Interval[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [kind, label, ns] = line.trim().split(' ');
    if (!kind || !label || !ns) continue;
    if (kind === 'start') {
      if (starts.has(label) || out.some((i) => i.label === label)) throw new Error(`'${label}' started twice`);
      starts.set(label, BigInt(ns));
    } else {
      const start = starts.get(label);
      if (start === undefined) throw new Error(`'${label}' ended without starting`);
      starts.delete(label);
      out.push({ label, start, end: BigInt(ns) });
    }
  }
  if (starts.size > 0) throw new Error(`never ended: ${[...starts.keys()].join(', ')}`);
  return out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}

/** The largest total weight (default 1 per interval) of intervals open at one instant. */
export function maxConcurrency(intervals: Interval[], weight: (label: string) => number = () => 1): number {
  const events: Array<[bigint, number]> = [];
  for (const i of intervals) {
    events.push([i.start, weight(i.label)], [i.end, -weight(i.label)]);
  }
  // Ends before starts at the same instant: touching intervals do not overlap.
  events.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
  let now = 0;
  let max = 0;
  for (const [, d] of events) {
    now += d;
    max = Math.max(max, now);
  }
  return max;
}
