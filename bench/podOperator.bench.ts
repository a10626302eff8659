/**
 * `npm run bench:pod-operator`: the KubernetesPodOperator's own overhead against the real test control
 * plane (see docs/testing.md), over 50 pods run one after another through the operator's `execute`:
 *
 * - task start → pod created: from `execute` being called to the API server accepting the pod
 *   (`onPodCreation`) — connection, client, manifest building, reattach lookup, create;
 * - pod completion → task success: from the operator observing the base container's termination
 *   (`onPodCompletion`, pushed by the watch) to `execute` returning — XCom read, finish action, outcome.
 *
 * Airflow's operator polls pod status every 1–2 s; the target here is under 200 ms for each (p50/p95).
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { hostname } from 'node:os';
import { dag } from '../src/sdk/index.ts';
import { KubernetesPodOperator } from '../src/kubernetes/operators/podOperator.ts';
import type { TaskConnection, TaskContext } from '../src/sdk/taskContext.ts';
import { XCOM_MARKER, XCOM_SIDECAR_NAME } from '../src/kubernetes/lifecycle/index.ts';
import { connectTestCluster, podAnnotations } from '../test/support/k8s/index.ts';

const PODS = Number(process.argv.includes('--pods') ? process.argv[process.argv.indexOf('--pods') + 1] : 50);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const cluster = await connectTestCluster();
  const namespace = await cluster.createNamespace('bench-kpo');
  const connection: TaskConnection = {
    connId: 'bench',
    connType: 'kubernetes',
    host: null,
    schema: null,
    login: null,
    password: null,
    port: null,
    extra: { kubeconfigPath: cluster.kubeconfigPath, namespace },
  };
  const toCreate: number[] = [];
  const toSuccess: number[] = [];
  try {
    for (let i = 0; i < PODS; i++) {
      let started = 0;
      let completedAt = 0;
      const d = dag({ dagId: `bench_kpo_${i}`, schedule: null });
      const op = new KubernetesPodOperator({
        dag: d,
        taskId: 'pod',
        image: 'busybox:1.36',
        kubernetesConnId: 'bench',
        doXcomPush: true,
        annotations: podAnnotations({ runMs: 100, startMs: 20, logs: { base: 'working\n', [XCOM_SIDECAR_NAME]: `${XCOM_MARKER} begin 2\n${i}\n${XCOM_MARKER} end\n` } }),
        podCallbacks: {
          onPodCreation: () => void toCreate.push(performance.now() - started),
          onPodCompletion: () => void (completedAt = performance.now()),
        },
      });
      const ctx: TaskContext = {
        dagId: d.dagId,
        taskId: 'pod',
        runId: `bench_${i}`,
        runType: 'manual',
        mapIndex: -1,
        tryNumber: 1,
        maxTries: 1,
        logicalDate: new Date(),
        dataIntervalStart: null,
        dataIntervalEnd: null,
        params: {},
        conf: {},
        log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
        signal: new AbortController().signal,
        xcomPush: async () => {},
        xcomPull: async () => null,
        getVariable: async () => null,
        getJsonVariable: async () => null,
        getConnection: async () => connection,
      };
      started = performance.now();
      const value = await op.execute(ctx);
      toSuccess.push(performance.now() - completedAt);
      if (value !== i) throw new Error(`pod ${i} returned ${JSON.stringify(value)}`);
    }
  } finally {
    await cluster.kubeConfig.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace }).catch(() => {});
    await cluster.stop();
  }
  toCreate.sort((a, b) => a - b);
  toSuccess.sort((a, b) => a - b);
  const fmt = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(0)} ms  p95 ${percentile(xs, 95).toFixed(0)} ms`;
  process.stdout.write(`KubernetesPodOperator overhead — ${new Date().toISOString()} — ${hostname()} — ${PODS} pods\n`);
  process.stdout.write(`task start → pod created:     ${fmt(toCreate)}\n`);
  process.stdout.write(`pod completion → task success: ${fmt(toSuccess)}\n`);
}

await main();
