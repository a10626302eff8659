// Shared pieces of the KubernetesExecutor integration tests: a whole Capstan (test engine) whose executor is a
// KubernetesExecutor on the test control plane, a worker pod template, and a local kubelet that really runs
// the worker pods labelled for it (so their tasks report through the Execution API).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { CoreV1Api } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { createLogger } from '../../../src/logging/logger.ts';
import { KubernetesExecutor } from '../../../src/executors/kubernetes/index.ts';
import type { KubernetesExecutorSettings } from '../../../src/executors/kubernetes/index.ts';
import { createKubeClients } from '../../../src/kubernetes/index.ts';
import type { KubeClients } from '../../../src/kubernetes/index.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import type { TestCluster } from '../../support/k8s/index.ts';
import { startLocalKubelet, type LocalKubelet } from '../../support/k8s/localKubelet.ts';

/** Label that makes the local kubelet run a worker pod; a task's podOverride sets it to null to leave the pod to kwok. */
export const RUN_LOCALLY_LABEL = 'capstan.test/kubelet';

/** The base worker template: run by the local kubelet (kwok keeps it running until the process exits). */
export const WORKER_TEMPLATE = `
apiVersion: v1
kind: Pod
metadata:
  labels:
    ${RUN_LOCALLY_LABEL}: "yes"
  annotations:
    capstan.test/outcome: run-forever
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: base
      image: capstan/worker:test
      env:
        - name: CAPSTAN__LOGGING__LEVEL
          value: warn
`;

/** A podOverride (as a TS source literal) that leaves the pod to kwok with the given simulated outcome. */
export function kwokOverride(annotations: Record<string, string>): string {
  return JSON.stringify({ metadata: { labels: { [RUN_LOCALLY_LABEL]: null }, annotations } });
}

export interface ExecutorHarness {
  t: TestEngine;
  executor: KubernetesExecutor;
  kubelet: LocalKubelet | undefined;
  core: CoreV1Api;
  /** Worker pods in the namespace now (any executor). */
  pods(): Promise<V1Pod[]>;
  stop(): Promise<void>;
}

/** Options of {@link startExecutorHarness}. */
export interface HarnessOptions {
  cluster: TestCluster;
  namespace: string;
  dags: Record<string, string>;
  /** The executor's cluster access (default: the admin kubeconfig); e.g. the fault proxy's. */
  kubeConfig?: KubeConfig;
  settings?: Partial<KubernetesExecutorSettings>;
  /** Start a local kubelet for pods labelled {@link RUN_LOCALLY_LABEL}. Default true. */
  kubelet?: boolean;
  env?: Record<string, string>;
  /** The executor's `healthCheckThresholdMs` (default: the executor's). */
  healthCheckThresholdMs?: number;
  /** Sees the executor's client set once built (e.g. to count create requests in flight). */
  onClients?: (clients: KubeClients) => void;
}

/** A test engine with a KubernetesExecutor in `namespace` (and a local kubelet). */
export async function startExecutorHarness(o: HarnessOptions): Promise<ExecutorHarness> {
  const kubeConfig = o.kubeConfig ?? o.cluster.kubeConfig;
  const templateDir = mkdtempSync(join(tmpdir(), 'capstan-ke-'));
  const templateFile = join(templateDir, 'worker.yaml');
  writeFileSync(templateFile, WORKER_TEMPLATE);
  const kubelet = o.kubelet === false ? undefined : await startLocalKubelet({
    kubeConfig: o.cluster.kubeConfig,
    namespace: o.namespace,
    labelSelector: `${RUN_LOCALLY_LABEL}=yes`,
    logsDir: join(o.cluster.descriptor.dir, 'logs'),
    maxGraceMs: 5000,
    baseEnv: { NODE_COMPILE_CACHE: join(tmpdir(), 'node-compile-cache') },
  });
  let executor: KubernetesExecutor | undefined;
  const t = await startTestEngine({
    dags: o.dags,
    env: { CAPSTAN__CORE__EXECUTOR: 'KubernetesExecutor', CAPSTAN__LOGGING__LEVEL: 'error', ...o.env },
    executor: (engine, apiUrl) => {
      executor = new KubernetesExecutor({
        settings: {
          ...engine.config.kubernetesExecutor,
          namespace: o.namespace,
          podTemplateFile: templateFile,
          deleteWorkerPodsOnFailure: false,
          ...o.settings,
        },
        connect: async () => {
          const clients = createKubeClients(kubeConfig, { defaultNamespace: o.namespace, qps: 100, burst: 200 });
          o.onClients?.(clients);
          return { clients, baseTemplate: parseYaml(WORKER_TEMPLATE) as Record<string, unknown> };
        },
        executionApiUrl: apiUrl,
        tokens: engine.tokens,
        db: engine.db,
        dags: engine.dags,
        parallelism: engine.config.core.parallelism,
        now: engine.now,
        logger: createLogger(engine.config.logging, 'executor'),
        registry: engine.metrics.registry,
        ...(o.healthCheckThresholdMs === undefined ? {} : { healthCheckThresholdMs: o.healthCheckThresholdMs }),
        createBackoffMs: 200,
        createBackoffMaxMs: 1000,
      });
      return executor;
    },
  });
  const core = o.cluster.kubeConfig.makeApiClient(CoreV1Api);
  return {
    t,
    executor: executor as unknown as KubernetesExecutor,
    kubelet,
    core,
    pods: async () => (await core.listNamespacedPod({ namespace: o.namespace, labelSelector: 'capstan.dev/kind=worker' })).items,
    stop: async () => {
      await t.stop();
      await kubelet?.stop();
    },
  };
}

/**
 * A second KubernetesExecutor (another scheduler's) sharing the harness's engine, DB and Execution API — for
 * adoption tests. Not started: call `start({ jobId })`, and `end()` when done. `onClients` may wrap its clients.
 */
export function secondExecutor(h: ExecutorHarness, cluster: TestCluster, settings: Partial<KubernetesExecutorSettings> & { namespace: string }, onClients?: (clients: KubeClients) => void): KubernetesExecutor {
  return new KubernetesExecutor({
    settings: { ...h.t.engine.config.kubernetesExecutor, podCheckIntervalMs: 200, ...settings },
    connect: async () => {
      const clients = createKubeClients(cluster.kubeConfig, { defaultNamespace: settings.namespace });
      onClients?.(clients);
      return { clients };
    },
    executionApiUrl: h.t.api.url,
    tokens: h.t.engine.tokens,
    db: h.t.engine.db,
    dags: h.t.engine.dags,
    parallelism: 4,
    now: Date.now,
    logger: createLogger({ ...h.t.engine.config.logging, level: 'error' }, 'executor-b'),
  });
}
