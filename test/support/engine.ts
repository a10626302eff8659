/**
 * A whole Capstan in the test process: a migrated metadata DB (SQLite or PostgreSQL), the API server on
 * a free port, a scheduler with the real LocalExecutor (task processes are real child processes), and the
 * DAG processor over a temp DAGs folder. Tests write DAG files, trigger runs and await their states.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, type Engine } from '../../src/app/components.ts';
import { createDagProcessor, createExecutor, createScheduler, createTriggerer, startApiServer } from '../../src/app/roles.ts';
import type { Triggerer } from '../../src/triggerer/index.ts';
import type { RunningServer } from '../../src/api/server.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { DagProcessor } from '../../src/dagprocessing/processor.ts';
import type { Executor } from '../../src/executors/types.ts';
import type { Scheduler } from '../../src/scheduler/scheduler.ts';
import type { DialectName } from '../../src/store/dialect.ts';
import { getDagRun } from '../../src/store/dagRuns.ts';
import { listTaskInstances } from '../../src/store/taskInstances.ts';
import type { DagRunRow, TaskInstanceRow } from '../../src/store/schema.ts';
import type { DagRunState } from '../../src/core/states.ts';
import { triggerDagRun } from '../../src/services/triggerRun.ts';
import type { JsonValue } from '../../src/core/serialized.ts';
import { openFreshDb } from './dialects.ts';

export interface TestEngineOptions {
  dialect?: DialectName;
  /** DAG files to write before the first parse: file name → source. */
  dags?: Record<string, string>;
  /** Extra config as `CAPSTAN__SECTION__KEY` env entries. */
  env?: Record<string, string>;
  /** Use this executor instead of the LocalExecutor. */
  executor?: (engine: Engine, apiUrl: string) => Executor;
  /** Run a triggerer in the same process, as `standalone` does. Default true. */
  triggerer?: boolean;
}

export interface TestEngine {
  engine: Engine;
  home: string;
  dagsFolder: string;
  api: RunningServer;
  scheduler: Scheduler;
  processor: DagProcessor;
  executor: Executor;
  /** The in-process triggerer (undefined with `triggerer: false`). */
  triggerer: Triggerer | undefined;
  writeDag(fileName: string, source: string): string;
  trigger(dagId: string, options?: { runId?: string; conf?: JsonValue }): Promise<DagRunRow>;
  /** Resolve when the run reaches one of `states` (default success/failed); throws after `timeoutMs`. */
  waitForRun(dagId: string, runId: string, options?: { states?: DagRunState[]; timeoutMs?: number }): Promise<DagRunRow>;
  taskStates(dagId: string, runId: string): Promise<Record<string, string>>;
  taskInstances(dagId: string, runId: string): Promise<TaskInstanceRow[]>;
  /** A personal API token of the test's `admin` user (role Admin). */
  adminToken: string;
  /** `fetch(api.url + path)` signed in as `admin` (unless `init.headers` sets its own Authorization). */
  apiFetch(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

/** Password of the `admin` user every test engine creates. */
export const TEST_ADMIN_PASSWORD = 'test-admin-password';

/** Start a test engine; the scheduler loop runs until `stop()`. */
export async function startTestEngine(options: TestEngineOptions = {}): Promise<TestEngine> {
  const home = mkdtempSync(join(tmpdir(), 'capstan-engine-'));
  const config = loadConfig({
    env: {
      CAPSTAN_HOME: home,
      CAPSTAN__CORE__LOAD_EXAMPLES: 'false',
      CAPSTAN__API__PORT: '0',
      CAPSTAN__SCHEDULER__LOOP_INTERVAL_MS: '200',
      CAPSTAN__SCHEDULER__ZOMBIE_CHECK_INTERVAL_MS: '500',
      CAPSTAN__LOGGING__LEVEL: 'warn',
      CAPSTAN__TRIGGERER__LOOP_INTERVAL_MS: '200',
      // Cheap password hashes: tests create users by the dozen.
      CAPSTAN__AUTH__PASSWORD_HASH_COST: '10',
      ...options.env,
    },
  });
  const dagsFolder = config.core.dagsFolder;
  mkdirSync(dagsFolder, { recursive: true });
  const fresh = await openFreshDb(options.dialect ?? 'sqlite');
  const engine = createEngine(config, { db: fresh.db });
  const writeDag = (fileName: string, source: string) => {
    const path = join(dagsFolder, fileName);
    writeFileSync(path, source);
    return path;
  };
  for (const [name, source] of Object.entries(options.dags ?? {})) writeDag(name, source);
  let scheduler: Scheduler | undefined = undefined;
  const api = await startApiServer(engine, () => scheduler?.wake());
  const admin = await engine.auth.createUser({ username: 'admin', password: TEST_ADMIN_PASSWORD, role: 'Admin' });
  const { token: adminToken } = await engine.auth.createApiToken(await engine.auth.principalFor(admin), { name: 'test-admin' });
  const apiFetch = (path: string, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (!headers.has('authorization')) headers.set('authorization', `Bearer ${adminToken}`);
    return fetch(`${api.url}${path}`, { ...init, headers });
  };
  const executor = options.executor ? options.executor(engine, api.url) : await createExecutor(engine, api.url);
  scheduler = createScheduler(engine, executor);
  const processor = createDagProcessor(engine, () => scheduler?.wake());
  await processor.processOnce();
  const ac = new AbortController();
  const triggerer = options.triggerer === false ? undefined : createTriggerer(engine);
  const running = Promise.all([scheduler.run(ac.signal), triggerer?.run(ac.signal)]);
  const s = scheduler;

  const waitForRun: TestEngine['waitForRun'] = async (dagId, runId, o = {}) => {
    const states = o.states ?? ['success', 'failed'];
    const deadline = Date.now() + (o.timeoutMs ?? 60_000);
    for (;;) {
      const run = await getDagRun(engine.db, dagId, runId);
      if (states.includes(run.state)) return run;
      if (Date.now() > deadline) {
        const tis = await listTaskInstances(engine.db, { dagId, runId });
        throw new Error(`run ${dagId}/${runId} is ${run.state}, not ${states.join('|')}; tasks: ${tis.map((t) => `${t.task_id}=${t.state}`).join(', ')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  return {
    engine,
    home,
    dagsFolder,
    api,
    scheduler: s,
    processor,
    executor,
    triggerer,
    writeDag,
    trigger: async (dagId, o = {}) => {
      const run = await triggerDagRun(engine.db, { dagId, ...(o.runId ? { runId: o.runId } : {}), ...(o.conf === undefined ? {} : { conf: o.conf }) }, engine.now());
      s.wake();
      return run;
    },
    waitForRun,
    taskStates: async (dagId, runId) => Object.fromEntries((await listTaskInstances(engine.db, { dagId, runId })).map((t) => [t.task_id, t.state])),
    taskInstances: (dagId, runId) => listTaskInstances(engine.db, { dagId, runId }),
    adminToken,
    apiFetch,
    stop: async () => {
      ac.abort();
      await running;
      // Task processes outlive a stopped scheduler by design; a test's must not outlive the test.
      const left = await engine.db.db.selectFrom('task_instance').select('pid').where('state', 'in', ['queued', 'running']).where('pid', 'is not', null).execute();
      for (const { pid } of left) {
        try {
          process.kill(-(pid as number), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await api.close();
      await fresh.dispose();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
