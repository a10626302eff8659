/**
 * `npm run bench:cli`: wall time of CLI commands as a user types them — `capstan --help`, `capstan config get
 * api.port`, `capstan dags list` on a migrated SQLite home — each run N times (default 10) in fresh processes,
 * printing p50 and p95 (issue 18's targets: --help ≤ 150 ms, dags list ≤ 300 ms). Pass another checkout's
 * `src/cli/main.ts` as CAPSTAN_BENCH_MAIN_BEFORE to time it in the same run, alternating with this one. Each
 * checkout is run through its `bin/capstan.mjs`, the `capstan` command a user types.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runs = Number(process.env['CAPSTAN_BENCH_RUNS'] ?? '10');
const mains: Record<string, string> = { now: fileURLToPath(new URL('../src/cli/main.ts', import.meta.url)) };
if (process.env['CAPSTAN_BENCH_MAIN_BEFORE']) mains['before'] = process.env['CAPSTAN_BENCH_MAIN_BEFORE'];
const home = mkdtempSync(join(tmpdir(), 'capstan-cli-bench-'));
const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CAPSTAN'))), CAPSTAN_HOME: home };
execFileSync(process.execPath, [mains['now']!, 'db', 'migrate'], { env, stdio: 'ignore' });

const commands = [['--help'], ['config', 'get', 'api.port'], ['dags', 'list']];
const binOf = (main: string) => join(dirname(main), '..', '..', 'bin', 'capstan.mjs');
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;
console.log(`capstan CLI wall time, ${runs} runs each (ms)`);
for (const args of commands) {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(mains).map((k) => [k, []]));
  for (let i = 0; i < runs; i++) {
    for (const [name, main] of Object.entries(mains)) {
      const started = performance.now();
      execFileSync(process.execPath, [binOf(main), ...args], { env, stdio: 'ignore' });
      times[name]!.push(performance.now() - started);
    }
  }
  for (const [name, xs] of Object.entries(times)) console.log(`  capstan ${args.join(' ').padEnd(20)} ${name.padEnd(7)} p50 ${quantile(xs, 0.5).toFixed(0).padStart(5)}   p95 ${quantile(xs, 0.95).toFixed(0).padStart(5)}`);
}
rmSync(home, { recursive: true, force: true });
