/**
 * `npm run bench:k8s-executor`: how fast the KubernetesExecutor turns queued task tries into worker pods on the
 * real test control plane (docs/testing.md), next to the ceiling the same client allows.
 *
 * - **executor**: a whole Capstan (test engine: scheduler, Execution API, SQLite) runs a DAG of N parallel tasks
 *   with `core.executor = KubernetesExecutor`; for each try, *queued → pod created* is from the scheduler
 *   queueing it (`task_instance.queued_at`) to the API server answering the executor's create. Pods per second
 *   is N over first queued → last created.
 * - **ceiling**: a plain loop of N pod creates through the same client (same QPS/burst token bucket) with as many
 *   in flight as the executor allows (`podCreationConcurrency`); every pod counts as queued when the loop starts.
 *
 * The pods name a node selector no node has, so they stay Pending and nothing runs: only creation is measured.
 * Target: the executor reaches ≥ 80% of the ceiling's pods per second.
 *
 *   npm run bench:k8s-executor [-- --tasks 1000 --qps 50 --burst 100 --concurrency 16]
 */
import { CoreV1Api } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { cpus, hostname } from 'node:os';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createKubeClients } from '../src/kubernetes/index.ts';
import type { KubeClients } from '../src/kubernetes/index.ts';
import { KubernetesExecutor } from '../src/executors/kubernetes/index.ts';
import { createLogger } from '../src/logging/logger.ts';
import { listTaskInstances } from '../src/store/taskInstances.ts';
import { DEFAULT_POOL, PoolStore } from '../src/store/pools.ts';
import { connectTestCluster } from '../test/support/k8s/index.ts';
import { startTestEngine } from '../test/support/engine.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i < 0 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

const TASKS = arg('tasks', 1000);
const QPS = arg('qps', 50);
const BURST = arg('burst', 100);
const CONCURRENCY = arg('concurrency', 16);

const TEMPLATE = `
apiVersion: v1
kind: Pod
spec:
  nodeSelector:
    capstan.bench/nowhere: "true"
  containers:
    - name: base
      image: capstan/worker:bench
`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface Result { pods: number; seconds: number; podsPerSecond: number; p50: number; p95: number }

function summarize(latenciesMs: number[], seconds: number): Result {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return { pods: sorted.length, seconds, podsPerSecond: sorted.length / seconds, p50: percentile(sorted, 50), p95: percentile(sorted, 95) };
}

/** Records when each create answered, keyed by the pod's `capstan.dev/ti-id` annotation (or its name). */
function timeCreates(clients: KubeClients, createdAt: Map<string, number>): void {
  const core = clients.core;
  const create = core.createNamespacedPod.bind(core);
  core.createNamespacedPod = (async (param: { namespace: string; body: V1Pod }, options?: unknown) => {
    const pod = await (create as (p: unknown, o?: unknown) => Promise<V1Pod>)(param, options);
    createdAt.set(pod.metadata?.annotations?.['capstan.dev/ti-id'] ?? pod.metadata?.name ?? '', Date.now());
    return pod;
  }) as typeof core.createNamespacedPod;
}

async function ceiling(clients: KubeClients, namespace: string): Promise<Result> {
  const createdAt = new Map<string, number>();
  timeCreates(clients, createdAt);
  const start = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < TASKS) {
      const i = next++;
      await clients.core.createNamespacedPod({
        namespace,
        body: { metadata: { name: `ceiling-${i}`, labels: { 'capstan.dev/kind': 'bench' } }, spec: parseYaml(TEMPLATE).spec as V1Pod['spec'] },
      });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const last = Math.max(...createdAt.values());
  return summarize([...createdAt.values()].map((t) => t - start), (last - start) / 1000);
}

