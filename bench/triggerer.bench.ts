/**
 * `npm run bench:triggerer`: how many triggers one triggerer holds on one event loop, and how fast their
 * events resume the tasks. N task instances are deferred on DateTimeTriggers all due at the same moment
 * (a few seconds ahead) in a fresh SQLite database; one in-process triggerer (capacity N) claims and starts
 * them, all wait concurrently, then fire together. Figures: time to claim and start all N; per task, the
 * time from the moment to its resume (`updated_at − moment`), p50/p95/max; and the process's RSS growth.
 *
 * Flags: --n <count> (default 2,000).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { openMetadataDb } from '../src/store/db.ts';
import { migrateToLatest } from '../src/store/migrate.ts';
import { insertTrigger } from '../src/store/triggers.ts';
import { Triggerer } from '../src/triggerer/index.ts';
import { CapstanError } from '../src/core/errors.ts';

const args = process.argv.slice(2);
const N = args.includes('--n') ? Number(args[args.indexOf('--n') + 1]) : 2_000;

const dir = mkdtempSync(join(tmpdir(), 'capstan-bench-trig-'));
const db = openMetadataDb(`sqlite://${join(dir, 'capstan.db')}`);
await migrateToLatest(db);
const t0 = Date.now();
const lead = 4_000 + N; // every trigger must be running before the moment comes
const moment = t0 + lead;
const run = await db.db
  .insertInto('dag_run')
  .values({ dag_id: 'bench', run_id: 'r', run_type: 'manual', state: 'running', conf: '{}', clear_number: 0, created_at: t0, updated_at: t0, logical_date: null, data_interval_start: null, data_interval_end: null, queued_at: null, start_date: t0, end_date: null, note: null })
  .returning('id')
  .executeTakeFirstOrThrow();
await db.db.transaction().execute(async (tx) => {
  for (let i = 0; i < N; i++) {
    const triggerId = await insertTrigger(tx, { classpath: 'capstan.DateTimeTrigger', kwargs: { moment: new Date(moment).toISOString() } }, t0);
    await tx
      .insertInto('task_instance')
      .values({
        id: randomUUID(), dag_run_id: Number(run.id), dag_id: 'bench', run_id: 'r', task_id: `t${i}`, map_index: -1, state: 'deferred', try_number: 1, max_tries: 0,
        operator: 'X', pool: 'default_pool', pool_slots: 1, priority_weight: 1, queue: 'default', executor: null, hostname: null, pid: null, external_executor_id: null,
        queued_at: t0, start_date: t0, end_date: null, duration_ms: null, next_retry_at: null, last_heartbeat_at: null, exit_code: null, failure_reason: null,
        rendered_fields: null, trigger_id: triggerId, next_method: 'done', next_kwargs: JSON.stringify({ kwargs: {} }), trigger_timeout_at: null, queued_by_job_id: null, updated_at: t0,
      })
      .execute();
  }
});

const rssBefore = process.memoryUsage().rss;
const triggerer = new Triggerer({
  db,
  logger: pino({ level: 'warn' }),
  options: { capacity: N, loopIntervalMs: 100, heartbeatIntervalMs: 5_000, healthCheckThresholdMs: 30_000 },
  getConnection: () => Promise.reject(new CapstanError('not_found', 'no connections in this benchmark')),
});
const ac = new AbortController();
const started = Date.now();
const running = triggerer.run(ac.signal);
let allRunningAt = 0;
let peakRss = 0;
for (;;) {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  if (!allRunningAt && triggerer.runningTriggerIds().length === N) allRunningAt = Date.now();
  const left = Number((await db.db.selectFrom('task_instance').select((eb) => eb.fn.countAll<number>().as('n')).where('state', '=', 'deferred').executeTakeFirstOrThrow()).n);
  if (left === 0) break;
  if (Date.now() > moment + 120_000) throw new Error(`${left} tasks still deferred two minutes after the moment`);
  await new Promise((r) => setTimeout(r, 50));
}
ac.abort();
await running;
if (!allRunningAt) throw new Error(`never had all ${N} triggers running at once (the moment came first: raise the lead)`);
const lat = (await db.db.selectFrom('task_instance').select('updated_at').execute()).map((r) => Number(r.updated_at) - moment).sort((a, b) => a - b);
const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? Number.NaN;
console.log(`triggerer benchmark — ${N} DateTimeTriggers, SQLite, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${new Date().toISOString()}`);
console.log(`  claim + start all ${N}: ${allRunningAt - started} ms`);
console.log(`  moment → task resumed: p50 ${pct(50)} ms, p95 ${pct(95)} ms, max ${lat.at(-1)} ms`);
console.log(`  RSS growth while holding them: ${Math.round((peakRss - rssBefore) / 1024 / 1024)} MiB`);
await db.close();
rmSync(dir, { recursive: true, force: true });
