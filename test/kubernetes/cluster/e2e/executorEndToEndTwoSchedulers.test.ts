// Two live `capstan scheduler` processes, each with its KubernetesExecutor, on one PostgreSQL database, beside a
// `capstan api-server`, against the real control plane (the test's local kubelet runs the worker pods). They
// share the run's tasks without thrash: both create pods, no pod changes owner while both are alive (adoption
// is only for dead schedulers), every task runs exactly once, every try has one pod, and none is left behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { binariesAvailable, connectTestCluster } from '../../../support/k8s/index.ts';
import type { TestCluster } from '../../../support/k8s/index.ts';
import { triggerDagRun } from '../../../../src/services/triggerRun.ts';
import { createTestDatabase, stopPostgres, type TestDatabase } from '../../../support/postgres.ts';
import { startRole, type RoleProcess } from '../../../support/roles.ts';
import { assertEveryTaskExactlyOnce, setUpScenario, type Scenario } from './executorEndToEndSupport.ts';

const available = await binariesAvailable();
const TOTAL = Math.max(10, Number(process.env['CAPSTAN_K8S_TWO_SCHEDULER_TASKS'] ?? '60'));
const DAG_ID = 'shared';

void describe('KubernetesExecutor: two schedulers on one PostgreSQL', { skip: !available && 'binaries not built' }, () => {
  let cluster: TestCluster;
  let namespace: string;
  let database: TestDatabase;
  let s: Scenario;

  before(async () => {
    cluster = await connectTestCluster();
    namespace = await cluster.createNamespace('ketwo');
    database = await createTestDatabase();
    // Each scheduler may hold only part of the run, so both must take tries for it to finish quickly.
    s = await setUpScenario({ cluster, namespace, dagId: DAG_ID, width: TOTAL - 2, databaseUrl: database.url, env: { CAPSTAN__CORE__PARALLELISM: '12' } });
  });
  after(async () => {
    await s?.stop();
    await s?.core.deleteNamespace({ name: namespace }).catch(() => {});
    await database?.drop();
    await stopPostgres();
    await cluster?.stop();
  });

  void test(`${TOTAL} tasks shared by two schedulers: both create pods, no pod changes owner, every task exactly once`, async () => {
    const roles: RoleProcess[] = [
      startRole('api-server', ['api-server'], s.env),
      startRole('scheduler-a', ['scheduler'], s.env),
      startRole('scheduler-b', ['scheduler'], s.env),
    ];
    await triggerDagRun(s.db, { dagId: DAG_ID, runId: 'r1' }, Date.now());
    await assertEveryTaskExactlyOnce(s, DAG_ID, 'r1', TOTAL, roles, 60_000 + TOTAL * 1500);
    assert.equal(s.pods.executorIds.size, 2, `both schedulers created pods (${[...s.pods.executorIds].join(', ')})`);
    const moved = [...s.pods.ownersByPod].filter(([, owners]) => owners.size > 1).map(([pod, owners]) => `${pod}: ${[...owners].join(' → ')}`);
    assert.deepEqual(moved, [], 'no pod was adopted away from a live scheduler');
    assert.ok(roles.every((r) => r.alive()), 'every role is still running');
  });
});
