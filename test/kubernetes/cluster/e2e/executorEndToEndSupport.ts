// Pieces of the KubernetesExecutor scenario tests that run Capstan's roles as real processes (schedulers that
// can be SIGKILLed, an API server, the DAG processor) against the test control plane, with the test process
// playing the kubelet: worker pods really run `capstan tasks run`. Every task appends `<task_id> <try>` to a
// shared file, so the file shows whether a try ran twice or never; a pod recorder sees every worker pod
// created, so a second pod for one try, or a pod left behind, shows too.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, makeInformer } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { getDagRun } from '../../../../src/store/dagRuns.ts';
import { getSerializedDag } from '../../../../src/store/dags.ts';
import { openMetadataDb, type MetadataDb } from '../../../../src/store/db.ts';
import { listTaskInstances } from '../../../../src/store/taskInstances.ts';
import type { TestCluster } from '../../../support/k8s/index.ts';
import { startLocalKubelet, type LocalKubelet } from '../../../support/k8s/localKubelet.ts';
import { freePort, killAllRoles, pollUntil, runCapstanCommand, type RoleProcess } from '../../../support/roles.ts';
import { RUN_LOCALLY_LABEL, WORKER_TEMPLATE } from '../executorSupport.ts';

/** The scenario DAG: start → `width` parallel tasks → end; each task logs `<task_id> <try>` to `logFile`. */
export function scenarioDag(dagId: string, width: number, logFile: string): string {
  return `
import { dag, BashOperator, chain } from 'capstan';
const t = (taskId: string) => new BashOperator({ taskId, bashCommand: 'echo "$CAPSTAN_CTX_TASK_ID $CAPSTAN_CTX_TRY_NUMBER" >> ${logFile}' });
export default dag({ dagId: '${dagId}', schedule: null, maxActiveTasks: 64 }, () => {
  chain(t('start'), Array.from({ length: ${width} }, (_, i) => t('w' + i)), t('end'));
});
`;
}

/** Every worker pod seen created in a namespace, by try (`<ti id>#<try>`). */
export interface PodRecorder {
  /** Pod names per try. */
  readonly byTry: ReadonlyMap<string, ReadonlySet<string>>;
  /** Distinct `capstan.dev/executor-id` labels of the pods at creation. */
  readonly executorIds: ReadonlySet<string>;
  /** Every `capstan.dev/executor-id` each pod carried (more than one: it changed owner, by adoption). */
  readonly ownersByPod: ReadonlyMap<string, ReadonlySet<string>>;
  stop(): Promise<void>;
}

/** Records worker pods through a watch (a re-list after a 410 re-adds pods, which a set absorbs). */
export async function recordPods(cluster: TestCluster, namespace: string): Promise<PodRecorder> {
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const selector = 'capstan.dev/kind=worker';
  const informer = makeInformer<V1Pod>(cluster.kubeConfig, `/api/v1/namespaces/${namespace}/pods`,
    () => core.listNamespacedPod({ namespace, labelSelector: selector }), selector);
  const byTry = new Map<string, Set<string>>();
  const executorIds = new Set<string>();
  const ownersByPod = new Map<string, Set<string>>();
  let stopped = false;
  const seen = (pod: V1Pod): void => {
    const owner = pod.metadata?.labels?.['capstan.dev/executor-id'];
    if (owner !== undefined) {
      const owners = ownersByPod.get(pod.metadata?.name ?? '') ?? new Set<string>();
      owners.add(owner);
      ownersByPod.set(pod.metadata?.name ?? '', owners);
    }
    const a = pod.metadata?.annotations ?? {};
    const key = `${a['capstan.dev/ti-id'] ?? '?'}#${a['capstan.dev/try-number'] ?? '?'}`;
    const names = byTry.get(key) ?? new Set<string>();
    names.add(pod.metadata?.name ?? '');
    byTry.set(key, names);
  };
  informer.on('add', (pod) => {
    seen(pod);
    const id = pod.metadata?.labels?.['capstan.dev/executor-id'];
    if (id !== undefined) executorIds.add(id);
  });
  informer.on('update', seen);
  informer.on('error', () => {
    if (!stopped) setTimeout(() => void informer.start().catch(() => {}), 200);
  });
  await informer.start();
  return { byTry, executorIds, ownersByPod, stop: async () => { stopped = true; await informer.stop(); } };
}

