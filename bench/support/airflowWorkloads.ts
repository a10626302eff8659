/**
 * Airflow's side of `npm run bench:vs-airflow`: the workloads of a {@link WorkloadSpec} on Apache Airflow 3 with
 * the LocalExecutor on a PostgreSQL database — `airflow api-server` (the REST API the runs are triggered through,
 * and the Execution API the task processes talk to), `airflow scheduler` (with the executor's workers) and
 * `airflow dag-processor`, the three processes Airflow 3 needs for this (no triggerer: nothing defers). Results
 * are read from Airflow's `dag_run` and `task_instance` tables into the {@link WorkloadResult} shape Capstan's
 * runner prints, so both go through the same figures.
 *
 * The DAG files are a few lines of Python written at run time. Their tasks are `@task` functions that return
 * nothing: Airflow's scheduler marks an `EmptyOperator` successful itself without running it, which would time no
 * task process at all (Capstan's `EmptyOperator` runs through a task process like any task).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { AirflowVenv } from './airflowVenv.ts';
import type { WorkloadResult, WorkloadSpec } from './runWorkloads.ts';
import { freePort, signalProcessGroup } from '../../test/support/roles.ts';

type Workload = WorkloadSpec['workloads'][number];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The settings every Airflow process of one deployment shares. */
function airflowEnv(home: string, dbUrl: string, port: number, parallelism: number): Record<string, string> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => !e[0].startsWith('AIRFLOW') && e[1] !== undefined));
  return {
    ...inherited,
    AIRFLOW_HOME: home,
    AIRFLOW__CORE__DAGS_FOLDER: join(home, 'dags'),
    AIRFLOW__CORE__EXECUTOR: 'LocalExecutor',
    AIRFLOW__CORE__PARALLELISM: String(parallelism),
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION: 'False',
    AIRFLOW__CORE__EXECUTION_API_SERVER_URL: `http://127.0.0.1:${port}/execution/`,
    // Runs are triggered through the REST API with a token from GET /auth/token.
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS: 'True',
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: dbUrl.replace(/^postgres(ql)?:/, 'postgresql+psycopg2:'),
    AIRFLOW__API__HOST: '127.0.0.1',
    AIRFLOW__API__PORT: String(port),
    AIRFLOW__API__BASE_URL: `http://127.0.0.1:${port}`,
    // One uvicorn worker per core of the 2-core machine (Airflow's default is 4).
    AIRFLOW__API__WORKERS: '2',
    // The JWT secret signs the task processes' Execution API tokens: one for the scheduler and the API server.
    AIRFLOW__API_AUTH__JWT_SECRET: randomBytes(24).toString('hex'),
    AIRFLOW__API__SECRET_KEY: randomBytes(24).toString('hex'),
    AIRFLOW__LOGGING__LOGGING_LEVEL: 'WARNING',
    PYTHONUNBUFFERED: '1',
  };
}