async function executor(cluster: Awaited<ReturnType<typeof connectTestCluster>>, namespace: string): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'capstan-bench-ke-'));
  const templateFile = join(dir, 'worker.yaml');
  writeFileSync(templateFile, TEMPLATE);
  const createdAt = new Map<string, number>();
  const t = await startTestEngine({
    dags: {
      'wide.ts': `
import { dag, BashOperator } from 'capstan';
export default dag({ dagId: 'wide', schedule: null, maxActiveTasks: ${TASKS} }, () => {
  for (let i = 0; i < ${TASKS}; i++) new BashOperator({ taskId: 't' + i, bashCommand: 'true' });
});
`,
    },
    // Nothing but the executor may hold tries back: parallelism (and default_pool, below) take every task at once.
    env: { CAPSTAN__CORE__EXECUTOR: 'KubernetesExecutor', CAPSTAN__CORE__PARALLELISM: String(TASKS), CAPSTAN__LOGGING__LEVEL: 'error' },
    executor: (engine, apiUrl) => new KubernetesExecutor({
      settings: { ...engine.config.kubernetesExecutor, namespace, podTemplateFile: templateFile, podCreationConcurrency: CONCURRENCY, kubeClientQps: QPS, kubeClientBurst: BURST },
      connect: async () => {
        const clients = createKubeClients(cluster.kubeConfig, { defaultNamespace: namespace, qps: QPS, burst: BURST });
        timeCreates(clients, createdAt);
        return { clients, baseTemplate: parseYaml(TEMPLATE) as Record<string, unknown> };
      },
      executionApiUrl: apiUrl,
      tokens: engine.tokens,
      db: engine.db,
      dags: engine.dags,
      parallelism: TASKS,
      now: engine.now,
      logger: createLogger(engine.config.logging, 'executor'),
    }),
  });
  try {
    await new PoolStore(t.engine.db).set(DEFAULT_POOL, { slots: TASKS });
    await t.trigger('wide', { runId: 'bench' });
    // A minute without a new pod means something other than the executor holds the tries back.
    let seen = 0;
    let progressAt = Date.now();
    while (createdAt.size < TASKS) {
      if (createdAt.size !== seen) [seen, progressAt] = [createdAt.size, Date.now()];
      if (Date.now() - progressAt > 60_000) throw new Error(`pod creation stalled at ${createdAt.size} of ${TASKS}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const tis = await listTaskInstances(t.engine.db, { dagId: 'wide', runId: 'bench' });
    const latencies: number[] = [];
    let firstQueued = Infinity;
    for (const ti of tis) {
      const created = createdAt.get(ti.id);
      if (created === undefined || ti.queued_at === null) throw new Error(`task ${ti.task_id} has no queued time or pod`);
      firstQueued = Math.min(firstQueued, ti.queued_at);
      latencies.push(created - ti.queued_at);
    }
    return summarize(latencies, (Math.max(...createdAt.values()) - firstQueued) / 1000);
  } finally {
    await t.stop();
  }
}

async function main(): Promise<void> {
  const cluster = await connectTestCluster();
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const namespaces: string[] = [];
  try {
    const ceilingNs = await cluster.createNamespace('bench-ceiling');
    namespaces.push(ceilingNs);
    const top = await ceiling(createKubeClients(cluster.kubeConfig, { defaultNamespace: ceilingNs, qps: QPS, burst: BURST }), ceilingNs);
    await core.deleteNamespace({ name: ceilingNs });
    const executorNs = await cluster.createNamespace('bench-executor');
    namespaces.push(executorNs);
    const ke = await executor(cluster, executorNs);
    const row = (name: string, r: Result): string =>
      `| ${name} | ${r.pods} | ${r.seconds.toFixed(1)} s | ${r.podsPerSecond.toFixed(1)} | ${r.p50.toFixed(0)} ms | ${r.p95.toFixed(0)} ms |`;
    process.stdout.write([
      `KubernetesExecutor pod creation — ${TASKS} tasks, client ${QPS} QPS / burst ${BURST}, ${CONCURRENCY} creates in flight`,
      `machine: ${hostname()}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString()}`,
      '',
      '| | pods | time | pods/s | queued → created p50 | p95 |',
      '| --- | --- | --- | --- | --- | --- |',
      row('executor (scheduler → executor → API)', ke),
      row('ceiling (plain create loop, same client)', top),
      '',
      `executor / ceiling: ${((100 * ke.podsPerSecond) / top.podsPerSecond).toFixed(0)}% of the ceiling's pods/s (target ≥ 80%)`,
      '',
    ].join('\n'));
  } finally {
    for (const name of namespaces) await core.deleteNamespace({ name }).catch(() => {});
    await cluster.stop();
  }
}

await main();
