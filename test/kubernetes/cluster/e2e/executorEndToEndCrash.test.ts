// The KubernetesExecutor survives its scheduler being SIGKILLed: a real `capstan scheduler` process is killed
// at three random points of a run (seeded, the seed is printed) and restarted each time, beside a live
// `capstan api-server`; worker pods keep running (the test's local kubelet runs them) and report through the
// API server. Expected: the restarted scheduler adopts the dead one's pods (by its heartbeat) and re-queues
// tries it queued without a pod, so every task ends exactly once, no try gets a second pod, and no pod is
// left behind.
//
// Size: 60 tasks by default (start → 58 → end), to stay near a minute. Each worker is a Node process (~0.5 s
// of CPU), so 500 tasks take several minutes on the two-core machine the suite runs on (run it with
// CAPSTAN_K8S_CRASH_TASKS=500; results in docs/kubernetes/executor-operations.md).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { binariesAvailable, connectTestCluster } from '../../../support/k8s/index.ts';
import type { TestCluster } from '../../../support/k8s/index.ts';
import { triggerDagRun } from '../../../../src/services/triggerRun.ts';
import { pollUntil, startRole, type RoleProcess } from '../../../support/roles.ts';
import { assertEveryTaskExactlyOnce, describeScenario, executions, setUpScenario, type Scenario } from './executorEndToEndSupport.ts';

const available = await binariesAvailable();
const TOTAL = Math.max(10, Number(process.env['CAPSTAN_K8S_CRASH_TASKS'] ?? '60'));
const DAG_ID = 'crash';

/** A small seeded generator (mulberry32), so a failing kill schedule can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

void describe('KubernetesExecutor: scheduler SIGKILLed mid-run', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let namespace: string;
  let s: Scenario;

  before(async () => {
    cluster = await connectTestCluster();
    namespace = await cluster.createNamespace('kecrash');
    s = await setUpScenario({ cluster, namespace, dagId: DAG_ID, width: TOTAL - 2 });
  });
  after(async () => {
    await s?.stop();
    await s?.core.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster?.stop();
  });

  void test(`${TOTAL} tasks, three SIGKILLs at random points: every task exactly once, one pod per try, no orphan`, async () => {
    const seed = Number(process.env['CAPSTAN_K8S_CRASH_SEED'] ?? Date.now() % 1_000_000);
    const random = seeded(seed);
    // Kill points as fractions of the tasks executed: one in each third of the run.
    const points = [0.05 + random() * 0.2, 0.35 + random() * 0.2, 0.65 + random() * 0.2].map((f) => Math.floor(f * TOTAL));
    process.stdout.write(`# crash seed ${seed}: kills after ${points.join(', ')} of ${TOTAL} task executions\n`);

    const roles: RoleProcess[] = [startRole('api-server', ['api-server'], s.env)];
    let scheduler = startRole('scheduler#1', ['scheduler'], s.env);
    roles.push(scheduler);
    await triggerDagRun(s.db, { dagId: DAG_ID, runId: 'r1' }, Date.now());
    for (const [i, point] of points.entries()) {
      await pollUntil(`${point} executions before kill ${i + 1}`, () => executions(s.logFile).length >= point, {
        timeoutMs: 60_000 + TOTAL * 1000, intervalMs: 20, diagnose: () => describeScenario(s, DAG_ID, 'r1', roles),
      });
      scheduler.kill('SIGKILL');
      const { signal } = await scheduler.exited;
      assert.equal(signal, 'SIGKILL');
      scheduler = startRole(`scheduler#${i + 2}`, ['scheduler'], s.env);
      roles.push(scheduler);
    }
    await assertEveryTaskExactlyOnce(s, DAG_ID, 'r1', TOTAL, roles, 60_000 + TOTAL * 1500);
    assert.ok(s.pods.executorIds.size >= 2, `pods were created by more than one scheduler life (${[...s.pods.executorIds].join(', ')})`);
  });
});