/** `airflow db migrate` into the (empty) database `dbUrl`: the bench copies it as a template per repetition. */
export async function migrateAirflowDb(venv: AirflowVenv, dbUrl: string): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'capstan-bench-airflow-migrate-'));
  try {
    const log = join(home, 'migrate.log');
    const code = await exitOf(spawnLogged(venv.airflow, ['db', 'migrate'], airflowEnv(home, dbUrl, 8080, 8), log, false));
    if (code !== 0) throw new Error(`airflow db migrate exited with ${code}:\n${tail(log)}`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** Start a deployment on the migrated database `dbUrl`, run the workloads one after another, stop it. */
export async function runAirflowWorkloads(venv: AirflowVenv, dbUrl: string, spec: WorkloadSpec, parallelism: number): Promise<WorkloadResult[]> {
  const home = mkdtempSync(join(tmpdir(), 'capstan-bench-airflow-'));
  mkdirSync(join(home, 'dags'));
  for (const w of spec.workloads) writeFileSync(join(home, 'dags', `${w.dagId}.py`), dagSource(w));
  const port = await freePort();
  const env = airflowEnv(home, dbUrl, port, parallelism);
  const roles = ['api-server', 'scheduler', 'dag-processor'].map((role) => ({ role, log: join(home, `${role}.log`) }));
  const procs = roles.map(({ role, log }) => spawnLogged(venv.airflow, [role], env, log, true));
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  const base = `http://127.0.0.1:${port}`;
  try {
    const dead = () => {
      const i = procs.findIndex((p) => p.exitCode !== null || p.signalCode !== null);
      const r = roles[i];
      return r ? `airflow ${r.role} exited (${procs[i]?.exitCode ?? procs[i]?.signalCode}):\n${tail(r.log)}` : undefined;
    };
    await until(async () => {
      const health = (await fetch(`${base}/api/v2/monitor/health`).then((r) => (r.ok ? r.json() : undefined)).catch(() => undefined)) as Record<string, { status?: string }> | undefined;
      if (health?.['scheduler']?.status !== 'healthy' || health['dag_processor']?.status !== 'healthy') return false;
      const parsed = await db.query('SELECT count(*)::int AS n FROM dag WHERE dag_id = ANY($1) AND NOT is_paused', [spec.workloads.map((w) => w.dagId)]);
      return (parsed.rows[0] as { n: number }).n === spec.workloads.length;
    }, 300_000, 'Airflow to be healthy with the DAGs parsed', dead);
    await sleep(spec.settleMs);
    const token = ((await (await fetch(`${base}/auth/token`)).json()) as { access_token: string }).access_token;
    const results: WorkloadResult[] = [];
    for (const w of spec.workloads) {
      const runIds = Array.from({ length: w.runs ?? 1 }, (_, i) => (i === 0 ? 'bench' : `bench_${i}`));
      const triggeredAt = Date.now();
      // Triggered at once, as Capstan's runner does one after another on its own connection.
      await Promise.all(runIds.map((runId) => trigger(base, token, w.dagId, runId)));
      await until(async () => {
        const r = await db.query("SELECT count(*)::int AS n FROM dag_run WHERE dag_id = $1 AND run_id = ANY($2) AND state IN ('success', 'failed')", [w.dagId, runIds]);
        return (r.rows[0] as { n: number }).n === runIds.length;
      }, 1_800_000, `${w.dagId} to end`, dead, 50);
      const ms = (col: string) => `(extract(epoch FROM ${col}) * 1000)::float8 AS ${col}`;
      const runs = (await db.query(`SELECT run_id, state, ${ms('start_date')}, ${ms('end_date')} FROM dag_run WHERE dag_id = $1 AND run_id = ANY($2)`, [w.dagId, runIds])).rows as Array<{ run_id: string; state: string; start_date: number | null; end_date: number | null }>;
      const tis = (await db.query(`SELECT id::text, task_id, run_id, map_index, state, ${ms('queued_dttm')}, ${ms('start_date')}, ${ms('end_date')}, pid FROM task_instance WHERE dag_id = $1 AND run_id = ANY($2)`, [w.dagId, runIds])).rows as Array<{ id: string; task_id: string; run_id: string; map_index: number; state: string; queued_dttm: number | null; start_date: number | null; end_date: number | null; pid: number | null }>;
      const last = runs.reduce((a, b) => ((b.end_date ?? 0) > (a.end_date ?? 0) ? b : a));
      results.push({
        dagId: w.dagId,
        triggeredAt,
        schedulerLoops: Number.NaN,
        serverCpuMs: Number.NaN,
        run: { state: last.state, start_date: last.start_date, end_date: last.end_date },
        runs: runs.map((r) => ({ runId: r.run_id, state: r.state, start_date: r.start_date, end_date: r.end_date })),
        tis: tis.map((t) => ({ id: t.id, task_id: t.task_id, run_id: t.run_id, map_index: t.map_index, state: t.state, queued_at: t.queued_dttm, start_date: t.start_date, end_date: t.end_date, pid: t.pid })),
      });
      await sleep(spec.settleMs);
    }
    return results;
  } finally {
    await db.end();
    for (const p of procs) signalProcessGroup(p, 'SIGTERM');
    await Promise.race([Promise.all(procs.map(exitOf)), sleep(30_000)]);
    for (const p of procs) signalProcessGroup(p, 'SIGKILL');
    rmSync(home, { recursive: true, force: true });
  }
}

async function trigger(base: string, token: string, dagId: string, runId: string): Promise<void> {
  const res = await fetch(`${base}/api/v2/dags/${dagId}/dagRuns`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ dag_run_id: runId, logical_date: null }),
  });
  if (!res.ok) throw new Error(`triggering ${dagId} ${runId} on Airflow: ${res.status} ${await res.text()}`);
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string, dead: () => string | undefined, everyMs = 500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const died = dead();
    if (died) throw new Error(`while waiting for ${what}: ${died}`);
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

function spawnLogged(cmd: string, args: string[], env: Record<string, string>, log: string, detached: boolean): ChildProcess {
  const out = createWriteStream(log);
  const child = spawn(cmd, args, { env, cwd: env['AIRFLOW_HOME'], detached, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(out, { end: false });
  child.stderr?.pipe(out, { end: false });
  return child;
}

function tail(log: string): string {
  try {
    return readFileSync(log, 'utf8').trim().split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}

function exitOf(c: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve(c.exitCode) : c.once('exit', (code) => resolve(code))));
}

/** The same shapes as runWorkloads.ts's Capstan DAGs: task ids t0…t(n-1); numbers → square.expand → total. */
function dagSource(w: Workload): string {
  const head = `from datetime import datetime
from airflow.sdk import DAG, task
args = dict(dag_id=${JSON.stringify(w.dagId)}, schedule=None, start_date=datetime(2024, 1, 1), catchup=False, max_active_tasks=${w.n}, max_active_runs=${w.runs ?? 1})
`;
  if (w.shape === 'mapped') {
    return `${head}@task
def numbers(): return list(range(${w.n}))
@task
def square(x): return x * x
@task
def total(xs): return sum(xs)
with DAG(**args):
    total(square.expand(x=numbers()))
`;
  }
  return `${head}@task
def noop(): pass
with DAG(**args):
    prev = None
    for i in range(${w.n}):
        t = noop.override(task_id=f"t{i}")()
${w.shape === 'chain' ? '        if prev is not None: prev >> t\n' : ''}        prev = t
`;
}