/** One scenario's world: a home, a DB, the roles' environment, a local kubelet and a pod recorder. */
export interface Scenario {
  home: string;
  logFile: string;
  env: Record<string, string>;
  db: MetadataDb;
  namespace: string;
  kubelet: LocalKubelet;
  pods: PodRecorder;
  core: CoreV1Api;
  /** Worker pods in the namespace now. */
  livePods(): Promise<V1Pod[]>;
  stop(): Promise<void>;
}

/** Options of {@link setUpScenario}. */
export interface ScenarioOptions {
  cluster: TestCluster;
  namespace: string;
  dagId: string;
  width: number;
  databaseUrl?: string;
  env?: Record<string, string>;
}

/** Migrates the DB, parses the DAG, starts the kubelet and the pod recorder; roles are the test's to start. */
export async function setUpScenario(o: ScenarioOptions): Promise<Scenario> {
  const home = mkdtempSync(join(tmpdir(), 'capstan-ke-scenario-'));
  const logFile = join(home, 'executions.log');
  mkdirSync(join(home, 'dags'), { recursive: true });
  writeFileSync(join(home, 'dags', `${o.dagId}.ts`), scenarioDag(o.dagId, o.width, logFile));
  const templateFile = join(home, 'worker.yaml');
  writeFileSync(templateFile, WORKER_TEMPLATE);
  const port = await freePort();
  const url = o.databaseUrl ?? `sqlite://${join(home, 'capstan.db')}`;
  const env: Record<string, string> = {
    CAPSTAN_HOME: home,
    CAPSTAN__DATABASE__URL: url,
    CAPSTAN__API__PORT: String(port),
    CAPSTAN__API__EXECUTION_API_URL: `http://127.0.0.1:${port}`,
    CAPSTAN__CORE__LOAD_EXAMPLES: 'false',
    CAPSTAN__CORE__EXECUTOR: 'KubernetesExecutor',
    CAPSTAN__CORE__PARALLELISM: '24',
    CAPSTAN__KUBERNETES_EXECUTOR__NAMESPACE: o.namespace,
    CAPSTAN__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE: templateFile,
    CAPSTAN__KUBERNETES_EXECUTOR__KUBE_CLIENT_QPS: '100',
    CAPSTAN__KUBERNETES_EXECUTOR__KUBE_CLIENT_BURST: '200',
    CAPSTAN__SCHEDULER__LOOP_INTERVAL_MS: '100',
    CAPSTAN__SCHEDULER__HEARTBEAT_INTERVAL_MS: '300',
    CAPSTAN__SCHEDULER__HEALTH_CHECK_THRESHOLD_MS: '2000',
    CAPSTAN__SCHEDULER__ZOMBIE_CHECK_INTERVAL_MS: '300',
    // Longer than any outage here: a live task whose heartbeats could not get through is no zombie.
    CAPSTAN__SCHEDULER__TASK_HEARTBEAT_TIMEOUT_MS: '60000',
    CAPSTAN__SCHEDULER__HEALTH_PORT: '-1',
    CAPSTAN__LOGGING__LEVEL: 'info',
    KUBECONFIG: o.cluster.kubeconfigPath,
    ...o.env,
  };
  await runCapstanCommand(['db', 'migrate'], env);
  await runCapstanCommand(['dag-processor', '--once'], env);
  const db = openMetadataDb(url, { poolSize: 2 });
  await getSerializedDag(db, o.dagId);
  const kubelet = await startLocalKubelet({
    kubeConfig: o.cluster.kubeConfig, namespace: o.namespace, labelSelector: `${RUN_LOCALLY_LABEL}=yes`,
    logsDir: join(o.cluster.descriptor.dir, 'logs'), maxGraceMs: 5000,
    baseEnv: { NODE_COMPILE_CACHE: join(tmpdir(), 'node-compile-cache') },
  });
  const pods = await recordPods(o.cluster, o.namespace);
  const core = o.cluster.kubeConfig.makeApiClient(CoreV1Api);
  return {
    home, logFile, env, db, namespace: o.namespace, kubelet, pods, core,
    livePods: async () => (await core.listNamespacedPod({ namespace: o.namespace, labelSelector: 'capstan.dev/kind=worker' })).items,
    stop: async () => {
      await killAllRoles();
      await pods.stop();
      await kubelet.stop();
      await db.close();
    },
  };
}

