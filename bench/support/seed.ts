/**
 * The data `bench:api` and `bench:ui` seed (issue 14), so the API figures and the browser figures describe the
 * same database: small chain DAGs with one run each (a third of the runs left queued) and one big chain DAG with
 * many runs (all but the newest marked success). States are set through the engine's own verb (marking a run
 * marks its task instances).
 */
import { dag, EmptyOperator, type Dag } from '../../src/sdk/index.ts';
import { markDagRun } from '../../src/services/mark.ts';
import { createDagRun } from '../../src/store/dagRuns.ts';
import { upsertSerializedDag } from '../../src/store/dags.ts';
import type { MetadataDb } from '../../src/store/db.ts';

/** How much to seed; {@link FULL_SEED} is issue 14's size. */
export interface SeedSize {
  smallDags: number;
  smallTasks: number;
  bigTasks: number;
  bigRuns: number;
}

/** 5,000 DAGs × 15 tasks and a 1,000-task DAG × 25 runs: 100,000 task instances. */
export const FULL_SEED: SeedSize = { smallDags: 5_000, smallTasks: 15, bigTasks: 1_000, bigRuns: 25 };
/** A tenth, for a quick look. */
export const QUICK_SEED: SeedSize = { smallDags: 500, smallTasks: 15, bigTasks: 200, bigRuns: 10 };

/** The big DAG's id; its runs are `run_0` (oldest) … `run_<bigRuns-1>` (newest, left queued). */
export const BIG_DAG = 'big';

/** A chain t0 → group_1.t1 → … with tasks spread over ten groups. */
function chainDag(dagId: string, n: number, tags: string[]): Dag {
  return dag({ dagId, schedule: null, tags, maxActiveTasks: n }, () => {
    let prev = new EmptyOperator({ taskId: 't0' });
    for (let i = 1; i < n; i++) {
      const t = new EmptyOperator({ taskId: `group_${i % 10}.t${i}` });
      prev.before(t);
      prev = t;
    }
  });
}

/** The big DAG's task id of row `i` (DAG order). */
export function bigTaskId(i: number): string {
  return i === 0 ? 't0' : `group_${i % 10}.t${i}`;
}

const STATES = ['success', 'failed', undefined] as const;

/** Seed `db` (migrated, empty), print how much in how long, and return the number of task instances written. */
export async function seedBenchData(db: MetadataDb, size: SeedSize): Promise<number> {
  const now = Date.now();
  const started = performance.now();
  for (let i = 0; i < size.smallDags; i++) {
    const s = chainDag(`bench_${String(i).padStart(5, '0')}`, size.smallTasks, [`t${i % 10}`, i % 2 === 0 ? 'even' : 'odd']).serialize(`/bench/d${i}.ts`);
    await upsertSerializedDag(db, s, now);
    const run = await createDagRun(db, { dagId: s.dagId, runId: 'run_0', runType: 'manual', logicalDate: now - i * 1000, dataIntervalStart: null, dataIntervalEnd: null, conf: {}, note: null }, s, now);
    const state = STATES[i % STATES.length];
    if (state !== undefined) await markDagRun(db, { dagId: s.dagId, runId: run.run_id, state }, now, 'bench');
  }
  const big = chainDag(BIG_DAG, size.bigTasks, ['big']).serialize('/bench/big.ts');
  await upsertSerializedDag(db, big, now);
  for (let r = 0; r < size.bigRuns; r++) {
    const run = await createDagRun(db, { dagId: BIG_DAG, runId: `run_${r}`, runType: 'manual', logicalDate: now - (size.bigRuns - r) * 60_000, dataIntervalStart: null, dataIntervalEnd: null, conf: {}, note: null }, big, now);
    if (r < size.bigRuns - 1) await markDagRun(db, { dagId: BIG_DAG, runId: run.run_id, state: 'success' }, now, 'bench');
  }
  const tis = Number((await db.db.selectFrom('task_instance').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  process.stdout.write(`  seeded ${size.smallDags + 1} DAGs, ${tis} task instances in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return tis;
}
