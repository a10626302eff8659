/**
 * Timestamps of a try's phases inside its task process, for `npm run bench:try-phases`. They are recorded
 * only when the task process starts with `CAPSTAN_TRY_PHASES_FILE` naming a file: then every try appends one
 * JSON line there (epoch milliseconds, sub-millisecond precision). Otherwise every call is one branch and
 * nothing is kept.
 *
 * @example
 * markPhase('startCalled');
 * // … the try runs …
 * writePhases({ tiId });
 */
import { appendFileSync } from 'node:fs';

/** The file the marks go to, read once at process start (a reused process resets its environment per try). */
const PHASES_FILE = process.env['CAPSTAN_TRY_PHASES_FILE'];

let marks: Record<string, number> | undefined = PHASES_FILE ? {} : undefined;
let cpuAtLastWrite = PHASES_FILE ? process.cpuUsage() : undefined;

/** Note that phase `name` was reached now (no-op unless the bench asked for marks). */
export function markPhase(name: string): void {
  if (marks !== undefined) marks[name] = performance.timeOrigin + performance.now();
}

/**
 * Append this try's marks (with `fields`, and the process's own boot marks: start, Node bootstrap done) to the
 * phases file and start a new set; no-op unless the bench asked for marks.
 */
export function writePhases(fields: Record<string, string | number | boolean>): void {
  if (marks === undefined || PHASES_FILE === undefined) return;
  const boot = { processStart: performance.timeOrigin, bootstrapComplete: performance.timeOrigin + performance.nodeTiming.bootstrapComplete };
  // CPU this process used since the previous try's marks were written (the first: since it started).
  const cpu = process.cpuUsage(cpuAtLastWrite);
  cpuAtLastWrite = process.cpuUsage();
  appendFileSync(PHASES_FILE, `${JSON.stringify({ pid: process.pid, ...fields, ...boot, ...marks, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
  // The process's own marks (booted, warmed up) stay with every later try's.
  marks = { runtimeLoaded: marks['runtimeLoaded'] ?? Number.NaN, warmedUp: marks['warmedUp'] ?? Number.NaN };
}