/** `<task_id> <try>` lines of the shared executions file. */
export function executions(logFile: string): Array<{ taskId: string; tryNumber: number }> {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => {
    const [taskId = '', tryNumber = ''] = l.split(' ');
    return { taskId, tryNumber: Number(tryNumber) };
  });
}

/** Task states, executions, pods and role output, for failure messages. */
export async function describeScenario(s: Scenario, dagId: string, runId: string, roles: RoleProcess[]): Promise<string> {
  const tis = await listTaskInstances(s.db, { dagId, runId });
  const notDone = tis.filter((t) => t.state !== 'success').map((t) => `${t.task_id}=${t.state}#${t.try_number}${t.failure_reason ? ` (${t.failure_reason})` : ''}`);
  const live = await s.livePods().catch(() => []);
  return [
    `not successful: ${notDone.join(', ') || 'none'}`,
    `executions: ${executions(s.logFile).length}`,
    `live worker pods: ${live.map((p) => `${p.metadata?.name}=${p.status?.phase}`).join(', ') || 'none'}`,
    `local kubelet running: ${s.kubelet.running()}`,
    ...roles.map((r) => `--- ${r.name} (pid ${r.pid}, ${r.alive() ? 'alive' : 'exited'}):\n${r.output().slice(-3000)}`),
  ].join('\n');
}

/**
 * The scenario's promises: the run succeeded; every task succeeded and ran exactly once (one line in the
 * executions file); every try had exactly one pod; and, once the executors have cleaned up, no worker pod is
 * left in the namespace.
 */
export async function assertEveryTaskExactlyOnce(s: Scenario, dagId: string, runId: string, taskCount: number, roles: RoleProcess[], timeoutMs: number): Promise<void> {
  const run = await pollUntil(`run ${runId} to end`, async () => {
    const r = await getDagRun(s.db, dagId, runId);
    return r.state === 'success' || r.state === 'failed' ? r : undefined;
  }, { timeoutMs, intervalMs: 250, diagnose: () => describeScenario(s, dagId, runId, roles) });
  assert.equal(run.state, 'success', await describeScenario(s, dagId, runId, roles));
  const tis = await listTaskInstances(s.db, { dagId, runId });
  assert.equal(tis.length, taskCount);
  assert.deepEqual(tis.filter((t) => t.state !== 'success').map((t) => t.task_id), []);
  const counts = new Map<string, number>();
  for (const e of executions(s.logFile)) counts.set(e.taskId, (counts.get(e.taskId) ?? 0) + 1);
  assert.deepEqual([...counts].filter(([, n]) => n !== 1), [], 'no task ran twice');
  assert.equal(counts.size, taskCount, 'every task ran');
  const duplicates = [...s.pods.byTry].filter(([, names]) => names.size > 1).map(([k, names]) => `${k}: ${[...names].join(', ')}`);
  assert.deepEqual(duplicates, [], 'one pod per try');
  assert.equal(s.pods.byTry.size, taskCount, 'a pod for every try, and no other');
  await pollUntil('no worker pod left', async () => (await s.livePods()).length === 0, {
    timeoutMs: 30_000, intervalMs: 250, diagnose: () => describeScenario(s, dagId, runId, roles),
  });
}
